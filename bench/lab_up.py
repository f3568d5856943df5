#!/usr/bin/env python3
"""How long `labgrader up` takes: warm box cache, halted lab, and (with --cold) an empty box cache.

Prints figures; asserts nothing. Run as root from the project root:
    .venv/bin/python bench/lab_up.py [--scenario bloc1-integration] [--profile P] [--archive ROLE=FILE] [--runs 3] [--cold]
"Ready" means what `up` waits for: every machine provisioned (the DC seeded, the Zabbix API answering with the
scenario's password) and every role's readiness port open (LDAPS, Zabbix frontend, SSH)."""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LABGRADER = [sys.executable, "-m", "labgrader.cli"]
SHARED_ROOTFS = Path("/var/lib/labgrader/rootfs")


def timed(*args: str, env: dict | None = None) -> tuple[float, str]:
    started = time.monotonic()
    result = subprocess.run([*LABGRADER, *args], capture_output=True, text=True, env=env)
    elapsed = time.monotonic() - started
    if result.returncode != 0:
        sys.exit(f"labgrader {' '.join(args)} failed ({result.returncode}):\n{result.stderr}")
    return elapsed, result.stderr


def phases(progress: str) -> str:
    """The timestamped progress lines `up` prints, indented: where the time went."""
    return "\n".join("      " + line for line in progress.splitlines() if line.strip())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenario", default="bloc1-integration")
    parser.add_argument("--runs", type=int, default=3, help="runs of each warm measurement (default 3)")
    parser.add_argument("--cold", action="store_true", help="also build the box from nothing (several minutes)")
    parser.add_argument("--profile", help="the scenario's profile (default: embedded)")
    parser.add_argument("--archive", action="append", default=[], metavar="ROLE=FILE",
                        help="software a role needs (`up --archive`), e.g. glpi=glpi-10.0.18.tgz")
    args = parser.parse_args()
    sid = args.scenario
    up = ["up", sid, *(["--profile", args.profile] if args.profile else []),
          *(f"--archive={value}" for value in args.archive)]
    timed("down", sid)
    figures: dict[str, list[float]] = {}

    if args.cold:
        with tempfile.TemporaryDirectory(prefix="lg-bench-") as tmp:
            before = set(SHARED_ROOTFS.glob("*")) if SHARED_ROOTFS.exists() else set()
            env = dict(os.environ, LABGRADER_BOX_CACHE=f"{tmp}/boxes", VAGRANT_HOME=f"{tmp}/vagrant.d")
            print("cold: empty box cache and Vagrant home (mmdebstrap from the apt mirror)…", flush=True)
            elapsed, progress = timed(*up, env=env)
            figures["up, cold box cache"] = [elapsed]
            print(f"  {elapsed:6.1f} s\n{phases(progress)}")
            timed("down", sid, env=env)
            for leftover in set(SHARED_ROOTFS.glob("*")) - before:  # the cold box's unpacked rootfs
                shutil.rmtree(leftover, ignore_errors=True)

    for run in range(args.runs):
        elapsed, progress = timed(*up)
        figures.setdefault("up, warm box cache", []).append(elapsed)
        print(f"warm up #{run + 1}: {elapsed:6.1f} s\n{phases(progress)}", flush=True)
        timed("halt", sid)
        elapsed, progress = timed("up", sid)
        figures.setdefault("up of a halted lab", []).append(elapsed)
        print(f"halted up #{run + 1}: {elapsed:6.1f} s\n{phases(progress)}", flush=True)
        elapsed, _ = timed("down", sid)
        figures.setdefault("down", []).append(elapsed)

    print(f"\n{'measure':<24} {'runs':>4} {'min s':>7} {'median s':>9} {'max s':>7}")
    for name, values in figures.items():
        print(f"{name:<24} {len(values):>4} {min(values):7.1f} {statistics.median(values):9.1f} {max(values):7.1f}")
    print(f"(machine: {os.cpu_count()} cores; whole-process wall time of `labgrader`, lab {sid})")


if __name__ == "__main__":
    main()
