"""One provider seam: the lifecycle asks a provider for everything machine-specific, every profile's provider
resolves, and a profile naming a provider this host lacks stops at the seam with one line, leaving nothing."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import typing
from pathlib import Path

import pytest
import yaml

from labgrader import box, lab as lablib, netns, scenario, steps
from labgrader.errors import HostSetupError, InputError, LabError
from labgrader.providers import ABSENT, NAMES, RUNNING, STOPPED, Provider, provider_for, vagrant_vm
from labgrader.scenario import Profile

from .test_sides import CHECK_SIDE
from .tls_servers import self_signed

ROOT = Path(__file__).resolve().parents[2]
LABGRADER = [sys.executable, "-m", "labgrader.cli"]


# --- the registry ---------------------------------------------------------------------------------------------

def test_every_provider_a_profile_may_name_is_registered():
    assert set(typing.get_args(Profile.model_fields["provider"].annotation)) == set(NAMES)
    for name in NAMES:
        provider = provider_for(name)
        assert isinstance(provider, Provider) and provider.name == name
        assert provider_for(name) is provider, "providers keep no state: one instance serves every lab"


def test_every_shipped_profile_reaches_its_provider(tmp_path, monkeypatch):
    monkeypatch.setenv("LABGRADER_STATE", str(tmp_path))
    for sid in scenario.scenario_ids():
        for pname, profile in scenario.load(sid).profiles.items():
            the_lab = lablib.open_lab(sid, pname, "seam-registry")
            assert the_lab.provider.name == profile.provider


def test_an_unknown_provider_is_an_input_error():
    with pytest.raises(InputError, match="no provider named 'vmware'"):
        provider_for("vmware")


def test_providers_are_build_side():
    probe = f"import sys, {', '.join(CHECK_SIDE)}\nprint('labgrader.providers' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert result.stdout.strip() == "False", result.stderr


def test_the_lifecycle_names_no_lxc_command():
    """lxc stays behind the seam: the lifecycle neither runs a command nor imports Vagrant itself."""
    text = (ROOT / "src" / "labgrader" / "lab.py").read_text()
    assert not re.search(r"lxc-|/var/lib/lxc|import vagrant|import subprocess|provider=\"lxc\"", text)


# --- the virtual-machine providers: the host check is real, the rest says it is not supported yet ------------

def test_a_full_profile_on_a_host_without_libvirt_stops_at_the_seam_with_one_line(tmp_path):
    state = tmp_path / "state"
    name = "seam-full-test"
    result = subprocess.run([*LABGRADER, "up", "bloc1-integration", "--profile", "full", "--name", name],
                            capture_output=True, text=True, env={**_env(), "LABGRADER_STATE": str(state)})
    assert result.returncode == 2, result.stderr
    assert result.stdout == "" and result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("labgrader: error: the libvirt provider ")
    if shutil.which("libvirtd") is None:
        assert result.stderr.startswith("labgrader: error: the libvirt provider is not installed on this host: "
                                        "install vagrant-libvirt, libvirt-daemon")
    assert not state.exists() or not any(state.rglob("*")), "nothing of the lab may be left"
    assert not netns.exists(f"lg-{name}")


@pytest.mark.parametrize("verb", ["status", "halt", "down"])
def test_every_verb_on_a_full_profile_is_the_same_one_line(tmp_path, verb):
    env = {**_env(), "LABGRADER_STATE": str(tmp_path)}
    result = subprocess.run([*LABGRADER, verb, "bloc1-integration", "--profile", "full", "--name", "seam-full-test"],
                            capture_output=True, text=True, env=env)
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert result.stderr.startswith("labgrader: error: the libvirt provider ")


@pytest.mark.parametrize("name, missing, expected", [
    ("libvirt", {"plugin:vagrant-libvirt", "command:libvirtd"},
     "the libvirt provider is not installed on this host: install vagrant-libvirt, libvirt-daemon (Debian packages"),
    ("virtualbox", {"command:VBoxManage"}, "the virtualbox provider is not installed on this host: install VirtualBox"),
    ("libvirt", set(), "the libvirt provider is not supported by this version of labgrader yet"),
    ("virtualbox", set(), "the virtualbox provider is not supported by this version of labgrader yet"),
])
def test_a_vm_provider_names_what_the_host_lacks_else_that_it_is_not_supported_yet(monkeypatch, name, missing,
                                                                                   expected):
    monkeypatch.setattr(vagrant_vm, "_present", lambda probe: probe not in missing)
    with pytest.raises(HostSetupError) as caught:
        vagrant_vm.VagrantVmProvider(name).check_host()
    assert str(caught.value).startswith(expected) and "\n" not in str(caught.value)


def test_hyperv_needs_windows(monkeypatch):
    monkeypatch.setattr(sys, "platform", "linux")
    with pytest.raises(HostSetupError, match="needs a Windows host"):
        provider_for("hyperv").check_host()


@pytest.mark.skipif(shutil.which("vagrant") is None, reason="Vagrant is not installed")
@pytest.mark.parametrize("profile", ["embedded", "full"])
def test_the_vagrantfile_configures_the_plans_provider(tmp_path, profile):
    the_lab = lablib.open_lab("bloc1-integration", profile, "seam-vagrantfile")
    document, _ = lablib.plan(the_lab, "labgrader/none")
    assert document["provider"] == the_lab.provider.name
    plan_file = tmp_path / "labs" / the_lab.name / "plan.json"
    plan_file.parent.mkdir(parents=True)
    plan_file.write_text(json.dumps(document))
    env = {"PATH": _env()["PATH"], "HOME": str(tmp_path), "LABGRADER_STATE": str(tmp_path),
           "LABGRADER_LAB": the_lab.name, "VAGRANT_DOTFILE_PATH": str(tmp_path / "vagrant"),
           "VAGRANT_CHECKPOINT_DISABLE": "1"}
    result = subprocess.run(["vagrant", "validate"], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


# --- the lifecycle talks to nothing but its provider ------------------------------------------------------------

class FakeProvider(Provider):
    """Machines that are only entries in a dict, and a record of what the lifecycle asked."""
    name = "fake"

    def __init__(self, certificate: str, fail_up: str = "") -> None:
        self.certificate, self.fail_up = certificate, fail_up
        self.machines: dict[str, str] = {}
        self.calls: list[tuple[str, ...]] = []
        self.steps: list[str] = []  # the scenario steps the lifecycle ran (over SSH: not the provider's part)

    def check_host(self) -> None:
        self.calls.append(("check_host",))

    def ensure_image(self, lab, report) -> str:
        self.calls.append(("ensure_image",))
        return "fake/image"

    def states(self, lab) -> dict[str, str]:
        return {m.name: self.machines.get(m.name, ABSENT) for m in lab.machines}

    def up(self, lab, machine, report) -> None:
        self.calls.append(("up", machine))
        if machine == self.fail_up:
            raise LabError(f"fake up {machine} failed")
        self.machines[machine] = RUNNING

    def halt(self, lab, machine) -> None:
        self.calls.append(("halt", machine))
        self.machines[machine] = STOPPED

    def destroy(self, lab, report) -> None:
        self.calls.append(("destroy",))
        self.machines.clear()

    def read_file(self, lab, machine, path) -> str:
        self.calls.append(("read_file", machine, path))
        return self.certificate if path.endswith(".pem") else f"ssh-ed25519 AAAAkeyof{machine} root@{machine}\n"

    def ssh_argv(self, lab, machine, command) -> list[str]:
        return ["fake-shell", machine, *command]


@pytest.fixture
def fake(tmp_path, monkeypatch):
    """A lab of bloc1-integration on the fake provider. What needs root (the namespace, probing inside it) and
    the scenario's steps (SSH to real machines) are replaced; any command the lifecycle would run is an error."""
    monkeypatch.setenv("LABGRADER_STATE", str(tmp_path / "state"))
    certificate, _key, _der = self_signed(tmp_path)
    provider = FakeProvider(certificate.read_text())
    monkeypatch.setattr(lablib, "provider_for", lambda name: provider)
    monkeypatch.setattr(lablib, "check_network_host", lambda: None)
    namespaces: set[str] = set()
    monkeypatch.setattr(netns, "ensure", lambda net: namespaces.add(net.namespace))
    monkeypatch.setattr(netns, "destroy", lambda net: namespaces.discard(net.namespace))
    monkeypatch.setattr(netns, "exists", lambda namespace: namespace in namespaces)
    monkeypatch.setattr(netns, "run_inside", lambda namespace, work: work())
    monkeypatch.setattr(lablib, "_tcp_open", lambda address, port: True)
    key = tmp_path / "insecure_key"
    key.write_text("not a key\n")
    monkeypatch.setattr(box, "vagrant_key", lambda name="vagrant": key)
    monkeypatch.setattr(steps, "run_steps", lambda **kwargs: provider.steps.append(kwargs["log"].name))

    def no_command(*args, **kwargs):
        raise AssertionError(f"the lifecycle ran a command behind its provider's back: {args[:1]}")

    monkeypatch.setattr(subprocess, "run", no_command)
    monkeypatch.setattr(subprocess, "Popen", no_command)
    return provider, lablib.open_lab("bloc1-integration", "embedded", "seam-fake")


