"""Providers: what creates, runs and removes a lab's machines (build side; the check side never imports this).

The lifecycle (`lab.py`) owns everything a lab is whatever runs its machines: the plan, state.json, the lock,
the lab's network namespace (the grader's point of view), readiness probes, the inventory, the scenario's
steps. It asks a provider only what depends on the machines' technology, through the small interface below,
modelled on Molecule's drivers. Every method takes the lab (a `RunningLab`) because a provider keeps no state
of its own: whatever it must remember lives under `lab.dir` or in its engine, so a new process finds it again.

A provider need not use Vagrant: the Incus provider (`incus.py`, a cluster engine over REST) fits the same
methods — an image instead of a box, instances instead of containers, the exec API to provision and read a file —
plus `attach_network`, which carries the lab's network to where its machines run.
"""
from __future__ import annotations

import importlib
import shlex
import shutil
from abc import ABC, abstractmethod
from functools import cache
from typing import TYPE_CHECKING, Callable

from ..errors import HostSetupError, InputError

if TYPE_CHECKING:
    from ..lab import RunningLab

Report = Callable[[str], None]

# A machine's state as `status` shows it. A provider may report a transitional state of its engine
# (STARTING, STOPPING, FROZEN…) in upper case as well: the lifecycle only tells running and absent apart.
RUNNING, STOPPED, ABSENT = "RUNNING", "STOPPED", "ABSENT"


class Provider(ABC):
    """One technology for a lab's machines. Each method is one question or order the lifecycle needs."""

    #: the name scenario profiles use (`provider: lxc`)
    name: str

    @abstractmethod
    def check_host(self) -> None:
        """Raise `HostSetupError` with one line naming what to install when this host cannot run the provider.

        Called before anything of a lab is built or removed, so a missing piece never leaves half a lab."""

    @abstractmethod
    def ensure_image(self, lab: RunningLab, report: Report) -> str:
        """The name of the image the lab's machines start from, built or imported first if missing.

        The plan records it (the Vagrantfile's box); one image per provider keeps `up` fast."""

    def attach_network(self, lab: RunningLab, report: Report) -> None:
        """Extend the lab's network (its namespace, bridge, DHCP and DNS, made by the lifecycle) to where the
        machines run, when that is not this host. Called at every `up`, before the machines' own `up`."""

    @abstractmethod
    def states(self, lab: RunningLab) -> dict[str, str]:
        """Machine name -> RUNNING / STOPPED / ABSENT (or a transitional state), for every machine of the lab.

        Must be cheap and must not need the host set up: `status` and `list --running` call it."""

    @abstractmethod
    def up(self, lab: RunningLab, machine: str, report: Report) -> None:
        """Create and provision the machine when absent, start it when stopped; raise `LabError` naming the log.

        The lifecycle calls it for every machine at once from parallel threads, once the lab's network
        exists and its plan is written; `report` is for what the user should see, the rest goes to logs."""

    @abstractmethod
    def halt(self, lab: RunningLab, machine: str) -> None:
        """Stop the machine, keeping its disk: `up` starts it again as it was."""

    @abstractmethod
    def destroy(self, lab: RunningLab, report: Report) -> None:
        """Remove every machine of the lab and every trace the provider left on the host; idempotent.

        Also called on a lab whose `up` failed half-way, or whose plan was lost: find machines by name."""

    @abstractmethod
    def read_file(self, lab: RunningLab, machine: str, path: str) -> str:
        """A file's text read from inside the machine, not over the lab network: what the machine *is*
        (its SSH host key, its certificate) rather than whatever answers at its address.
        Raise `LabError` with the reason when it cannot be read."""

    @abstractmethod
    def ssh_argv(self, lab: RunningLab, machine: str, command: list[str]) -> list[str]:
        """The command line that opens a shell on the machine (no command) or runs `command` there.

        One element of `command` is a shell command line, as with ssh; several are an argv kept word for word.
        The lifecycle has checked the machine exists and the lab is up."""


SET_UP = "run the README's set-up command (scripts/install)"


def require_commands(needs: dict[str, str], advice: str) -> None:
    """Raise `HostSetupError` for the first command (in `needs`' order) missing from PATH, naming the Debian
    package that brings it and what to do."""
    for command, package in needs.items():
        if shutil.which(command) is None:
            raise HostSetupError(f"{package} is not installed on this host ({command} not found); {advice}")


# Where each provider lives, imported only when a lab asks for it.
_PROVIDERS = {
    "lxc": ("lxc", "LxcProvider", ()),
    "libvirt": ("vagrant_vm", "VagrantVmProvider", ("libvirt",)),
    "virtualbox": ("vagrant_vm", "VagrantVmProvider", ("virtualbox",)),
    "hyperv": ("vagrant_vm", "VagrantVmProvider", ("hyperv",)),
    "incus": ("incus", "IncusProvider", ()),
}
NAMES = tuple(_PROVIDERS)


def ssh_on_lab_network(lab: RunningLab, machine: str, command: list[str]) -> list[str]:
    """ssh from inside the lab's namespace to the machine's lab address, as the box's `vagrant` user with
    Vagrant's key, checking the host key `up` read from inside the machine: for every provider whose machines
    are on the lab's network and start from labgrader's box."""
    from .. import lab_inventory, paths

    address = next(str(m.address) for m in lab.machines if m.name == machine)
    options = ["-o", "StrictHostKeyChecking=yes", "-o", f"UserKnownHostsFile={lab.dir / 'ssh_known_hosts'}",
               "-o", "LogLevel=ERROR", "-i", str(lab_inventory.ssh_key(paths.state_dir()))]
    remote = command if len(command) <= 1 else [shlex.join(command)]
    return ["ip", "netns", "exec", lab.namespace, "ssh", *options, *(["-t"] if not command else []),
            f"vagrant@{address}", *remote]


@cache
def provider_for(name: str) -> Provider:
    """The provider a profile names. Providers keep no state, so one instance serves every lab."""
    if name not in _PROVIDERS:
        raise InputError(f"no provider named '{name}' (known: {', '.join(NAMES)})", field="provider")
    module, cls, args = _PROVIDERS[name]
    return getattr(importlib.import_module(f"{__name__}.{module}"), cls)(*args)
