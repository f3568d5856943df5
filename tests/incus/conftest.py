"""A real 2-member Incus cluster for the tests of this directory, in network namespaces of its own
(tests/incus/cluster.sh), always torn down: instances, daemons (by PID), namespaces, mounts, loop files and its directory.

Skipped where Incus is not installed, failed instead where LABGRADER_REQUIRE_LAB is set (CI)."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from labgrader.incus.client import Client
from labgrader.remote.tls import pem_fingerprint

HERE = Path(__file__).parent
BASE = Path(os.environ.get("LABGRADER_INCUS_TEST_DIR", "/var/lib/labgrader-incus-tests"))
NS = os.environ.get("LABGRADER_INCUS_TEST_NS", "lgit")
GRADER_NS = f"{NS}-grader"
ADDRESSES = {"m1": "10.250.0.11:8443", "m2": "10.250.0.12:8443"}
TUNNEL_LOCAL = "10.250.1.1"  # the grader's address as the members reach it (cluster.sh)
TIMINGS: dict[str, float] = {}  # printed at the end of the run (the issue asks for the figures)


def require_incus() -> None:
    needs = {"root": os.geteuid() == 0, "incusd": Path("/usr/libexec/incus/incusd").is_file(),
             **{tool: shutil.which(tool) is not None for tool in ("incus", "mkfs.btrfs", "openssl", "ssh", "zstd")}}
    missing = [name for name, ok in needs.items() if not ok]
    if not missing:
        return
    reason = f"the Incus tests need {', '.join(missing)} (scripts/test installs Incus from bookworm-backports)"
    if os.environ.get("LABGRADER_REQUIRE_LAB"):
        pytest.fail(reason)
    pytest.skip(reason)


def incus(member: str, *args: str) -> str:
    """The incus CLI on a member, as cluster.sh's `inc` runs it."""
    argv = ["ip", "netns", "exec", f"{NS}-{member}", "env", "-u", "REQUESTS_CA_BUNDLE", "-u", "CURL_CA_BUNDLE",
            f"INCUS_DIR={BASE / member}", "incus", *args]
    return subprocess.run(argv, check=True, capture_output=True, text=True, timeout=60).stdout.strip()


def script(*args: str, timeout: float = 180) -> None:
    subprocess.run([str(HERE / "cluster.sh"), *args], check=True, timeout=timeout,
                   env=dict(os.environ, LABGRADER_INCUS_TEST_DIR=str(BASE)))


@dataclass
class Cluster:
    members: dict[str, Client] = field(default_factory=dict)  # over each member's unix socket
    https: Client | None = None  # member 1's API from the grader's namespace, the cluster certificate pinned
    fingerprint: str = ""

    def pid(self, member: str) -> int:
        return int((BASE / f"{member}.pid").read_text())

    def kill(self, member: str) -> None:
        os.kill(self.pid(member), signal.SIGKILL)

    def crash(self, member: str) -> None:
        """The member lost as in a power cut: its daemon and every container it ran, killed."""
        script("crash", member)

    def start(self, member: str) -> None:
        script("start", member)

    def https_to(self, member: str, fingerprint: str | None = None) -> Client:
        return Client.https(ADDRESSES[member], cert=str(BASE / "client.crt"), key=str(BASE / "client.key"),
                            fingerprint=fingerprint or self.fingerprint, namespace=GRADER_NS)

    def rootfs_ready(self, member: str, instance: str) -> bool:
        """The instance's root file system holds an init, seen from incusd's own mount namespace (where the pool
        is mounted): a container is never started without one."""
        rootfs = BASE / member / "containers" / instance / "rootfs"
        check = ["nsenter", "-t", str(self.pid(member)), "-m", "test", "-e", f"{rootfs}/sbin/init", "-a",
                 "-e", f"{rootfs}/etc/os-release"]
        return subprocess.run(check, timeout=10).returncode == 0


# Package scope: the cluster is gone before the rest of the suite runs (some unit tests measure bounded waits).
@pytest.fixture(scope="package")
def cluster():
    require_incus()
    if BASE.exists():  # what a killed run left behind
        script("down")
    started = time.monotonic()
    try:
        script("up")
        TIMINGS["cluster up (2 members, namespaces to both ONLINE)"] = time.monotonic() - started
        the_cluster = Cluster({m: Client.unix(str(BASE / m / "unix.socket")) for m in ("m1", "m2")})
        the_cluster.fingerprint = pem_fingerprint((BASE / "m1" / "cluster.crt").read_text())
        the_cluster.https = the_cluster.https_to("m1")
        yield the_cluster
    finally:
        script("down")


@pytest.fixture(scope="session")
def grader_key(tmp_path_factory) -> Path:
    """Vagrant's insecure key, which the box authorises for `vagrant`; ssh wants it private to its owner."""
    from labgrader.box import vagrant_key
    key = tmp_path_factory.mktemp("incus-ssh") / "vagrant"
    shutil.copyfile(vagrant_key(), key)
    key.chmod(0o600)
    return key


def grader_ssh(key: Path, address: str, *command: str, timeout: float = 15) -> subprocess.CompletedProcess:
    """ssh from the grader's namespace, routed to the lab through member 1, as the grader would."""
    argv = ["ip", "netns", "exec", GRADER_NS, "ssh", "-q", "-i", str(key), "-o", "StrictHostKeyChecking=no",
            "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes", "-o", "ConnectTimeout=2",
            f"vagrant@{address}", *command]
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return subprocess.CompletedProcess(argv, 255, "", "timeout")


def pytest_terminal_summary(terminalreporter):
    if TIMINGS:
        terminalreporter.section("Incus timings")
        for what, seconds in TIMINGS.items():
            terminalreporter.write_line(f"{seconds:6.1f} s  {what}")
