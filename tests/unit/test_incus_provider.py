"""The incus provider's pure decisions (names, placement, tunnel identifiers, states, the scripts' environment),
the enrolment file's errors, and how `--provider` is chosen and kept: no cluster needed."""
from __future__ import annotations

import json
import shlex
import subprocess

import pytest

from labgrader import lab as lablib
from labgrader.errors import HostSetupError, InputError, LabError
from labgrader.incus import remote
from labgrader.providers import ABSENT, RUNNING, STOPPED
from labgrader.providers.incus import (UNREACHABLE, environment_file, machine_state, member_address, names_for,
                                       pick_member, pick_vni, tunnel_config)


def test_names_are_per_grader_and_fit_the_kernels_interface_names():
    names = names_for("0b7127", "bloc1-integration-candidat-0042")
    assert names.project == "lg-0b7127-bloc1-integration-candidat-0042"
    assert len(f"{names.network}-t") <= 15  # Incus names the member's tunnel device <network>-<tunnel>
    assert names_for("0b7127", "a") != names_for("ffffff", "a"), "two graders' labs of one name must not clash"
    assert names_for("0b7127", "a") == names_for("0b7127", "a")


def test_a_tunnel_identifier_is_stable_and_never_one_in_use():
    first = pick_vni("lga2c58c4dc6", set())
    assert first == pick_vni("lga2c58c4dc6", set()) and 4097 <= first < 1 << 24
    assert pick_vni("lga2c58c4dc6", {first}) == first + 1
    top = (1 << 24) - 1
    assert 4097 <= pick_vni("x", set(range(4097, top))) <= top  # wraps round, stays out of the reserved range


def test_the_least_loaded_online_member_is_chosen():
    members = [{"server_name": "m1", "status": "Online"}, {"server_name": "m2", "status": "Online"},
               {"server_name": "m3", "status": "Offline"}]
    assert pick_member(members, {}) == "m1"
    assert pick_member(members, {"m1": 1}) == "m2"
    assert pick_member(members, {"m1": 2, "m2": 2}) == "m1"
    with pytest.raises(LabError, match="no member of the Incus cluster is online"):
        pick_member([{"server_name": "m1", "status": "Offline"}], {})


def test_a_machine_on_a_lost_member_is_unreachable_whatever_its_record_says():
    assert machine_state({"status": "Running"}, member_online=True) == RUNNING
    assert machine_state({"status": "Stopped"}, member_online=True) == STOPPED
    assert machine_state({"status": "Frozen"}, member_online=True) == "FROZEN"
    assert machine_state({"status": "Running"}, member_online=False) == UNREACHABLE
    assert machine_state({"status": "Error"}, member_online=True) == UNREACHABLE
    assert UNREACHABLE not in (RUNNING, STOPPED, ABSENT)


def test_the_scripts_environment_survives_any_value_and_a_shell_reads_it_back():
    values = {"LAB_SECRET": "p'a\"ss $(reboot) `id`\nline2", "LAB_DOMAIN": "durand.test", "EMPTY": ""}
    text = environment_file(values)
    shown = subprocess.run(["sh", "-c", f"{text}\nprintf '%s\\0' \"$LAB_SECRET\" \"$LAB_DOMAIN\" \"$EMPTY\""],
                           capture_output=True, text=True, check=True).stdout
    assert shown.split("\0")[:3] == [values["LAB_SECRET"], "durand.test", ""]
    assert all(line.startswith("export ") for line in text.splitlines() if "=" in line and "line2" not in line)
    assert shlex.quote(values["LAB_SECRET"]) in text


def test_the_member_side_of_a_lab_network_has_no_address_and_one_tunnel_here():
    config = tunnel_config("10.250.0.12", "10.250.1.1", 9136524)
    assert config["ipv4.address"] == "none" and config["ipv6.address"] == "none"
    assert (config["tunnel.t.local"], config["tunnel.t.remote"], config["tunnel.t.id"]) == (
        "10.250.0.12", "10.250.1.1", "9136524")
    assert config["tunnel.t.protocol"] == "vxlan" and int(config["tunnel.t.ttl"]) > 1
    assert member_address({"url": "https://10.250.0.12:8443"}) == "10.250.0.12"
    assert member_address({"url": "https://[fd00::2]:8443"}) == "fd00::2"


# --- the enrolment file ---------------------------------------------------------------------------------------

def write_config(tmp_path, text: str):
    (tmp_path / "client.crt").write_text("cert")
    (tmp_path / "client.key").write_text("key")
    path = tmp_path / "cluster.yml"
    path.write_text(text)
    return path


