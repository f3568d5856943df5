"""The reference solution (`labgrader solve`) and the scenario self-test (`labgrader test`): up, every check
fails, solve, every check passes, down. A check that has never been seen failing proves nothing."""
from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from . import lab as lablib
from .errors import InputError, LabError

Report = Callable[[str], None]


def solve(lab: lablib.RunningLab, report: Report) -> None:
    """Apply the scenario's reference solution, step by step, on the running lab."""
    if not lab.scenario.solution:
        raise InputError(f"scenario {lab.scenario.id} has no solution", field="solution")
    if not (lab.dir / "inventory.yml").is_file():
        raise InputError(f"lab {lab.id} is not up: run `labgrader up {lab.cli}` first")
    with lablib.locked(lab):
        report(f"solving {lab.id}: {len(lab.scenario.solution)} steps")
        lablib.run_scenario_steps(lab, lab.scenario.solution, "solve.log", report)
        lablib.record_state(lab, solved=True)


@dataclass
class SelfTest:
    scenario: str
    not_failing_on_fresh_lab: list[str] = field(default_factory=list)
    not_passing_once_solved: list[str] = field(default_factory=list)
    # Supporting checks that already held on the fresh lab: guards against a bad fix, not work to flip.
    guards: list[str] = field(default_factory=list)
    checks: int = 0

    @property
    def ok(self) -> bool:
        return self.checks > 0 and not self.not_failing_on_fresh_lab and not self.not_passing_once_solved


def run_check(lab: lablib.RunningLab, out: Path) -> dict:
    """One `labgrader check` of the lab in its own process (each run is a fresh pytest session)."""
    result = subprocess.run([sys.executable, "-m", "labgrader.cli", "check", lab.scenario.id, "--name", lab.name,
                             "--out", str(out)], capture_output=True, text=True)
    if result.returncode not in (0, 1, 3) or not (out / "report.json").is_file():
        raise LabError(f"check of {lab.name} failed: {result.stderr.strip().splitlines()[-1:]}")
    return json.loads((out / "report.json").read_text())


def outcomes(report: dict, *, verdicts_only: bool = False) -> dict[str, str]:
    """Check id -> outcome. verdicts_only leaves out the supporting checks of evaluator criteria: some guard
    against a bad fix (an alert silenced, a permission widened) and hold on a fresh lab as on a solved one."""
    return {check["id"]: check["outcome"] for criterion in report["criteria"] for check in criterion["checks"]
            if not (verdicts_only and criterion["status"] == "evaluator")}


def self_test(lab: lablib.RunningLab, report: Report, *, keep: bool = False, out: Path | None = None,
              archives: dict[str, Path] | None = None) -> SelfTest:
    out = out or Path("reports") / lab.id / "self-test"
    result = SelfTest(lab.scenario.id)
    report(f"self-test of {lab.id}: a fresh lab first")
    lablib.down(lab, lambda _: None)
    try:
        lablib.up(lab, report, archives)
        fresh_report = run_check(lab, out / "fresh")
        fresh = outcomes(fresh_report, verdicts_only=True)
        result.checks = len(outcomes(fresh_report))
        # Every verdict must fail on the fresh lab; a supporting check must at least have judged (never error).
        result.not_failing_on_fresh_lab = sorted(
            [c for c, o in fresh.items() if o != "failed"] +
            [c for c, o in outcomes(fresh_report).items() if c not in fresh and o not in ("passed", "failed")])
        result.guards = sorted(c for c, o in outcomes(fresh_report).items() if c not in fresh and o == "passed")
        report(f"fresh lab: {sum(o == 'failed' for o in fresh.values())}/{len(fresh)} checks fail as they must")
        solve(lab, report)
        solved = outcomes(run_check(lab, out / "solved"))
        result.not_passing_once_solved = sorted(c for c, o in solved.items() if o != "passed")
        report(f"solved lab: {sum(o == 'passed' for o in solved.values())}/{len(solved)} checks pass as they must")
    finally:
        if not keep:
            lablib.down(lab, report)
    return result
