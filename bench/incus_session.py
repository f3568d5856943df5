#!/usr/bin/env python3
"""N labs of one scenario at once, as a session brings them up: on the Incus cluster this host is enrolled with
(`--provider incus`), or locally with vagrant-lxc (`--local`), for the figures side by side.

Prints figures; asserts nothing. Run as root from the project root:
    .venv/bin/python bench/incus_session.py --labs 4 [--jobs 4] [--scenario bloc1-integration] [--local]
    .venv/bin/python bench/incus_session.py --labs 4 --test-cluster   # starts tests/incus/cluster.sh's 2 members
With --test-cluster the cluster is made for the run (namespaces, btrfs on loop files) and removed afterwards; the
image import is counted apart. "Ready" is what `up` waits for (every machine provisioned, every role's port open,
the starting state applied). Memory per lab: the labs' containers' cgroups on the host (memory.usage_in_bytes,
which counts page cache, and the RSS of their processes), read once all are up and idle for 20 s."""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LABGRADER = [sys.executable, "-m", "labgrader.cli"]
CGROUP_MEMORY = Path("/sys/fs/cgroup/memory")
TEST_CLUSTER = ROOT / "tests" / "incus" / "cluster.sh"


def run(*args: str, env: dict, timeout: float = 3600) -> tuple[float, subprocess.CompletedProcess]:
    began = time.monotonic()
    result = subprocess.run([*LABGRADER, *args], env=env, capture_output=True, text=True, timeout=timeout)
    return time.monotonic() - began, result


def container_cgroups(state: Path, lab: str, machines: list[str]) -> list[str]:
    """The containers' names in the host's cgroups: lxc.payload.<name> for both engines."""
    placed = state / "labs" / lab / "incus.json"
    if placed.is_file():  # Incus names a project's container <project>_<instance>
        project = json.loads(placed.read_text())["project"]
        return [f"lxc.payload.{project}_{m}" for m in machines]
    return [f"lxc.payload.lg-{lab}-{m}" for m in machines]


def memory_mib(cgroup: str) -> tuple[float, float]:
    """(usage incl. page cache, RSS) of one container's cgroup, in MiB."""
    base = CGROUP_MEMORY / cgroup
    usage = int((base / "memory.usage_in_bytes").read_text())
    stat = dict(line.split() for line in (base / "memory.stat").read_text().splitlines())
    return usage / 2**20, int(stat.get("total_rss", stat.get("rss", 0))) / 2**20


def enrol_test_cluster(env: dict) -> None:
    base = os.environ.get("LABGRADER_INCUS_TEST_DIR", "/var/lib/labgrader-incus-tests")
    namespace = os.environ.get("LABGRADER_INCUS_TEST_NS", "lgit")
    incus = ["ip", "netns", "exec", f"{namespace}-m1", "env", f"INCUS_DIR={base}/m1", "incus"]
    token = subprocess.run([*incus, "config", "trust", "add", "labgrader-bench", "--quiet"], check=True,
                           capture_output=True, text=True).stdout.strip()
    subprocess.run([*LABGRADER, "cluster", "enrol", "-", "--namespace", f"{namespace}-grader", "--tunnel-local",
                    "10.250.1.1"], input=token, env=env, check=True, capture_output=True, text=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenario", default="bloc1-integration")
    parser.add_argument("--labs", type=int, default=4)
    parser.add_argument("--jobs", type=int, help="labs brought up at once (default: all of them)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--local", action="store_true", help="vagrant-lxc on this host instead of the cluster")
    where.add_argument("--test-cluster", action="store_true", help="start (and remove) the tests' 2-member cluster")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    from labgrader import scenario
    machines = [m.name for m in scenario.load(args.scenario).profile("embedded").machines]

    state = Path(tempfile.mkdtemp(prefix="labgrader-bench-", dir="/var/tmp"))
    env = dict(os.environ, LABGRADER_STATE=str(state))
    if args.test_cluster:
        env["LABGRADER_INCUS_CONFIG"] = str(state / "incus" / "cluster.yml")
        began = time.monotonic()
        subprocess.run([str(TEST_CLUSTER), "up"], check=True, capture_output=True)
        print(f"test cluster up: {time.monotonic() - began:.1f} s")
        enrol_test_cluster(env)
    names = [f"bench-{n + 1}" for n in range(args.labs)]
    candidates = state / "candidates.txt"
    candidates.write_text("\n".join(names) + "\n")
    session = ["session", "up", args.scenario, "--candidates", str(candidates), "--jobs", str(args.jobs or args.labs),
               *([] if args.local else ["--provider", "incus"])]
    engine = "vagrant-lxc, this host" if args.local else "Incus cluster"
    print(f"{args.labs} labs of {args.scenario} ({len(machines)} machines each) on {engine}, "
          f"{args.jobs or args.labs} at a time; {os.cpu_count()} cores")
    try:
        if not args.local:  # the image, once per cluster: counted apart from the labs
            began = time.monotonic()
            _, first = run("up", args.scenario, "--name", "bench-image", "--provider", "incus", env=env)
            run("down", args.scenario, "--name", "bench-image", env=env)
            print(f"first lab on an empty cluster (image import, first unpack on its member), then removed: "
                  f"{time.monotonic() - began:.1f} s{'' if first.returncode == 0 else ' (FAILED)'}")
        elapsed, result = run(*session, env=env)
        print(f"session up, all {args.labs} labs ready: {elapsed:.1f} s ({elapsed / args.labs:.1f} s per lab)"
              f"{'' if result.returncode == 0 else f' (exit {result.returncode})'}")
        per_lab = [line for line in result.stderr.splitlines() if line.startswith("bench-")]  # as each finished
        print("\n".join(f"    {line}" for line in per_lab))
        time.sleep(20)
        usage, rss = [], []
        for name in names:
            figures = [memory_mib(c) for c in container_cgroups(state, name, machines) if (CGROUP_MEMORY / c).is_dir()]
            usage.append(sum(u for u, _ in figures))
            rss.append(sum(r for _, r in figures))
        print(f"memory per lab (its {len(machines)} containers' cgroups): median {statistics.median(usage):.0f} MiB "
              f"with page cache, RSS {statistics.median(rss):.0f} MiB (range {min(rss):.0f}–{max(rss):.0f})")
        if not args.local:
            members = [json.loads((state / "labs" / n / "incus.json").read_text())["member"] for n in names]
            print("placement: " + ", ".join(f"{m} {members.count(m)}" for m in sorted(set(members))))
    finally:
        elapsed, _ = run("session", "down", args.scenario, "--candidates", str(candidates), "--jobs",
                         str(args.jobs or args.labs), env=env)
        print(f"session down: {elapsed:.1f} s")
        if args.test_cluster:
            subprocess.run([str(TEST_CLUSTER), "down"], capture_output=True)


if __name__ == "__main__":
    main()