def test_up_status_halt_ssh_down_ask_only_the_provider(fake):
    provider, the_lab = fake
    said: list[str] = []

    assert lablib.up(the_lab, said.append) is True
    assert provider.calls[:2] == [("check_host",), ("ensure_image",)]
    assert sorted(c[1] for c in provider.calls if c[0] == "up") == ["client1", "dc1", "zbx1"]
    assert ("read_file", "dc1", "/var/lib/samba/private/tls/cert.pem") in provider.calls
    plan = json.loads((the_lab.dir / "plan.json").read_text())
    assert (plan["provider"], plan["box"]) == ("fake", "fake/image")
    inventory = yaml.safe_load((the_lab.dir / "inventory.yml").read_text())
    assert inventory["hosts"]["client1"]["transports"]["ssh"]["host_key"] == "ssh-ed25519 AAAAkeyofclient1"
    assert inventory["hosts"]["dc1"]["transports"]["ldaps"]["tls_fingerprint"].startswith("SHA256:")
    assert provider.steps == ["setup.log"], "the starting state is applied once, on a fresh lab"
    assert any("with fake, in parallel" in line for line in said)

    assert [row["state"] for row in lablib.status(the_lab)] == [RUNNING] * 3
    assert lablib.up(the_lab, said.append) is False and said[-1].endswith("already up: nothing to do")

    lablib.halt(the_lab, said.append)
    assert lablib.machine_states(the_lab) == {"dc1": STOPPED, "zbx1": STOPPED, "client1": STOPPED}
    assert all(row["answers"] == "-" for row in lablib.status(the_lab))
    assert lablib.up(the_lab, said.append) is True and provider.steps == ["setup.log"], "restarted, not rebuilt"

    assert lablib.ssh_argv(the_lab, "dc1", ["hostname"]) == ["fake-shell", "dc1", "hostname"]
    with pytest.raises(InputError, match="no machine 'dc2'"):
        lablib.ssh_argv(the_lab, "dc2", [])

    lablib.down(the_lab, said.append)
    assert provider.calls[-1] == ("destroy",) and not the_lab.dir.exists()
    assert lablib.machine_states(the_lab) == {"dc1": ABSENT, "zbx1": ABSENT, "client1": ABSENT}


