"""The Incus provider: the embedded profile's system containers, run on an existing Incus cluster over its REST API
(`up --provider incus`, once this host is enrolled: `labgrader cluster enrol`).

How a lab is laid out (docs/scale.md says why):
- one lab on one member (a lab network spanning members would need OVN), in an Incus project of its own, so its
  machines keep their scenario names (dc1, client1…) and `down` finds everything by one name;
- the machines are *privileged* containers from the box's rootfs image (incus/image.py): Samba AD stores its ACLs
  in `security.*` extended attributes, which an unprivileged container may not write;
- the lab's network is the lifecycle's own, on this host: the lab's namespace with its bridge, DHCP and DNS, as for
  a local lab. The provider extends that bridge to the member with a VXLAN tunnel (one network identifier per
  lab): on the member, a managed bridge with no address (no DHCP, no route, nothing of the member reachable) whose
  only way out is the tunnel. So labs of one scenario share their scenario's addresses without clashing, the
  grader reaches every machine on its lab address from the lab's namespace (the same `check` as a local lab), and
  nothing of a lab leaves its network.
State is kept in the engine (the project's `user.labgrader.*` keys) and mirrored in the lab's directory.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shlex
import subprocess
import time
import urllib.parse
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

from .. import paths
from ..errors import HostSetupError, LabError
from ..incus import image as image_mod
from ..incus import remote as remote_mod
from ..incus.client import Client, IncusError
from . import ABSENT, RUNNING, SET_UP, STOPPED, Provider, Report, require_commands, ssh_on_lab_network

if TYPE_CHECKING:
    from ..lab import RunningLab

TUNNEL = "t"            # the tunnel's name on the member's bridge (its device: <network>-t, at most 15 characters)
VXLAN_PORT = 4789
TUNNEL_MTU = 1400       # Incus's default for a bridge with tunnels: both ends must agree
GRADER_TUNNEL = "lgtun0"  # the tunnel's end in the lab's namespace, a port of the lab's bridge
UNREACHABLE = "UNREACHABLE"
PROVISION_DIR = "/root/.labgrader-provision"
SSH_WAIT_S = 120
SCRIPT_TIMEOUT_S = 1800


# --- names and choices (pure) -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Names:
    project: str
    network: str


def names_for(owner: str, lab_id: str) -> Names:
    """Names on the cluster: `owner` (this host's enrolment) keeps two graders' labs of one name apart."""
    digest = hashlib.sha256(f"{owner}/{lab_id}".encode()).hexdigest()
    return Names(project=f"lg-{owner}-{lab_id}", network=f"lg{digest[:10]}")


def pick_vni(network: str, used: set[int]) -> int:
    """A VXLAN network identifier for the lab, unused on the cluster: derived from the network's name (stable
    across retries), the next free one on a clash. 4096 and below are left to the centre's own tunnels."""
    span = (1 << 24) - 4097
    vni = 4097 + int(hashlib.sha256(network.encode()).hexdigest(), 16) % span
    while vni in used:
        vni = 4097 + (vni - 4097 + 1) % span
    return vni


def pick_member(members: list[dict], labs_per_member: dict[str, int]) -> str:
    """The online member holding the fewest labgrader labs (by name on a tie)."""
    online = sorted(m["server_name"] for m in members if m.get("status") == "Online")
    if not online:
        raise LabError("no member of the Incus cluster is online")
    return min(online, key=lambda name: (labs_per_member.get(name, 0), name))


def machine_state(instance: dict, member_online: bool) -> str:
    """An instance's state as `status` shows it: a lost member makes its machines UNREACHABLE, whatever the
    cluster last recorded (Incus reports them in Error, or not at all)."""
    if not member_online or instance.get("status") == "Error":
        return UNREACHABLE
    status = str(instance.get("status") or "UNKNOWN").upper()
    return {"RUNNING": RUNNING, "STOPPED": STOPPED}.get(status, status)


def environment_file(values: dict[str, str]) -> str:
    """What a provisioning script is told, as a root-only file it sources: secrets never go in a request's
    command or environment (Incus keeps those in its operation records)."""
    return "".join(f"export {name}={shlex.quote(value)}\n" for name, value in sorted(values.items()))


