"""The TIIMS certification reference (blocs, activities, competences, evaluation criteria).

The data lives in `data/referentiel.yaml`; this module loads it into frozen dataclasses and
validates it up front, so a bad edit to the YAML fails at load time with a one-line message
instead of surfacing later as a KeyError deep inside grading.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from labgrader.errors import InputError, LabgraderError
from labgrader.yamlfile import parse_yaml

AUTOMATED = "automated"
EVALUATOR = "evaluator"
ASSESSMENTS = frozenset({AUTOMATED, EVALUATOR})

_CRITERION_ID = re.compile(r"A([1-9][0-9]*)\.([1-9][0-9]*)/CE\.([1-9][0-9]*)")
_ACTIVITY_ID = re.compile(r"A([1-9][0-9]*)\.([1-9][0-9]*)")
_BLOC_ID = re.compile(r"B([1-9][0-9]*)")

_PACKAGED = "data/referentiel.yaml"


class ReferentielError(LabgraderError):
    """The reference data is malformed, or a caller asked for an id it does not contain."""


@dataclass(frozen=True)
class Criterion:
    id: str
    activity_id: str
    text: str
    group: str
    assessment: str
    guidance: str | None = None
    observable: str | None = None

    @property
    def automated(self) -> bool:
        return self.assessment == AUTOMATED


@dataclass(frozen=True)
class Competence:
    id: str
    text: str


@dataclass(frozen=True)
class SubActivity:
    id: str
    title: str


@dataclass(frozen=True)
class Activity:
    id: str
    bloc_id: str
    title: str
    competences: tuple[Competence, ...]
    criteria: tuple[Criterion, ...]
    modalites: str = ""
    sub_activities: tuple[SubActivity, ...] = ()


@dataclass(frozen=True)
class Bloc:
    id: str
    title: str
    activities: tuple[Activity, ...]


@dataclass(frozen=True)
class Referentiel:
    title: str
    source: str
    blocs: tuple[Bloc, ...]

    def activities(self) -> Iterator[Activity]:
        for bloc in self.blocs:
            yield from bloc.activities

    def criteria(self) -> Iterator[Criterion]:
        for activity in self.activities():
            yield from activity.criteria

    def bloc(self, bloc_id: str) -> Bloc:
        for bloc in self.blocs:
            if bloc.id == bloc_id:
                return bloc
        raise ReferentielError(f"unknown bloc id {bloc_id!r} (known: {', '.join(b.id for b in self.blocs)})")

    def activity(self, activity_id: str) -> Activity:
        for activity in self.activities():
            if activity.id == activity_id:
                return activity
        known = ", ".join(a.id for a in self.activities())
        raise ReferentielError(f"unknown activity id {activity_id!r} (known: {known})")

    def criterion(self, criterion_id: str) -> Criterion:
        if not is_criterion_id(criterion_id):
            raise ReferentielError(
                f"{criterion_id!r} is not a criterion id (expected the form A<bloc>.<n>/CE.<m>, e.g. A1.1/CE.4)"
            )
        for criterion in self.criteria():
            if criterion.id == criterion_id:
                return criterion
        raise ReferentielError(f"unknown criterion id {criterion_id!r}: not in the referentiel")


def is_criterion_id(value: object) -> bool:
    """True for ids of the form ``A<bloc>.<n>/CE.<m>`` such as ``A2.2/CE.9``."""
    return isinstance(value, str) and _CRITERION_ID.fullmatch(value) is not None


def load(path: str | Path | None = None) -> Referentiel:
    """Load and validate the referentiel; `path=None` reads the copy shipped in the package."""
    if path is None:
        resource = resources.files("labgrader").joinpath(_PACKAGED)
        where = str(resource)
        try:
            raw = resource.read_text(encoding="utf-8")
        except OSError as exc:
            raise ReferentielError(f"cannot read packaged referentiel ({exc.strerror or exc})", path=where) from exc
    else:
        where = str(path)
        try:
            raw = Path(path).read_bytes().decode("utf-8", errors="surrogateescape")
        except OSError as exc:
            raise ReferentielError(f"cannot read file ({exc.strerror or exc})", path=where) from exc
    try:
        data = parse_yaml(raw.encode("utf-8", errors="surrogateescape"), where)
    except InputError as exc:
        raise ReferentielError(str(exc).removeprefix(f"{where}: "), path=where) from None
    try:
        return _Parser(where).referentiel(data)
    except ReferentielError:
        raise
    except (RecursionError, ValueError, TypeError, AttributeError, KeyError) as exc:
        raise ReferentielError(f"not a référentiel labgrader can read ({type(exc).__name__})", path=where) from None


class _Parser:
    """Turns the parsed YAML into dataclasses, failing on the first bad field with its dotted path."""

    def __init__(self, where: str) -> None:
        self.where = where
        self.seen_criteria: set[str] = set()
        self.seen_activities: set[str] = set()

    def fail(self, field: str, message: str) -> ReferentielError:
        return ReferentielError(message, path=self.where, field=field)

    def mapping(self, value: Any, field: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(field, f"expected a mapping, got {type(value).__name__}")
        return value

    def sequence(self, value: Any, field: str) -> list[Any]:
        if not isinstance(value, list) or not value:
            raise self.fail(field, "expected a non-empty list")
        return value

    def text(self, node: dict[str, Any], key: str, field: str, *, required: bool = True) -> str | None:
        value = node.get(key)
        if value is None and not required:
            return None
        if not isinstance(value, str) or not value.strip():
            raise self.fail(f"{field}.{key}", "missing or empty (expected non-empty text)")
        if "\n" in value.strip():
            # Texts are rendered on one line in reports; a stray newline means a botched YAML scalar.
            raise self.fail(f"{field}.{key}", "must be a single line")
        return value.strip()

    def referentiel(self, data: Any) -> Referentiel:
        root = self.mapping(data, "<root>")
        title = self.text(root, "title", "<root>")
        source = self.text(root, "source", "<root>")
        blocs = tuple(
            self.bloc(node, f"blocs[{i}]") for i, node in enumerate(self.sequence(root.get("blocs"), "blocs"))
        )
        ids = [b.id for b in blocs]
        if len(set(ids)) != len(ids):
            raise self.fail("blocs", f"duplicate bloc ids in {ids}")
        return Referentiel(title=title, source=source, blocs=blocs)

    def bloc(self, node: Any, field: str) -> Bloc:
        node = self.mapping(node, field)
        bloc_id = self.text(node, "id", field)
        if not _BLOC_ID.fullmatch(bloc_id):
            raise self.fail(f"{field}.id", f"{bloc_id!r} is not a bloc id (expected B<n>)")
        activities_field = f"{field}.activities"
        activities = tuple(
            self.activity(child, f"{activities_field}[{i}]", bloc_id)
            for i, child in enumerate(self.sequence(node.get("activities"), activities_field))
        )
        return Bloc(id=bloc_id, title=self.text(node, "title", field), activities=activities)

    def activity(self, node: Any, field: str, bloc_id: str) -> Activity:
        node = self.mapping(node, field)
        activity_id = self.text(node, "id", field)
        match = _ACTIVITY_ID.fullmatch(activity_id)
        if not match:
            raise self.fail(f"{field}.id", f"{activity_id!r} is not an activity id (expected A<bloc>.<n>)")
        if f"B{match.group(1)}" != bloc_id:
            raise self.fail(f"{field}.id", f"activity {activity_id} does not belong to bloc {bloc_id}")
        if activity_id in self.seen_activities:
            raise self.fail(f"{field}.id", f"duplicate activity id {activity_id}")
        self.seen_activities.add(activity_id)

        competences = tuple(
            Competence(id=self.text(c, "id", f), text=self.text(c, "text", f))
            for c, f in self.items(node, "competences", field)
        )
        sub_activities = tuple(
            SubActivity(id=self.text(s, "id", f), title=self.text(s, "title", f))
            for s, f in self.items(node, "sub_activities", field, required=False)
        )
        criteria = tuple(self.criterion(c, f, activity_id) for c, f in self.items(node, "criteria", field))
        return Activity(
            id=activity_id,
            bloc_id=bloc_id,
            title=self.text(node, "title", field),
            competences=competences,
            criteria=criteria,
            modalites=self.text(node, "modalites", field),
            sub_activities=sub_activities,
        )

    def items(self, node: dict[str, Any], key: str, field: str, *, required: bool = True):
        if key not in node and not required:
            return []
        list_field = f"{field}.{key}"
        return [
            (self.mapping(child, f"{list_field}[{i}]"), f"{list_field}[{i}]")
            for i, child in enumerate(self.sequence(node.get(key), list_field))
        ]

    def criterion(self, node: dict[str, Any], field: str, activity_id: str) -> Criterion:
        criterion_id = self.text(node, "id", field)
        if not is_criterion_id(criterion_id):
            raise self.fail(f"{field}.id", f"{criterion_id!r} is not a criterion id (expected A<bloc>.<n>/CE.<m>)")
        prefix = criterion_id.split("/", 1)[0]
        if prefix != activity_id:
            raise self.fail(f"{field}.id", f"{criterion_id} is listed under activity {activity_id}")
        if criterion_id in self.seen_criteria:
            raise self.fail(f"{field}.id", f"duplicate criterion id {criterion_id}")
        self.seen_criteria.add(criterion_id)

        assessment = node.get("assessment")
        if not isinstance(assessment, str) or assessment not in ASSESSMENTS:
            raise self.fail(
                f"{field}.assessment",
                f"{assessment!r} for {criterion_id} (expected one of {', '.join(sorted(ASSESSMENTS))})",
            )
        # Each kind needs the sentence its consumer reads: the evaluator's checklist or the lab check's scope.
        needed = "guidance" if assessment == EVALUATOR else "observable"
        if not isinstance(node.get(needed), str) or not node[needed].strip():
            raise self.fail(f"{field}.{needed}", f"required for {assessment} criterion {criterion_id}")
        guidance = self.text(node, "guidance", field, required=False)
        observable = self.text(node, "observable", field, required=False)
        return Criterion(
            id=criterion_id,
            activity_id=activity_id,
            text=self.text(node, "text", field),
            group=self.text(node, "group", field),
            assessment=assessment,
            guidance=guidance,
            observable=observable,
        )
