"""The result model: check results in, criterion statuses and the report.json document out.

A check judges one fact; only this module turns facts into a criterion status (DESIGN.md, boundary 4),
so the truth table lives in one place and every rendering (JSON, JUnit, HTML) agrees with it.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from ..remote.evidence import Evidence  # what was asked of which host; recorded (and redacted) by remote/

OUTCOMES = ("passed", "failed", "error", "skipped")
ASSESSMENTS = ("automated", "evaluator")
# Order matters: the HTML summary and the report's `summary` list them this way.
STATUSES = ("met", "not_met", "error", "evaluator")

# Exit codes of `labgrader check` (DESIGN.md, "The contract other tools rely on").
EXIT_MET, EXIT_NOT_MET, EXIT_INFRA = 0, 1, 3

NO_CHECK_GUIDANCE = (
    "Aucune vérification automatique n'existe encore pour ce critère : "
    "l'évaluateur le juge lui-même."
)


@dataclass(frozen=True)
class CheckResult:
    id: str  # pytest node id, e.g. checks/bloc1/test_a1_1_integration.py::test_dc_answers_ldaps
    criterion: str
    title: str
    impact: float
    outcome: str
    message: str
    evidence: tuple[Evidence, ...]
    duration: float

    def __post_init__(self) -> None:
        if self.outcome not in OUTCOMES:
            raise ValueError(f"check {self.id}: outcome {self.outcome!r} is not one of {', '.join(OUTCOMES)}")
        # A list would make the frozen dataclass unhashable and mutable behind its back.
        if not isinstance(self.evidence, tuple):
            object.__setattr__(self, "evidence", tuple(self.evidence))


@dataclass(frozen=True)
class CriterionInfo:
    id: str  # A<bloc>.<n>/CE.<m>
    text: str
    group: str
    assessment: str
    guidance: str = ""

    def __post_init__(self) -> None:
        if self.assessment not in ASSESSMENTS:
            raise ValueError(
                f"criterion {self.id}: assessment {self.assessment!r} is not one of {', '.join(ASSESSMENTS)}"
            )


def automated_without_checks(info: CriterionInfo, checks: list[CheckResult] | tuple[CheckResult, ...]) -> bool:
    """An automated criterion that no check covers yet: the evaluator must judge it by hand."""
    return info.assessment == "automated" and not checks


def criterion_status(info: CriterionInfo, checks: list[CheckResult] | tuple[CheckResult, ...]) -> str:
    """met / not_met / error / evaluator, from the outcomes of the checks that evidence `info`.

    - An evaluator criterion stays `evaluator`: its checks, if any, are supporting evidence, never a verdict.
    - An automated criterion no check covers is `evaluator` (the evaluator judges it by hand).
    - A failure outranks an error: a fact seen to be wrong is a grade, a check that could not run is not.
    - `met` only when every check passed: a check that errored or was skipped (never ran) leaves the
      criterion `error`, never judged on what is left.
    """
    if info.assessment == "evaluator" or not checks:
        return "evaluator"
    outcomes = {check.outcome for check in checks}
    if "failed" in outcomes:
        return "not_met"
    if outcomes == {"passed"}:
        return "met"
    return "error"


def _guidance(info: CriterionInfo, checks: list[CheckResult], status: str) -> str:
    if info.assessment == "evaluator":
        return info.guidance
    if not checks:
        note = NO_CHECK_GUIDANCE
    else:
        return info.guidance
    return f"{note} {info.guidance}".strip()


def exit_code(statuses: list[str] | tuple[str, ...]) -> int:
    """3 if a check could not run (the rest is still graded), else 1 if a criterion is not met, else 0."""
    if "error" in statuses:
        return EXIT_INFRA
    if "not_met" in statuses:
        return EXIT_NOT_MET
    return EXIT_MET


def _check_dict(check: CheckResult) -> dict:
    return {
        "id": check.id,
        "title": check.title,
        "impact": check.impact,
        "outcome": check.outcome,
        "message": check.message,
        "evidence": [{"host": e.host, "action": e.action, "detail": e.detail} for e in check.evidence],
        "duration": round(float(check.duration), 3),
    }


def build_report(
    scenario: str,
    activity: str,
    activity_title: str,
    candidate: str,
    criteria: list[CriterionInfo],
    results: list[CheckResult],
    started_at: str,
    finished_at: str,
) -> dict:
    """The report.json document: every criterion of the activity, in référentiel order, with its checks."""
    by_criterion: dict[str, list[CheckResult]] = {}
    for info in criteria:
        if info.id in by_criterion:
            raise ValueError(f"criterion {info.id} is listed twice for activity {activity}")
        by_criterion[info.id] = []
    for result in results:
        if result.criterion not in by_criterion:
            raise ValueError(
                f"check {result.id} names criterion {result.criterion}, "
                f"which is not a criterion of activity {activity} ({scenario})"
            )
        by_criterion[result.criterion].append(result)

    entries = []
    for info in criteria:
        checks = by_criterion[info.id]
        status = criterion_status(info, checks)
        entries.append({
            "id": info.id,
            "text": info.text,
            "group": info.group,
            "assessment": info.assessment,
            "status": status,
            "guidance": _guidance(info, checks, status),
            "automated_without_checks": automated_without_checks(info, checks),
            "checks": [_check_dict(check) for check in checks],
        })

    statuses = [entry["status"] for entry in entries]
    status_counts = Counter(statuses)
    outcome_counts = Counter(result.outcome for result in results)
    summary = {status: status_counts.get(status, 0) for status in STATUSES}
    summary["criteria"] = len(entries)
    summary["automated_without_checks"] = sum(entry["automated_without_checks"] for entry in entries)
    summary["checks"] = {outcome: outcome_counts.get(outcome, 0) for outcome in OUTCOMES}
    summary["exit_code"] = exit_code(statuses)

    return {
        "scenario": scenario,
        "activity": activity,
        "activity_title": activity_title,
        "candidate": candidate,
        "started_at": started_at,
        "finished_at": finished_at,
        "criteria": entries,
        "summary": summary,
    }