def member_address(member: dict) -> str:
    """The address a member's API listens on, which is where its end of a lab tunnel is."""
    return urllib.parse.urlsplit(member.get("url") or "").hostname or ""


# --- the provider -------------------------------------------------------------------------------------------------

class IncusProvider(Provider):
    name = "incus"

    def check_host(self) -> None:
        if os.geteuid() != 0:
            raise HostSetupError("a cluster lab needs root here (its network namespace and tunnel)")
        require_commands({"ip": "iproute2"}, SET_UP)
        remote_mod.load()

    # the cluster and the lab's names on it
    def _remote(self) -> remote_mod.Remote:
        return remote_mod.load()

    def _names(self, lab: RunningLab, remote: remote_mod.Remote | None = None) -> Names:
        remote = remote or self._remote()
        recorded = lab.dir / "incus.json"  # what `up` made is found again by the names it used
        if recorded.is_file():
            placed = json.loads(recorded.read_text())
            return Names(project=placed["project"], network=placed["network"])
        return names_for(remote.owner, lab.id)

    def _clients(self, lab: RunningLab) -> tuple[Client, Client, Names]:
        """(the cluster's client, the same in the lab's project, the lab's names)."""
        remote = self._remote()
        names = self._names(lab, remote)
        client = remote.client()
        return client, client.with_project(names.project), names

    def ensure_image(self, lab: RunningLab, report: Report) -> str:
        from .. import box
        if not box.rootfs_archive().is_file():  # the image is the box's root file system; Vagrant is not needed
            box.build_rootfs(box.rootfs_archive(), report)
        client, _, _ = self._clients(lab)
        return image_mod.ensure(client, report).alias

    # placement: the project, the member and the network, made once per lab
    def attach_network(self, lab: RunningLab, report: Report) -> None:
        remote = self._remote()
        client, names = remote.client(), self._names(lab, remote)
        with _placement_lock():
            placed = self._placement(client, names) or self._place(client, names, report)
            address = member_address(client.get(f"/1.0/cluster/members/{placed['member']}"))
            self._ensure_network(client, names, tunnel_config(address, remote.tunnel_local, int(placed["vni"])))
        _grader_tunnel(lab.namespace, remote, int(placed["vni"]), address)
        paths.write_private(lab.dir / "incus.json", json.dumps({**placed, "project": names.project,
                                                                "network": names.network}, indent=1))
        report(f"cluster: member {placed['member']}, project {names.project}, network {names.network} "
               f"(VXLAN {placed['vni']} to {remote.tunnel_local})")

    def _placement(self, client: Client, names: Names) -> dict | None:
        """Where the lab was placed, as its project records it (None: not placed yet)."""
        if not client.exists(f"/1.0/projects/{names.project}"):
            return None
        config = client.get(f"/1.0/projects/{names.project}").get("config") or {}
        if not config.get("user.labgrader.member") or not config.get("user.labgrader.vni"):
            raise LabError(f"the Incus project {names.project} exists but labgrader did not place it: remove it, or "
                           "choose another lab name")
        return {"member": config["user.labgrader.member"], "vni": config["user.labgrader.vni"]}

    def _place(self, client: Client, names: Names, report: Report) -> dict:
        """Choose the member and the tunnel's identifier, recorded in the lab's project as it is made (Incus
        refuses a later change of a project's config that has its own features off)."""
        load: dict[str, int] = {}
        for project in client.get("/1.0/projects?recursion=1"):
            member = (project.get("config") or {}).get("user.labgrader.member")
            if member:
                load[member] = load.get(member, 0) + 1
        member = pick_member(client.get("/1.0/cluster/members?recursion=1"), load)
        used = {int(value) for network in client.get("/1.0/networks?recursion=1")
                for key, value in (network.get("config") or {}).items()
                if key.startswith("tunnel.") and key.endswith(".id")}
        vni = str(pick_vni(names.network, used))
        # Images and profiles are the default project's: the box image is imported once for every lab.
        client.run("POST", "/1.0/projects", {"name": names.project, "description": "labgrader lab", "config": {
            "features.images": "false", "features.profiles": "false", "features.networks": "false",
            "user.labgrader.member": member, "user.labgrader.vni": vni}})
        report(f"cluster: lab placed on {member}")
        return {"member": member, "vni": vni}

    def _ensure_network(self, client: Client, names: Names, config: dict[str, str]) -> None:
        """The lab's network, defined on every member then created (how Incus makes a cluster network); one left
        half-made by an interrupted `up` is made again."""
        path = f"/1.0/networks/{names.network}"
        if client.exists(path):
            if client.get(path).get("status") == "Created":
                return
            client.run("DELETE", path)
        for member in client.get("/1.0/cluster/members"):
            client.run("POST", f"/1.0/networks?target={member.rsplit('/', 1)[-1]}",
                       {"name": names.network, "type": "bridge"})
        client.run("POST", "/1.0/networks", {"name": names.network, "type": "bridge", "description": names.project,
                                             "config": config})

    # machines
    def states(self, lab: RunningLab) -> dict[str, str]:
        try:
            client, in_project, names = self._clients(lab)
            if not client.exists(f"/1.0/projects/{names.project}"):
                return {m.name: ABSENT for m in lab.machines}
            online = {m["server_name"]: m.get("status") == "Online"
                      for m in client.get("/1.0/cluster/members?recursion=1", timeout=10)}
            instances = {i["name"]: i for i in in_project.get("/1.0/instances?recursion=1", timeout=10)}
        except (LabError, HostSetupError):
            return {m.name: UNREACHABLE for m in lab.machines}
        return {m.name: machine_state(instances[m.name], online.get(instances[m.name].get("location"), False))
                if m.name in instances else ABSENT for m in lab.machines}

    def up(self, lab: RunningLab, machine: str, report: Report) -> None:
        _, client, names = self._clients(lab)
        placed = json.loads((lab.dir / "incus.json").read_text())
        spec = next(m for m in lab.machines if m.name == machine)
        log = lab.log_dir / f"{machine}.log"
        log.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not client.exists(f"/1.0/instances/{machine}"):
            plan = json.loads((lab.dir / "plan.json").read_text())
            client.run("POST", f"/1.0/instances?target={placed['member']}", {
                "name": machine, "type": "container", "source": {"type": "image", "alias": plan["box"]},
                "config": {"security.privileged": "true", "limits.memory": f"{spec.memory_mb}MiB",
                           "user.labgrader.lab": lab.id},
                "devices": {"eth0": {"type": "nic", "name": "eth0", "network": names.network,
                                     "hwaddr": lab.mac(machine)}}})
        info = client.get(f"/1.0/instances/{machine}")
        if info.get("status") != "Running":
            client.run("PUT", f"/1.0/instances/{machine}/state", {"action": "start", "timeout": 60})
        _wait_ssh(lab, str(spec.address), machine, log)
        _require_binfmt(client, machine, placed["member"])
        if (info.get("config") or {}).get("user.labgrader.provisioned") != "true":
            _provision(lab, client, machine, log)
            client.run("PATCH", f"/1.0/instances/{machine}", {"config": {"user.labgrader.provisioned": "true"}})

    def halt(self, lab: RunningLab, machine: str) -> None:
        _, client, _ = self._clients(lab)
        try:
            client.run("PUT", f"/1.0/instances/{machine}/state", {"action": "stop", "timeout": 30})
        except IncusError:
            client.run("PUT", f"/1.0/instances/{machine}/state", {"action": "stop", "force": True})

    def destroy(self, lab: RunningLab, report: Report) -> None:
        """Every instance of the lab's project, then the project and the network. Instances on a lost member cannot
        be deleted: the error says so, the lab's record stays, and `down` once the member is back finishes."""
        client, in_project, names = self._clients(lab)
        left = []
        if client.exists(f"/1.0/projects/{names.project}"):
            for instance in in_project.get("/1.0/instances?recursion=1"):
                try:
                    if instance.get("status") == "Running":
                        in_project.run("PUT", f"/1.0/instances/{instance['name']}/state",
                                       {"action": "stop", "force": True}, timeout=60)
                    in_project.run("DELETE", f"/1.0/instances/{instance['name']}", timeout=120)
                except IncusError as exc:
                    left.append(f"{instance['name']} on {instance.get('location')} ({exc})")
            if left:
                raise LabError(f"cannot remove {', '.join(left)}: run `labgrader down {lab.cli}` again once that "
                               "member is back")
            client.run("DELETE", f"/1.0/projects/{names.project}")
        if client.exists(f"/1.0/networks/{names.network}"):
            client.run("DELETE", f"/1.0/networks/{names.network}")
        report(f"cluster: project {names.project} and network {names.network} removed")

    def read_file(self, lab: RunningLab, machine: str, path: str) -> str:
        _, client, _ = self._clients(lab)
        result = client.exec(machine, ["cat", "--", path], timeout=60)
        if result.status != 0:
            raise LabError(result.stderr.strip()[-200:] or f"cat exited {result.status}")
        return result.stdout

    def ssh_argv(self, lab: RunningLab, machine: str, command: list[str]) -> list[str]:
        return ssh_on_lab_network(lab, machine, command)


