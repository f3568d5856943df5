#!/usr/bin/env python3
"""How long `labgrader check` takes against a running lab, and how many connections it opens per host.

Prints figures; asserts nothing. Run as root from the project root (brings the lab up if it is not):
    .venv/bin/python bench/check_run.py [--scenario bloc1-integration] [--runs 5] [--solved]
Target: one connection per host and protocol for the whole run."""
from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LABGRADER = [sys.executable, "-m", "labgrader.cli"]
SLOW_CHECK_S = 5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenario", default="bloc1-integration")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--solved", action="store_true", help="apply the reference solution first (from a fresh lab)")
    args = parser.parse_args()
    if args.solved:
        subprocess.run([*LABGRADER, "down", args.scenario], check=True, capture_output=True)
    subprocess.run([*LABGRADER, "up", args.scenario], check=True, capture_output=True)
    if args.solved:
        subprocess.run([*LABGRADER, "solve", args.scenario], check=True, capture_output=True)
    walls, connections, summary = [], "", {}
    with tempfile.TemporaryDirectory(prefix="lg-bench-check-") as tmp:
        for run in range(args.runs):
            out = Path(tmp) / str(run)
            started = time.monotonic()
            result = subprocess.run([*LABGRADER, "check", args.scenario, "--out", str(out)], capture_output=True,
                                    text=True)
            walls.append(time.monotonic() - started)
            if result.returncode not in (0, 1):
                sys.exit(f"check failed with exit {result.returncode}:\n{result.stderr}")
            log = (out / "checks.log").read_text()
            found = re.search(r"labgrader: connections opened: (.*)", log)
            connections = found.group(1) if found else "not reported"
            report = json.loads((out / "report.json").read_text())
            summary = report["summary"]
            checks_time = sum(c["duration"] for k in report["criteria"] for c in k["checks"])
            print(f"run {run + 1}: {walls[-1]:5.2f} s whole process, {checks_time:5.2f} s in checks; "
                  f"criteria {summary['met']} met / {summary['not_met']} not met / {summary['error']} error",
                  flush=True)
            # Where the time goes: the supervision probes wait for Zabbix by design, and show here on their own.
            slow = sorted(((c["duration"], c["id"].split("::")[-1]) for k in report["criteria"] for c in k["checks"]
                           if c["duration"] >= SLOW_CHECK_S), reverse=True)
            for duration, name in slow:
                print(f"    {duration:6.1f} s ({100 * duration / walls[-1]:3.0f} % of the run)  {name}")
    print(f"\n`labgrader check {args.scenario}`: {len(walls)} runs, wall time min {min(walls):.2f} s, "
          f"median {statistics.median(walls):.2f} s, max {max(walls):.2f} s")
    print(f"connections opened per run (host/protocol=count): {connections}")
    print(f"checks per run: {summary.get('checks')}")


if __name__ == "__main__":
    main()