def test_a_failed_first_up_has_the_provider_destroy_what_it_built(fake):
    provider, the_lab = fake
    provider.fail_up = "zbx1"
    with pytest.raises(LabError, match="fake up zbx1 failed"):
        lablib.up(the_lab, lambda _: None)
    assert provider.calls[-1] == ("destroy",) and provider.machines == {}
    assert not the_lab.dir.exists()


def _env() -> dict[str, str]:
    return dict(os.environ)


def test_vagrant_gets_a_scrubbed_environment_never_the_callers_logging_or_credentials(tmp_path, monkeypatch):
    # VAGRANT_LOG=info writes provisioners' environment (their secrets) into the lab's logs.
    monkeypatch.setenv("LABGRADER_STATE", str(tmp_path / "state"))
    monkeypatch.setenv("VAGRANT_LOG", "info")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "do-not-leak")
    the_lab = lablib.open_lab("bloc1-integration", "embedded", "seam-env")
    handle = provider_for("lxc").handle(the_lab, "env.log")
    assert "VAGRANT_LOG" not in handle.env and "AWS_SECRET_ACCESS_KEY" not in handle.env, \
        f"l'environnement de l'appelant ne passe pas : {sorted(handle.env)}"
    assert handle.env["VAGRANT_DEFAULT_PROVIDER"] == "lxc" and handle.env["LABGRADER_LAB"] == "seam-env", \
        "Vagrant reçoit ce dont il a besoin"
