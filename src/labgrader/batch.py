"""Grading a whole session (`labgrader grade`): many candidates' inventories, each graded in a process of its
own, `jobs` at a time, each report in the candidate's own folder, then the jury's index.

A candidate whose machines do not answer is graded `error` for those criteria; one whose run cannot start
(bad inventory, preflight gaps) is listed as not graded with the reason; the session always goes on."""
from __future__ import annotations

import queue
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator, TypeVar

from . import inventory as inventory_mod
from . import paths, referentiel, scenario as scenario_mod
from .errors import InputError, LabgraderError
from .grading import run_checks
from .report import index as index_mod
from .report import write_text_file

CANDIDATE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
INVENTORY_NAMES = ("inventory.yml", "inventory.yaml")


@dataclass(frozen=True)
class Candidate:
    id: str
    inventory: Path
    scenario: str
    # The machines the run acts on (namespace/address): checks restart a workstation, log users on, write
    # probe files, so two candidates pointing at one machine are never graded at the same time.
    machines: frozenset[str] = frozenset()


Item, Result = TypeVar("Item"), TypeVar("Result")


def run_disjoint(items: Iterable[Item], machines: Callable[[Item], frozenset[str]], work: Callable[[Item], Result],
                 jobs: int) -> Iterator[Result]:
    """work(item) for every item, `jobs` at a time, never two at once that share a machine; results as they come.
    Items are taken in order, except that one whose machines are busy lets the next free one go first."""
    pending, busy, results = list(items), set(), queue.Queue()
    turn = threading.Condition()

    def worker() -> None:
        while True:
            with turn:
                while True:
                    if not pending:
                        return
                    chosen = next((item for item in pending if not machines(item) & busy), None)
                    if chosen is not None:
                        break
                    turn.wait()
                pending.remove(chosen)
                busy.update(machines(chosen))
            try:
                results.put(work(chosen))
            except BaseException as exc:  # handed to the caller: a lost result would leave it waiting forever
                results.put(exc)
            finally:
                with turn:
                    busy.difference_update(machines(chosen))
                    turn.notify_all()

    total = len(pending)
    threads = [threading.Thread(target=worker, daemon=True) for _ in range(max(1, min(jobs, total)))]
    for thread in threads:
        thread.start()
    for _ in range(total):
        result = results.get()
        if isinstance(result, BaseException):
            raise result
        yield result
    for thread in threads:
        thread.join()


def _inventories(arguments: list[Path]) -> list[Path]:
    found: list[Path] = []
    for argument in arguments:
        if argument.is_file():
            found.append(argument)
        elif argument.is_dir():
            beneath = sorted(p for p in argument.rglob("*")
                             if p.is_file() and (p.name in INVENTORY_NAMES or p.name.endswith((".inventory.yml",
                                                                                                  ".inventory.yaml"))))
            if not beneath:
                raise InputError("no inventory.yml nor *.inventory.yml beneath this folder", path=str(argument))
            found += beneath
        else:
            raise InputError("no such file or folder", path=str(argument))
    return found


def _candidate_id(path: Path, declared: str | None) -> str:
    if declared:
        return declared
    stem = path.name.removesuffix(".yaml").removesuffix(".yml").removesuffix(".inventory")
    return path.parent.name if stem in ("inventory", "") else stem


def find_candidates(arguments: list[Path], scenario: str | None) -> tuple[list[Candidate], list[dict]]:
    """Every candidate to grade (pseudonymous id, scenario), and the rows of those whose inventory is refused:
    a bad file is that candidate's problem, said in one line; the session goes on."""
    candidates: dict[str, Candidate] = {}
    refused: list[dict] = []
    for path in _inventories(arguments):
        try:
            candidate = _candidate(path, scenario)
            if candidate.id in candidates or candidate.id in {row["candidate"] for row in refused}:
                raise InputError(f"candidate '{candidate.id}' is graded twice", path=paths.display(path))
            candidates[candidate.id] = candidate
        except InputError as exc:
            refused.append(_row(_candidate_id(path, None), scenario or "", problem=str(exc)))
    return list(candidates.values()), refused