def tunnel_config(member_address: str, grader_address: str, vni: int) -> dict[str, str]:
    """The member's side of a lab network: a bridge with no address (so no DHCP, DNS or route of the member's;
    the lab's own come through the tunnel) and a VXLAN tunnel to this host."""
    prefix = f"tunnel.{TUNNEL}"
    return {"ipv4.address": "none", "ipv6.address": "none", "bridge.mtu": str(TUNNEL_MTU),
            f"{prefix}.protocol": "vxlan", f"{prefix}.local": member_address, f"{prefix}.remote": grader_address,
            f"{prefix}.id": str(vni), f"{prefix}.port": str(VXLAN_PORT),
            f"{prefix}.ttl": "64"}  # Incus's default (1) would not cross a router between this host and the member


@contextmanager
def _placement_lock() -> Iterator[None]:
    """Labs brought up side by side (a session) are placed one at a time, each seeing the others' choice."""
    lock = paths.state_dir() / "incus" / "placement.lock"
    lock.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with lock.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def _ip(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", *args], capture_output=True, text=True)


def _grader_tunnel(namespace: str, remote: remote_mod.Remote, vni: int, member: str) -> None:
    """This host's end of the lab's tunnel, a port of the lab's bridge. It is made where this host reaches the
    cluster (the enrolment's namespace), then moved into the lab's namespace: its UDP socket stays where it was
    made, while its frames are the lab's."""
    from ..netns import BRIDGE
    current = _ip("-n", namespace, "-d", "-o", "link", "show", GRADER_TUNNEL)
    wanted = f"vxlan id {vni} remote {member} local {remote.tunnel_local} "
    if current.returncode == 0 and wanted in current.stdout:
        return
    if current.returncode == 0:
        _ip("-n", namespace, "link", "delete", GRADER_TUNNEL)
    outside = ("-n", remote.namespace) if remote.namespace else ()
    temporary = f"lgv{vni:06x}"
    _ip(*outside, "link", "delete", temporary)  # what an interrupted attach left behind
    for step in ([*outside, "link", "add", temporary, "type", "vxlan", "id", str(vni), "remote", member,
                  "local", remote.tunnel_local, "dstport", str(VXLAN_PORT), "ttl", "64"],
                 [*outside, "link", "set", temporary, "netns", namespace],
                 ["-n", namespace, "link", "set", temporary, "name", GRADER_TUNNEL],
                 ["-n", namespace, "link", "set", GRADER_TUNNEL, "mtu", str(TUNNEL_MTU), "master", BRIDGE, "up"],
                 ["-n", namespace, "link", "set", BRIDGE, "mtu", str(TUNNEL_MTU)]):
        result = _ip(*step)
        if result.returncode != 0:
            raise LabError(f"the lab's tunnel to member {member}: `ip {' '.join(step)}` failed: {result.stderr.strip()}")


def _wait_ssh(lab: RunningLab, address: str, machine: str, log: Path) -> None:
    """The machine answers SSH on its lab address, from the lab's namespace (as Vagrant waits before provisioning):
    it has its address from the lab's DHCP, through the tunnel."""
    from ..lab import port_opens
    from ..netns import run_inside
    deadline = time.monotonic() + SSH_WAIT_S
    if not run_inside(lab.namespace, lambda: port_opens(address, 22, deadline)):
        raise LabError(f"{machine}: SSH did not answer on {address} within {SSH_WAIT_S} s (log: {paths.display(log)})")


def _require_binfmt(client: Client, machine: str, member: str) -> None:
    """Incus binds its member's binfmt_misc into a privileged container. A member without one mounted (a host not
    run by systemd) leaves an empty /proc directory there, where the machine's systemd-binfmt.service fails at
    every boot: every candidate would be judged for a failed unit that is the cluster's. Refused here instead."""
    if client.exec(machine, ["test", "-e", "/proc/sys/fs/binfmt_misc/register"], timeout=60).status != 0:
        raise LabError(f"member {member} has no binfmt_misc file system mounted (/proc/sys/fs/binfmt_misc): the "
                       "lab machines' systemd-binfmt.service would fail at boot; mount it there (docs/scale.md)")


def _provision(lab: RunningLab, client: Client, machine: str, log: Path) -> None:
    """What Vagrant's provisioners do, through the API: the role's files, then each script as root with the lab's
    environment and the machine's secrets (in a root-only file, removed afterwards)."""
    plan = json.loads((lab.dir / "plan.json").read_text())
    secrets = json.loads((lab.dir / "secrets.json").read_text()).get(machine, {})
    entry = next(m for m in plan["machines"] if m["name"] == machine)
    root = paths.project_root()
    environment = environment_file({**plan["env"], **entry["env"], **secrets}).encode()
    files = [(f"{PROVISION_DIR}/env", environment, 0o600)]
    for upload in entry["files"]:
        for source, destination in upload_files(Path(upload["source"]), upload["destination"]):
            try:
                data = source.read_bytes()
            except OSError as exc:
                raise LabError(f"{machine}: cannot read {source} to upload it ({exc.strerror})") from None
            files.append((destination, data, 0o755 if os.access(source, os.X_OK) else 0o644))
    scripts = []  # (where in the machine, its name for the log), in order
    for n, script in enumerate(entry["scripts"]):
        target = f"{PROVISION_DIR}/{n:02d}-{Path(script).name}"
        files.append((target, (root / script).read_bytes(), 0o700))
        scripts.append((target, Path(script).name))
    try:
        _push(client, machine, files)
        for target, name in scripts:
            result = client.exec(machine, ["/bin/sh", "-c", f". {PROVISION_DIR}/env && exec {shlex.quote(target)}"],
                                 timeout=SCRIPT_TIMEOUT_S)
            with log.open("a") as out:
                out.write(f"==> {machine}: {name} (exit {result.status})\n{result.stdout}{result.stderr}")
            if result.status != 0:
                raise LabError(f"{machine}: provisioning script {name} exited {result.status} "
                               f"(log: {paths.display(log)})")
    finally:
        try:
            client.exec(machine, ["rm", "-rf", PROVISION_DIR], timeout=60)
        except LabError:
            pass  # the machine is being thrown away by the caller's clean-up anyway


def upload_files(source: Path, destination: str) -> list[tuple[Path, str]]:
    """(file here, path in the machine) for one upload: a directory is copied whole, as Vagrant's file
    provisioner does (the GLPI double's package is one)."""
    if not source.is_dir():
        return [(source, destination)]
    return [(f, f"{destination}/{f.relative_to(source).as_posix()}") for f in sorted(source.rglob("*")) if f.is_file()]


def _push(client: Client, machine: str, files: list[tuple[str, bytes, int]]) -> None:
    """Files (path, content, mode) written into the instance as root: their directories made first, in one exec
    (the provisioning directory root-only), then each file through the API."""
    parents = sorted({str(Path(path).parent) for path, _, _ in files} - {PROVISION_DIR})
    made = client.exec(machine, ["/bin/sh", "-c", 'mkdir -p -m 0700 "$1" && shift && { [ $# -eq 0 ] || mkdir -p -m 0755 -- "$@"; }',
                                 "sh", PROVISION_DIR, *parents], timeout=60)
    if made.status != 0:
        raise LabError(f"{machine}: cannot make {', '.join([PROVISION_DIR, *parents])}: {made.stderr.strip()[-200:]}")
    for path, data, mode in files:
        client.run("POST", f"/1.0/instances/{machine}/files?path={urllib.parse.quote(path)}", data=data,
                   headers={"Content-Type": "application/octet-stream", "X-Incus-type": "file", "X-Incus-uid": "0",
                            "X-Incus-gid": "0", "X-Incus-mode": f"{mode:04o}", "X-Incus-write": "overwrite"})
