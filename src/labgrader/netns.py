"""The embedded lab's own network: a network namespace holding its bridge and its DHCP/DNS server.

Every lab packet stays inside the namespace. Commands that must run there (vagrant, lxc-*, ssh) go through
`argv()`; Python code that must open sockets there (readiness probes, checks) runs in `run_inside()`, a
thread that has joined the namespace, so the calling process never changes namespace.
"""
from __future__ import annotations

import ipaddress
import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from .errors import LabError
from .netjoin import NETNS_DIR, enter, exists, run_inside  # noqa: F401 - the build side joins namespaces too

BRIDGE = "lgbr0"


@dataclass(frozen=True)
class LabNetwork:
    namespace: str
    cidr: ipaddress.IPv4Network
    state_dir: Path
    reservations: tuple[tuple[str, str, str], ...]  # (mac, address, name)
    forward_zones: tuple[tuple[str, str], ...] = ()  # (domain, server address): the AD domain goes to the DC

    @property
    def gateway(self) -> ipaddress.IPv4Address:
        return next(self.cidr.hosts())

    @property
    def pid_file(self) -> Path:
        return self.state_dir / "dnsmasq.pid"


def _ip(*args: str) -> None:
    result = subprocess.run(["ip", *args], capture_output=True, text=True)
    if result.returncode != 0:
        raise LabError(f"`ip {' '.join(args)}` failed: {result.stderr.strip()}")


def ensure(net: LabNetwork) -> None:
    """Create the namespace, bridge and dnsmasq if missing; idempotent."""
    if not exists(net.namespace):
        _ip("netns", "add", net.namespace)
    inside = ("-n", net.namespace)
    _ip(*inside, "link", "set", "lo", "up")
    links = subprocess.run(["ip", *inside, "-o", "link", "show", BRIDGE], capture_output=True).returncode
    if links != 0:
        _ip(*inside, "link", "add", BRIDGE, "type", "bridge")
        _ip(*inside, "addr", "add", f"{net.gateway}/{net.cidr.prefixlen}", "dev", BRIDGE)
    _ip(*inside, "link", "set", BRIDGE, "up")
    if dnsmasq_pid(net) is None:
        _start_dnsmasq(net)


def _start_dnsmasq(net: LabNetwork) -> None:
    net.state_dir.mkdir(parents=True, exist_ok=True)
    args = [
        "dnsmasq", "--conf-file=/dev/null", "--no-resolv", "--no-hosts", "--no-poll",
        f"--interface={BRIDGE}", "--bind-interfaces", "--except-interface=lo",
        f"--pid-file={net.pid_file}", f"--dhcp-leasefile={net.state_dir / 'dnsmasq.leases'}",
        f"--log-facility={net.state_dir / 'dnsmasq.log'}", "--dhcp-authoritative",
        f"--dhcp-range={net.cidr.network_address},static,{net.cidr.netmask},12h",
        f"--dhcp-option=option:router,{net.gateway}", f"--dhcp-option=option:dns-server,{net.gateway}",
    ]
    args += [f"--dhcp-host={mac},{address},{name}" for mac, address, name in net.reservations]
    args += [f"--server=/{domain}/{server}" for domain, server in net.forward_zones]
    result = subprocess.run(["ip", "netns", "exec", net.namespace, *args], capture_output=True, text=True)
    if result.returncode != 0:
        raise LabError(f"dnsmasq did not start in {net.namespace}: {result.stderr.strip()}")


def dnsmasq_pid(net: LabNetwork) -> int | None:
    """The PID of this lab's dnsmasq, only if that process really is the one we started."""
    try:
        pid = int(net.pid_file.read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except (OSError, ValueError):
        return None
    return pid if f"--pid-file={net.pid_file}".encode() in cmdline else None


def destroy(net: LabNetwork) -> None:
    """Stop our dnsmasq (by its PID) and delete the namespace with everything in it; idempotent."""
    pid = dnsmasq_pid(net)
    if pid is not None:
        os.kill(pid, signal.SIGTERM)
        for _ in range(50):
            if not Path(f"/proc/{pid}").exists():
                break
            time.sleep(0.05)
    net.pid_file.unlink(missing_ok=True)
    if exists(net.namespace):
        _ip("netns", "delete", net.namespace)


def _cgroup_mounts() -> list[tuple[str, str, str]]:
    """The host's cgroup mounts (fstype, options, mount point), to mirror inside the namespace."""
    mounts = []
    for line in Path("/proc/self/mounts").read_text().splitlines():
        _source, target, fstype, options, *_ = line.split()
        if fstype in ("cgroup", "cgroup2") and target.startswith("/sys/fs/cgroup"):
            wanted = [o for o in options.split(",") if o not in ("rw", "ro", "nosuid", "nodev", "noexec", "relatime")]
            mounts.append((fstype, ",".join(wanted) or "defaults", target))
    return mounts


def argv(namespace: str, command: list[str]) -> list[str]:
    """Wrap a command so it runs in the lab's namespace with a working /sys/fs/cgroup.

    `ip netns exec` remounts /sys for the namespace, which hides the host's cgroup mounts that lxc needs."""
    lines = ["set -e"]
    mounts = _cgroup_mounts()
    if mounts and mounts[0][2] != "/sys/fs/cgroup":
        lines.append("mount -t tmpfs -o mode=755 cgroup /sys/fs/cgroup")
    for fstype, options, target in mounts:
        lines.append(f"mkdir -p {target} && mount -t {fstype} -o {options} {fstype} {target}")
    lines.append('exec "$@"')
    return ["ip", "netns", "exec", namespace, "/bin/sh", "-c", "\n".join(lines), "labgrader-netns", *command]


def write_wrapper(namespace: str, path: Path, executable: str) -> Path:
    """A small executable that runs `executable` inside the namespace (python-vagrant wants one path)."""
    command = " ".join(_shell_quote(a) for a in argv(namespace, [executable]))
    text = f'#!/bin/sh\nexec {command} "$@"\n'
    if path.is_file() and path.read_text() == text:
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{threading.get_ident()}")
    partial.write_text(text)
    partial.chmod(0o755)
    partial.rename(path)  # atomic: a parallel caller never executes a half-written file
    return path


def _shell_quote(arg: str) -> str:
    return "'" + arg.replace("'", "'\\''") + "'"