def _candidate(path: Path, scenario: str | None) -> Candidate:
    loaded = inventory_mod.load(path)
    candidate = _candidate_id(path, loaded.candidate)
    if not CANDIDATE_ID.match(candidate):
        raise InputError(f"'{candidate}' is not a pseudonymous id (letters, digits, - and _): set `candidate:`",
                         path=paths.display(path), field="candidate")
    chosen = scenario or loaded.scenario
    if not chosen:
        raise InputError("no scenario: set `scenario:` or give --scenario", path=paths.display(path),
                         field="scenario")
    scenario_mod.load(chosen)
    machines = frozenset(f"{loaded.network_namespace or ''}/{host.address}" for host in loaded.hosts.values())
    return Candidate(candidate, path, chosen, machines)


def _row(candidate: str, scenario: str, *, problem: str = "") -> dict:
    return {"candidate": candidate, "scenario": scenario, "graded": False, "exit_code": 2, "incomplete": False,
            "statuses": {}, "report": "", "problem": problem.splitlines()[0][:300] if problem else ""}


def _grade_one(candidate: Candidate, out: Path) -> dict:
    folder = out / candidate.id
    row = _row(candidate.id, candidate.scenario)
    try:
        run = run_checks(candidate.scenario, candidate.inventory, candidate.id, folder)
    except LabgraderError as exc:
        row.update(problem=str(exc).splitlines()[0][:300], exit_code=exc.exit_code)
        return row
    except Exception as exc:  # this candidate's run could not be made: said on its row, the session goes on
        row.update(problem=f"le correcteur n'a pas pu noter ce candidat : {exc!r}"[:300], exit_code=3)
        return row
    row.update(graded=not run.report.get("incomplete"), exit_code=run.exit_code,
               incomplete=bool(run.report.get("incomplete")),
               statuses={c["id"]: c["status"] for c in run.report["criteria"]},
               report=f"{candidate.id}/report.html")
    if row["incomplete"]:
        row["problem"] = "exécution interrompue : rapport incomplet"
    return row


def grade_all(candidates: list[Candidate], out: Path, jobs: int, refused: list[dict] = (),
              progress: Callable[[dict, int, int], None] = lambda row, done, total: None) -> dict:
    """Grade every candidate (`jobs` processes at a time) and write the jury's index; returns the index."""
    out.mkdir(parents=True, exist_ok=True)
    rows: dict[str, dict] = {}
    total = len(candidates) + len(refused)
    for done, row in enumerate(refused, 1):
        progress(row, done, total)
    graded = run_disjoint(candidates, lambda c: c.machines, lambda c: _grade_one(c, out), jobs)
    for done, row in enumerate(graded, len(refused) + 1):
        rows[row["candidate"]] = row
        progress(row, done, total)
    ordered = [rows[c.id] for c in candidates] + list(refused)
    document = index_mod.index_document(ordered, _criteria(candidates))
    scenarios = sorted({c.scenario for c in candidates}) or ["aucun candidat noté"]
    title = f"Session d'évaluation — {', '.join(scenarios)}"
    write_text_file(out / "index.json", index_mod.render_json(document))
    write_text_file(out / "index.csv", index_mod.render_csv(document))
    write_text_file(out / "index.html", index_mod.render_html(document, title))
    return document


def _criteria(candidates: list[Candidate]) -> list[str]:
    ref = referentiel.load()
    activities = []
    for c in candidates:
        activity = scenario_mod.load(c.scenario).activity
        if activity not in activities:
            activities.append(activity)
    return [criterion.id for activity in activities for criterion in ref.activity(activity).criteria]


def exit_code(document: dict) -> int:
    """0 when every candidate was graded completely, 3 when one was not or has a criterion in error."""
    rows = document["candidates"]
    return 0 if all(row["graded"] and row["exit_code"] in (0, 1) for row in rows) else 3