GOOD = ("address: 10.250.0.11:8443\nfingerprint: ab\nclient_cert: client.crt\nclient_key: client.key\n"
        "tunnel_local: 10.250.1.1\n")


def test_an_enrolment_file_reads_back(tmp_path):
    enrolled = remote.load(write_config(tmp_path, GOOD + "namespace: lgit-grader\n"))
    assert (enrolled.address, enrolled.namespace, enrolled.tunnel_local) == ("10.250.0.11:8443", "lgit-grader",
                                                                               "10.250.1.1")
    assert enrolled.client_cert == tmp_path / "client.crt"


@pytest.mark.parametrize("text, field", [
    (GOOD.replace("10.250.1.1", "grader.example"), "tunnel_local"),
    (GOOD.replace("10.250.0.11:8443", "10.250.0.11"), "address"),
    (GOOD.replace("client.crt", "missing.crt"), "client_cert"),
    (GOOD.replace("fingerprint: ab\n", ""), "fingerprint"),
    (GOOD + "owner: Grader-1\n", "owner"),
])
def test_a_bad_enrolment_file_is_one_line_naming_its_field(tmp_path, text, field):
    with pytest.raises(InputError) as error:
        remote.load(write_config(tmp_path, text))
    assert f"cluster.yml: {field}: " in str(error.value) and "\n" not in str(error.value)


def test_no_enrolment_says_how_to_enrol(tmp_path, monkeypatch):
    monkeypatch.setenv("LABGRADER_INCUS_CONFIG", str(tmp_path / "nothing.yml"))
    with pytest.raises(HostSetupError, match="labgrader cluster enrol"):
        remote.load()


# --- choosing the provider at `up` ------------------------------------------------------------------------------

def test_up_may_run_the_embedded_profile_on_incus_and_the_lab_keeps_it(tmp_path, monkeypatch):
    monkeypatch.setenv("LABGRADER_STATE", str(tmp_path))
    assert lablib.open_lab("bloc1-integration", name="seam-incus").provider.name == "lxc"
    chosen = lablib.open_lab("bloc1-integration", name="seam-incus", provider="incus")
    assert chosen.provider.name == "incus"
    (tmp_path / "labs" / "seam-incus").mkdir(parents=True)
    (tmp_path / "labs" / "seam-incus" / "plan.json").write_text(json.dumps(
        {"scenario": "bloc1-integration", "profile": "embedded", "provider": "incus"}))
    assert lablib.open_lab("bloc1-integration", name="seam-incus").provider.name == "incus", "down/status/check"
    with pytest.raises(InputError, match="runs on incus: `labgrader down` it before"):
        lablib.open_lab("bloc1-integration", name="seam-incus", provider="lxc")


def test_a_virtual_machine_profile_cannot_run_on_incus(tmp_path, monkeypatch):
    monkeypatch.setenv("LABGRADER_STATE", str(tmp_path))
    with pytest.raises(InputError, match="--provider: the profile full of bloc1-integration runs on"):
        lablib.open_lab("bloc1-integration", "full", name="seam-vm", provider="incus")


def test_a_directory_upload_is_copied_whole_as_vagrant_does(tmp_path):
    from labgrader.providers.incus import upload_files
    (tmp_path / "pkg" / "sub").mkdir(parents=True)
    (tmp_path / "pkg" / "a.py").write_text("a")
    (tmp_path / "pkg" / "sub" / "b.py").write_text("b")
    assert upload_files(tmp_path / "pkg", "/opt/double") == [
        (tmp_path / "pkg" / "a.py", "/opt/double/a.py"), (tmp_path / "pkg" / "sub" / "b.py", "/opt/double/sub/b.py")]
    assert upload_files(tmp_path / "pkg" / "a.py", "/tmp/a.py") == [(tmp_path / "pkg" / "a.py", "/tmp/a.py")]


def test_ssh_takes_the_lab_name_written_after_the_machine(tmp_path, monkeypatch, capsys):
    """docs/scale.md's `labgrader ssh SCENARIO MACHINE --name ID -- CMD`: argparse hands what follows MACHINE to
    the command; the lab's name must still be the one asked for, not the scenario's."""
    from labgrader import cli
    monkeypatch.setenv("LABGRADER_STATE", str(tmp_path))
    assert cli.main(["ssh", "bloc1-integration", "client1", "--name", "cand-0042", "--", "hostname"]) == 2
    assert "lab cand-0042 is not up" in capsys.readouterr().err
