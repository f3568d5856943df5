"""The virtual-machine providers of full profiles (libvirt, VirtualBox, Hyper-V), through Vagrant.

This version only tells whether the host could run them: labgrader has no box for them yet, and libvirt
would need its daemon run inside the lab's namespace (../shared/FINDINGS.md, "Virtual machines"). Everything
past the host check says so in one line rather than pretend: nothing of a lab is built. The Vagrantfile
already gives their machines the plan's box, memory and a private network on the lab address; with a box,
these become `VagrantProvider`s like lxc.
"""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from ..errors import HostSetupError
from . import Provider, Report
from .vagrant import GEMS

if TYPE_CHECKING:
    from ..lab import RunningLab

# What each provider needs, with how to tell it is there (a command, or a Vagrant plugin), and how to get it.
NEEDS = {
    "libvirt": ((("vagrant", "command:vagrant"), ("vagrant-libvirt", "plugin:vagrant-libvirt"),
                 ("libvirt-daemon", "command:libvirtd"), ("qemu-system-x86", "command:qemu-system-x86_64")),
                " (Debian packages; not libvirt-daemon-system, which adds a NAT network to the host)"),
    "virtualbox": ((("vagrant", "command:vagrant"), ("VirtualBox", "command:VBoxManage")),
                   " (VirtualBox from virtualbox.org: Debian 12 does not package it)"),
    "hyperv": ((("vagrant", "command:vagrant"),), ""),
}


def _present(probe: str) -> bool:
    kind, _, what = probe.partition(":")
    if kind == "command":
        return shutil.which(what) is not None
    # A Vagrant plugin comes from Debian (GEMS) or from `vagrant plugin install` (under VAGRANT_HOME).
    user_gems = Path(os.environ.get("VAGRANT_HOME") or Path.home() / ".vagrant.d") / "gems"
    return any(GEMS.glob(f"{what}-*")) or any(user_gems.glob(f"*/gems/{what}-*"))


class VagrantVmProvider(Provider):
    def __init__(self, name: str) -> None:
        self.name = name

    def check_host(self) -> None:
        self._refuse()

    def _refuse(self) -> NoReturn:
        """What this host lacks for the provider or, when nothing, that this version cannot build its labs yet:
        one line either way, whichever verb asked."""
        if self.name == "hyperv" and sys.platform != "win32":
            raise HostSetupError(f"the hyperv provider needs a Windows host with Hyper-V; this one runs {sys.platform}")
        needs, how = NEEDS[self.name]
        missing = [package for package, probe in needs if not _present(probe)]
        if missing:
            raise HostSetupError(f"the {self.name} provider is not installed on this host: "
                                 f"install {', '.join(missing)}{how}")
        raise HostSetupError(f"the {self.name} provider is not supported by this version of labgrader yet "
                             "(no box for it); use a profile whose provider is lxc")

    def ensure_image(self, lab: RunningLab, report: Report) -> str:
        self._refuse()

    def states(self, lab: RunningLab) -> dict[str, str]:
        self._refuse()

    def up(self, lab: RunningLab, machine: str, report: Report) -> None:
        self._refuse()

    def halt(self, lab: RunningLab, machine: str) -> None:
        self._refuse()

    def destroy(self, lab: RunningLab, report: Report) -> None:
        self._refuse()

    def read_file(self, lab: RunningLab, machine: str, path: str) -> str:
        self._refuse()

    def ssh_argv(self, lab: RunningLab, machine: str, command: list[str]) -> list[str]:
        self._refuse()
