"""The reference solution (`labgrader solve`) and the scenario self-test (`labgrader test`): up, every check
fails, solve, every check passes, down. A check that has never been seen failing proves nothing."""
from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from . import inventory as inventory_mod
from . import lab as lablib
from . import netns, paths
from .errors import InputError, LabError
from .remote.session import LabSession
from .scenario import scenario_dir

Report = Callable[[str], None]


def solve(lab: lablib.Lab, report: Report) -> None:
    """Apply the scenario's reference solution, step by step, on the running lab."""
    steps = lab.scenario.solution
    if not steps:
        raise InputError(f"scenario {lab.id} has no solution", field="solution")
    inventory_path = lab.dir / "inventory.yml"
    if not inventory_path.is_file():
        raise InputError(f"lab {lab.id} is not up: run `labgrader up {lab.id}` first")
    session = LabSession(inventory_mod.load(inventory_path))
    session.recorder.add_secrets(lab.scenario.secrets().values())
    values = lab.scenario.secrets()
    env = lablib.lab_env(lab)
    machines = {m.name: m for m in lab.machines}
    log = lab.log_dir / "solve.log"
    log.parent.mkdir(parents=True, exist_ok=True)

    def run_all() -> None:
        with log.open("a") as out:
            for number, step in enumerate(steps, 1):
                began = time.monotonic()
                script = (scenario_dir(lab.id) / step.script).read_text()
                step_env = {**env, **lablib.machine_env(machines[step.machine]),
                            **{var: values[ref] for var, ref in step.secrets.items()}}
                result = session.ssh(step.machine).run_script(step.title, script, step_env)
                entry = session.recorder.entries[-1]
                out.write(f"== {step.machine}: {step.title}\n{entry.detail}\n")
                if not result.ok:
                    last = entry.detail.strip().splitlines()[-1] if entry.detail.strip() else "no output"
                    raise LabError(f"solution step {number} ({step.machine}: {step.title}) failed: {last} "
                                   f"(log: {paths.display(log)})")
                report(f"  {step.machine}: {step.title} ({time.monotonic() - began:.1f} s)")
        session.close()

    report(f"solving {lab.id}: {len(steps)} steps (log: {paths.display(log)})")
    netns.run_inside(lab.namespace, run_all)


@dataclass
class SelfTest:
    scenario: str
    not_failing_on_fresh_lab: list[str] = field(default_factory=list)
    not_passing_once_solved: list[str] = field(default_factory=list)
    checks: int = 0

    @property
    def ok(self) -> bool:
        return self.checks > 0 and not self.not_failing_on_fresh_lab and not self.not_passing_once_solved


def run_check(scenario_id: str, out: Path) -> dict:
    """One `labgrader check` in its own process (each run is a fresh pytest session)."""
    result = subprocess.run([sys.executable, "-m", "labgrader.cli", "check", scenario_id, "--out", str(out)],
                            capture_output=True, text=True)
    if result.returncode not in (0, 1, 3) or not (out / "report.json").is_file():
        raise LabError(f"check of {scenario_id} failed: {result.stderr.strip().splitlines()[-1:]}")
    return json.loads((out / "report.json").read_text())


def outcomes(report: dict) -> dict[str, str]:
    return {check["id"]: check["outcome"] for criterion in report["criteria"] for check in criterion["checks"]}


def self_test(lab: lablib.Lab, report: Report, *, keep: bool = False, out: Path | None = None) -> SelfTest:
    out = out or Path("reports") / lab.id / "self-test"
    result = SelfTest(lab.id)
    report(f"self-test of {lab.id}: a fresh lab first")
    lablib.down(lab, lambda _: None)
    try:
        lablib.up(lab, report)
        fresh = outcomes(run_check(lab.id, out / "fresh"))
        result.checks = len(fresh)
        result.not_failing_on_fresh_lab = sorted(c for c, o in fresh.items() if o not in ("failed",))
        report(f"fresh lab: {sum(o == 'failed' for o in fresh.values())}/{len(fresh)} checks fail as they must")
        solve(lab, report)
        solved = outcomes(run_check(lab.id, out / "solved"))
        result.not_passing_once_solved = sorted(c for c, o in solved.items() if o != "passed")
        report(f"solved lab: {sum(o == 'passed' for o in solved.values())}/{len(solved)} checks pass as they must")
    finally:
        if not keep:
            lablib.down(lab, report)
    return result
