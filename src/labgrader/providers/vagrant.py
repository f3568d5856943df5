"""What every provider that goes through Vagrant shares: one Vagrantfile (it reads the lab's plan), Vagrant run
inside the lab's namespace with a scrubbed environment, and SSH as Vagrant's user with Vagrant's key."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

from .. import netns, paths
from ..errors import LabError
from . import Provider, Report, ssh_on_lab_network

if TYPE_CHECKING:
    import vagrant

    from ..lab import RunningLab

GEMS = Path("/usr/share/rubygems-integration/all/gems")  # where Debian installs Vagrant and its plugins
# Nothing of the caller's environment reaches Vagrant beyond these (VAGRANT_LOG=info would write
# provisioners' secrets into the logs).
KEPT_ENVIRONMENT = ("PATH", "HOME", "LANG", "LC_ALL", "USER", "LOGNAME", "TMPDIR", "VAGRANT_HOME")


class VagrantProvider(Provider):
    """A provider whose machines Vagrant creates from the project's Vagrantfile."""

    def handle(self, lab: RunningLab, log_name: str) -> "vagrant.Vagrant":
        """A python-vagrant handle whose every call runs inside the lab's namespace, output to a log file."""
        import vagrant  # imported here: it warns on import when Vagrant is missing, which check_host reports better

        lab.log_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        kept = {name: os.environ[name] for name in KEPT_ENVIRONMENT if name in os.environ}
        env = dict(kept, VAGRANT_DOTFILE_PATH=str(lab.dir / "vagrant"), LABGRADER_LAB=lab.name,
                   LABGRADER_PROFILE=lab.profile, LABGRADER_STATE=str(paths.state_dir().resolve()),
                   VAGRANT_DEFAULT_PROVIDER=self.name, VAGRANT_CHECKPOINT_DISABLE="1",
                   VAGRANT_BOX_UPDATE_CHECK_DISABLE="1", VAGRANT_NO_COLOR="1")
        log_cm = vagrant.make_file_cm(str(lab.log_dir / log_name), mode="a")
        handle = vagrant.Vagrant(root=str(paths.project_root()), env=env, out_cm=log_cm, err_cm=log_cm)
        wrapper = netns.write_wrapper(lab.namespace, lab.dir / "bin" / "vagrant", shutil.which("vagrant") or "vagrant")
        handle._vagrant_exe = str(wrapper)  # python-vagrant has no public way to prefix the command
        return handle

    def up(self, lab: RunningLab, machine: str, report: Report) -> None:
        log = f"{machine}.log"
        try:
            self.handle(lab, log).up(vm_name=lab.container(machine), provider=self.name)
        except subprocess.CalledProcessError:
            raise LabError(f"vagrant up {machine} failed (log: {paths.display(lab.log_dir / log)})") from None

    def halt(self, lab: RunningLab, machine: str) -> None:
        log = f"{machine}.log"
        try:
            self.handle(lab, log).halt(vm_name=lab.container(machine))
        except subprocess.CalledProcessError:
            raise LabError(f"vagrant halt {machine} failed (log: {paths.display(lab.log_dir / log)})") from None

    def ssh_argv(self, lab: RunningLab, machine: str, command: list[str]) -> list[str]:
        return ssh_on_lab_network(lab, machine, command)
