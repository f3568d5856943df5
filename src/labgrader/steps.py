"""Scenario steps (a starting state's faults, a reference solution): scripts run as root over SSH, in the
scenario's order, once every machine is up, from inside the lab's network namespace."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Callable, Sequence

from . import inventory as inventory_mod
from . import netjoin, paths
from .errors import LabError
from .remote.session import GradingSession
from .scenario import Step

Report = Callable[[str], None]


def run_steps(*, namespace: str, inventory_path: Path, steps: Sequence[Step], script_of: Callable[[Step], Path],
              env_for: Callable[[Step], dict[str, str]], secrets: dict[str, str], log: Path,
              report: Report) -> None:
    """Run each step's script on its machine with env_for(step) and the step's secrets; stop at the first
    failure with a one-line error naming the step (the log, redacted, holds every output)."""
    session = GradingSession(inventory_mod.load(inventory_path))
    session.recorder.add_secrets(secrets.values())
    log.parent.mkdir(parents=True, exist_ok=True)

    def run_all() -> None:
        try:
            with log.open("a") as out:
                for number, step in enumerate(steps, 1):
                    began = time.monotonic()
                    env = {**env_for(step), **{var: secrets[ref] for var, ref in step.secrets.items()}}
                    result = session.ssh(step.machine).run_script(step.title, script_of(step).read_text(),
                                                                  env)
                    detail = session.recorder.entries[-1].detail
                    out.write(f"== {step.machine}: {step.title}\n{detail}\n")
                    if not result.ok:
                        last = detail.strip().splitlines()[-1] if detail.strip() else "no output"
                        raise LabError(f"step {number} ({step.machine}: {step.title}) failed: {last} "
                                       f"(log: {paths.display(log)})")
                    report(f"  {step.machine}: {step.title} ({time.monotonic() - began:.1f} s)")
        finally:
            session.close()

    netjoin.run_inside(namespace, run_all)
