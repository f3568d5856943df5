"""The embedded provider: privileged system containers made by vagrant-lxc from labgrader's own box, on the
lab's bridge inside its network namespace. lxc is asked directly where Vagrant would be slow (states) or
could have lost track (destroy)."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

from .. import box, netns
from ..errors import HostSetupError, LabError
from . import ABSENT, SET_UP, STOPPED, Report, require_commands
from .vagrant import GEMS, VagrantProvider

if TYPE_CHECKING:
    from ..lab import RunningLab

CONTAINERS = Path("/var/lib/lxc")
# Command -> the Debian package that brings it (vagrant-lxc calls sudo even as root).
COMMANDS = {"lxc-start": "lxc", "vagrant": "vagrant", "sudo": "sudo"}


class LxcProvider(VagrantProvider):
    name = "lxc"

    def check_host(self) -> None:
        if os.geteuid() != 0:
            raise HostSetupError("the embedded lab needs root (network namespaces, privileged containers)")
        require_commands(COMMANDS, SET_UP)
        if not list(GEMS.glob("vagrant-lxc-*")):
            raise HostSetupError("the vagrant-lxc plugin is not installed (Debian package vagrant-lxc)")

    def ensure_image(self, lab: RunningLab, report: Report) -> str:
        return box.ensure(report).name

    def states(self, lab: RunningLab) -> dict[str, str]:
        """Asked of lxc inside the namespace (fast, no Vagrant): its socket belongs to that namespace."""
        states = {}
        for m in lab.machines:
            name = lab.container(m.name)
            if not (CONTAINERS / name / "config").is_file():
                states[m.name] = ABSENT
            elif not netns.exists(lab.namespace):
                states[m.name] = STOPPED
            else:
                out = subprocess.run(netns.argv(lab.namespace, ["lxc-info", "-n", name, "-s", "-H"]),
                                     capture_output=True, text=True)
                states[m.name] = out.stdout.strip() or "UNKNOWN"
        return states

    def destroy(self, lab: RunningLab, report: Report) -> None:
        # Vagrant knows the machines only through the plan the Vagrantfile reads, and lxc only in the namespace.
        if (lab.dir / "plan.json").is_file() and netns.exists(lab.namespace):
            for m in lab.machines:  # they are thrown away: no need for a clean shutdown (≈ 8 s per machine)
                subprocess.run(netns.argv(lab.namespace, ["lxc-stop", "-k", "-n", lab.container(m.name)]),
                               capture_output=True)
            try:
                self.handle(lab, "down.log").destroy()
            except subprocess.CalledProcessError:
                report("vagrant destroy failed; removing the containers directly")
        for m in lab.machines:  # whatever Vagrant lost track of
            name = lab.container(m.name)
            if (CONTAINERS / name).exists():
                inside = netns.exists(lab.namespace)
                for command in (["lxc-stop", "-k", "-n", name], ["lxc-destroy", "-f", "-n", name]):
                    subprocess.run(netns.argv(lab.namespace, command) if inside else command, capture_output=True)
                shutil.rmtree(CONTAINERS / name, ignore_errors=True)

    def read_file(self, lab: RunningLab, machine: str, path: str) -> str:
        try:
            read = subprocess.run(netns.argv(lab.namespace, ["lxc-attach", "-n", lab.container(machine), "--", "cat", path]),
                                  capture_output=True, text=True, timeout=60)
        except subprocess.TimeoutExpired:
            raise LabError("lxc-attach did not answer within 60 s") from None
        if read.returncode != 0:
            raise LabError(read.stderr.strip()[-200:] or f"lxc-attach exited {read.returncode}")
        return read.stdout
