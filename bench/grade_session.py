#!/usr/bin/env python3
"""A whole session graded at once: N candidate inventories, all pointing at the lab instances this machine
holds (several candidates may point at one instance), graded by `labgrader grade --jobs J`. Candidates that
share an instance are graded one after the other (`grade` never runs two that share a machine at once), so
the parallelism is min(J, instances).

Prints wall time, peak memory of the whole process tree and connections per candidate; asserts nothing.
Run as root from the project root, with the lab(s) up (and solved, for realistic figures):
    .venv/bin/labgrader up bloc1-integration && .venv/bin/labgrader solve bloc1-integration
    .venv/bin/python bench/grade_session.py [--scenario bloc1-integration] [--candidates 100] [--jobs 4]
        [--lab NAME ...]
e.g. four instances: for i in 1 2 3 4; do labgrader up bloc1-integration --name bench-$i; done, then
    --lab bench-1 --lab bench-2 --lab bench-3 --lab bench-4
Target (issue 9): 100 candidates of bloc1-integration in ≤ 2 minutes on 2 cores."""
from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LABGRADER = [sys.executable, "-m", "labgrader.cli"]
ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenario", default="bloc1-integration")
    parser.add_argument("--candidates", type=int, default=100)
    parser.add_argument("--jobs", type=int, default=4)
    parser.add_argument("--lab", action="append", help="lab instance(s) to point at (default: the scenario's)")
    args = parser.parse_args()
    labs = args.lab or [args.scenario]
    state = ROOT / ".labgrader" / "labs"
    for name in labs:
        if not (state / name / "inventory.yml").is_file():
            sys.exit(f"lab {name} is not up: labgrader up {args.scenario} --name {name}")
    with tempfile.TemporaryDirectory(prefix="lg-bench-session-", dir=state) as tmp:
        session = Path(tmp) / "candidates"
        for number in range(args.candidates):
            lab = state / labs[number % len(labs)]
            folder = session / f"cand-{number:04d}"
            folder.mkdir(parents=True)
            # Inside labgrader's state, beside a copy of the lab's secrets: only such an inventory may name
            # the lab's network namespace.
            document = (lab / "inventory.yml").read_text()
            (folder / "inventory.yml").write_text(re.sub(r"(?m)^secrets_file: .*$", "secrets_file: secrets.yml",
                                                         document))
            shutil.copy(lab / "secrets.yml", folder / "secrets.yml")
        out = Path(tmp) / "out"
        busy_before = _cpu_busy_s()
        started = time.monotonic()
        result = subprocess.run([*LABGRADER, "grade", str(session), "--out", str(out), "--jobs", str(args.jobs)],
                                capture_output=True, text=True)
        wall = time.monotonic() - started
        busy = _cpu_busy_s() - busy_before
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        index = json.loads((out / "index.json").read_text())
        opened = []
        for row in index["candidates"]:
            log = out / row["candidate"] / "checks.log"
            found = re.search(r"labgrader: connections opened: (.*)", log.read_text()) if log.is_file() else None
            if found:
                opened.append(sum(int(n) for n in re.findall(r"=(\d+)", found.group(1))))
        summary = index["summary"]
        print(f"{args.candidates} candidates of {args.scenario} against {len(labs)} lab instance(s), "
              f"--jobs {args.jobs}: {wall:.1f} s wall time ({wall / args.candidates:.2f} s per candidate), "
              f"exit {result.returncode}")
        print(f"graded {summary['graded']}/{summary['candidates']}: {summary['all_met']} all met, "
              f"{summary['some_not_met']} some not met, {summary['with_errors']} with errors")
        print(f"peak memory of the largest child process: {peak_kib / 1024:.0f} MiB")
        print(f"CPU: the grader's processes {children.ru_utime + children.ru_stime:.0f} s "
              f"({(children.ru_utime + children.ru_stime) / args.candidates:.2f} s per candidate); the whole machine "
              f"(labs included) busy {busy:.0f} s of {wall * os.cpu_count():.0f} s available "
              f"({100 * busy / (wall * os.cpu_count()):.0f} %)")
        if opened:
            print(f"connections per candidate: median {statistics.median(opened):.0f}, max {max(opened)}")


def _cpu_busy_s() -> float:
    """Seconds of CPU the whole machine spent busy since boot (all cores; /proc/stat counts in USER_HZ)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


if __name__ == "__main__":
    main()
