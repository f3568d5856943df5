"""Running an activity's checks (through pytest and the plugin) and measuring what the checks cover."""
from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import pytest

from . import inventory as inventory_mod
from . import paths, referentiel, scenario as scenario_mod
from .errors import InputError, LabError
from .remote.evidence import Recorder, inert


def check_files(activity: str) -> list[Path]:
    """checks/bloc<N>/test_a<bloc>_<n>_*.py: an activity's check modules (one per scenario of the activity)."""
    bloc, number = activity.removeprefix("A").split(".")
    return sorted(paths.checks_dir().glob(f"bloc{bloc}/test_a{bloc}_{number}_*.py"))


def scenario_check_files(scenario: scenario_mod.Scenario) -> list[Path]:
    """The modules a scenario grades: those it names (`checks:`), else every module of its activity."""
    if scenario.checks:
        return [paths.checks_dir() / module for module in scenario.checks]
    return check_files(scenario.activity)


@dataclass(frozen=True)
class CheckRun:
    report: dict
    report_dir: Path
    log: Path

    @property
    def exit_code(self) -> int:
        return int(self.report["summary"]["exit_code"])


def run_checks(scenario_id: str, inventory_path: Path, candidate: str, out: Path,
               extra: tuple[str, ...] = ()) -> CheckRun:
    """Run the scenario's checks against the inventory; write report.json, junit.xml, report.html and the log."""
    scenario = scenario_mod.load(scenario_id)
    inventory_mod.load(inventory_path)  # bad input is reported here, before pytest starts
    files = scenario_check_files(scenario)
    if not files:
        raise InputError(f"no checks for activity {scenario.activity} under {paths.display(paths.checks_dir())}")
    out.mkdir(parents=True, exist_ok=True)
    log = out / "checks.log"
    for stale in ("report.json", "junit.xml", "report.html"):
        (out / stale).unlink(missing_ok=True)
    args = [*map(str, files), "--lab-inventory", str(inventory_path.resolve()), "--lab-report", str(out.resolve()),
            "--candidate",
            candidate, "--lab-scenario", scenario_id, "-p", "no:cacheprovider", "-q", "-rfEs", "--no-header",
            "--rootdir", str(paths.project_root()), *extra]
    log.unlink(missing_ok=True)  # never written through a symlink left in the output directory
    # Checks always run in a process of their own: nothing of one candidate's run survives into another's.
    with os.fdopen(os.open(log, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600), "w") as handle:
        process = subprocess.Popen([sys.executable, "-m", "pytest", *args], stdout=handle, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, cwd=paths.project_root())
        try:
            status = process.wait()
        except KeyboardInterrupt:  # the child got the same Ctrl-C: let it write its incomplete report
            status = process.wait()
    _redact_file(log, scenario, inventory_path)
    report_file = out / "report.json"
    if report_file.is_file() and json.loads(report_file.read_text()).get("incomplete"):
        return CheckRun(json.loads(report_file.read_text()), out, log)  # interrupted: graded as incomplete, exit 3
    if status == 2 or status == pytest.ExitCode.USAGE_ERROR:
        raise InputError(_usage_message(log))
    if not report_file.is_file():
        raise LabError(f"the check run wrote no report (pytest exit {int(status)}; log: {paths.display(log)})")
    return CheckRun(json.loads(report_file.read_text()), out, log)


def _redact_file(path: Path, scenario: scenario_mod.Scenario, inventory_path: Path) -> None:
    """The log holds whatever pytest printed; no secret may survive in it."""
    recorder = Recorder((*scenario.secrets().values(), *inventory_mod.load(inventory_path).all_secrets()))
    paths.write_private(path, inert(recorder.redact(path.read_text(errors="replace"))))


def _usage_message(log: Path) -> str:
    """Every `labgrader: error:` line pytest printed (the preflight may find several gaps), one per line."""
    found = [line.split("labgrader: error: ", 1)[1].rstrip(" !") for line in log.read_text().splitlines()
             if "labgrader: error: " in line]
    if found:
        return "\nlabgrader: error: ".join(dict.fromkeys(found))
    return f"the check run stopped on a usage error (log: {paths.display(log)})"


class _MarkerCollector:
    """A pytest plugin object that only records each collected check's criterion marker."""

    def __init__(self) -> None:
        self.checks: list[tuple[str, str | None, bool]] = []

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        for item in items:
            marker = item.get_closest_marker("criterion")
            self.checks.append((item.nodeid, marker.args[0] if marker and marker.args else None,
                                bool(marker and marker.kwargs.get("supporting"))))


def collect_checks() -> list[tuple[str, str | None, bool]]:
    """(node id, criterion id or None, supporting) of every check under checks/, without running any."""
    collector = _MarkerCollector()
    with open("/dev/null", "w") as sink, contextlib.redirect_stdout(sink):
        status = pytest.main([str(paths.checks_dir()), "--collect-only", "-q", "-p", "no:cacheprovider",
                              "--rootdir", str(paths.project_root())], plugins=[collector])
    if status not in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
        raise InputError(f"the checks under {paths.display(paths.checks_dir())} do not collect "
                         f"(pytest exit {int(status)})")
    return collector.checks


def validate_checks() -> dict[str, tuple[int, int]]:
    """Every check names an existing criterion of its file's activity; returns coverage per activity:
    (automated criteria with at least one check, automated criteria)."""
    ref = referentiel.load()
    covered: dict[str, set[str]] = defaultdict(set)
    for nodeid, criterion_id, supporting in collect_checks():
        if criterion_id is None:
            raise InputError(f"{nodeid}: a check must name the criterion it evidences (@pytest.mark.criterion)")
        try:
            criterion = ref.criterion(criterion_id)
        except referentiel.ReferentielError:
            raise InputError(f"{nodeid}: @pytest.mark.criterion: unknown criterion '{criterion_id}'") from None
        file_activity = _activity_of(nodeid)
        if file_activity and criterion.activity_id != file_activity:
            raise InputError(f"{nodeid}: criterion {criterion_id} does not belong to activity {file_activity}")
        if not criterion.automated and not supporting:
            raise InputError(f"{nodeid}: criterion {criterion_id} is judged by the evaluator: a check may only "
                             "support it (@pytest.mark.criterion(…, supporting=True))")
        if criterion.automated and supporting:
            raise InputError(f"{nodeid}: criterion {criterion_id} is automated: its checks are verdicts, "
                             "not supporting evidence")
        if supporting:
            continue
        covered[criterion.activity_id].add(criterion_id)
    return {a.id: (len(covered[a.id]), sum(c.automated for c in a.criteria)) for a in ref.activities()}


def _activity_of(nodeid: str) -> str | None:
    name = Path(nodeid.split("::")[0]).name
    parts = name.removeprefix("test_a").split("_")
    return f"A{parts[0]}.{parts[1]}" if name.startswith("test_a") and len(parts) > 2 else None
