"""Scenario files: the shipped ones load, and every kind of bad input is one line naming file and field."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from labgrader import cli, scenario
from labgrader.errors import InputError
from labgrader.scenario import known_roles

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A copy of the project's data (scenarios, roles, Vagrantfile) that a test may break."""
    for name in ("scenarios", "labs"):
        shutil.copytree(ROOT / name, tmp_path / name)
    shutil.copy(ROOT / "Vagrantfile", tmp_path / "Vagrantfile")
    monkeypatch.setenv("LABGRADER_ROOT", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def edit(project: Path, change) -> None:
    path = project / "scenarios" / "bloc1-integration.yaml"
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True))


def error_of(project: Path) -> str:
    with pytest.raises(InputError) as caught:
        scenario.load("bloc1-integration")
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_every_shipped_scenario_loads():
    for sid in scenario.scenario_ids():
        loaded = scenario.load(sid)
        assert loaded.id == sid
        assert "embedded" in loaded.profiles


def test_secrets_are_hidden_from_repr():
    loaded = scenario.load("bloc1-integration")
    secret = loaded.lab.domain.admin_password.get_secret_value()
    assert secret not in repr(loaded) and secret not in str(loaded.model_dump())
    assert secret in loaded.secrets().values()


def test_lab_secrets_are_secrets_by_their_own_name():
    loaded = scenario.load("bloc2-maintenance")
    password = loaded.lab.secrets["restic_repository_password"].get_secret_value()
    key = loaded.secrets()["backup_ssh_key"]
    assert loaded.secrets()["restic_repository_password"] == password
    assert key.startswith("-----BEGIN OPENSSH PRIVATE KEY-----")
    assert password not in repr(loaded) and key not in str(loaded.model_dump())


@pytest.mark.parametrize("name, message", [
    ("Restic-Password", "'Restic-Password' is not a secret name"),
    ("user_password:amartin", "'user_password:amartin' is not a secret name"),
    ("zabbix_admin_password", "'zabbix_admin_password' is the name of a secret labgrader defines itself"),
])
def test_lab_secret_names_are_checked(project, name, message):
    edit(project, lambda d: d["lab"].update(secrets={name: "x"}))
    assert error_of(project).startswith(f"scenarios/bloc1-integration.yaml: lab.secrets: {message}")


def test_a_step_may_name_a_lab_secret(project):
    def change(d):
        d["lab"]["secrets"] = {"backup_key": "k"}
        d["solution"][0]["secrets"] = {"KEY": "backup_key"}
    edit(project, change)
    assert scenario.load("bloc1-integration").secrets()["backup_key"] == "k"
    edit(project, lambda d: d["solution"][0].update(secrets={"KEY": "backup_kee"}))
    assert "solution[0].secrets.KEY: unknown secret 'backup_kee'" in error_of(project)


def test_unknown_scenario_names_the_known_ones():
    with pytest.raises(InputError, match=r"unknown scenario 'nope' \(known: .*bloc1-integration"):
        scenario.load("nope")


def test_malformed_yaml_names_the_line(project):
    path = project / "scenarios" / "bloc1-integration.yaml"
    path.write_text(path.read_text() + "\nprofiles: [unclosed\n")
    message = error_of(project)
    assert message.startswith("scenarios/bloc1-integration.yaml: line ") and "not valid YAML" in message


def test_unknown_role_lists_the_known_roles(project):
    edit(project, lambda d: d["profiles"]["embedded"]["machines"][1].update(role="mainframe"))
    assert error_of(project) == ("scenarios/bloc1-integration.yaml: profiles.embedded.machines[1].role: "
                                 f"unknown role 'mainframe' (known: {', '.join(known_roles())})")


def test_wrong_type_names_the_field(project):
    edit(project, lambda d: d["profiles"]["embedded"]["machines"][0].update(memory_mb="lots"))
    message = error_of(project)
    assert "profiles.embedded.machines[0].memory_mb: " in message and "integer" in message


def test_unknown_field_is_refused(project):
    edit(project, lambda d: d["lab"].update(netwrok={}))
    assert error_of(project) == "scenarios/bloc1-integration.yaml: lab.netwrok: unknown field"


def test_address_outside_the_network(project):
    edit(project, lambda d: d["profiles"]["embedded"]["machines"][0].update(address="10.9.9.9"))
    assert "profiles.embedded.machines[0].address: 10.9.9.9 is not a usable host address" in error_of(project)


def test_gateway_address_is_reserved(project):
    edit(project, lambda d: d["profiles"]["embedded"]["machines"][0].update(address="192.168.56.1"))
    assert "the lab's gateway" in error_of(project)


def test_seed_reference_to_a_missing_ou(project):
    edit(project, lambda d: d["seed"]["users"][0].update(ou="Nowhere"))
    assert "seed.users[0].ou: 'Nowhere' is not one of seed.ous" in error_of(project)


def test_group_member_must_exist(project):
    edit(project, lambda d: d["seed"]["groups"][0]["members"].append("ghost"))
    assert "seed.groups[0].members: 'ghost' is neither a seeded user nor group" in error_of(project)


def test_duplicate_machine_names(project):
    edit(project, lambda d: d["profiles"]["embedded"]["machines"][1].update(name="dc1"))
    assert "profiles.embedded.machines: name used twice: dc1" in error_of(project)


def test_cli_prints_one_line_and_exits_2(project, capsys):
    edit(project, lambda d: d["profiles"]["embedded"]["machines"][1].update(role="mainframe"))
    assert cli.main(["validate"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("labgrader: error: scenarios/bloc1-integration.yaml:")
    assert "Traceback" not in err


def test_cli_unknown_profile(capsys):
    assert cli.main(["status", "bloc1-integration", "--profile", "cluster"]) == 2
    assert "no profile 'cluster'" in capsys.readouterr().err


@pytest.mark.parametrize("state, has_inventory, expected", [
    ({"created": True, "starting_state": False}, True, True),    # killed while applying the starting state
    ({"created": False, "starting_state": False}, False, True),  # killed while creating the machines
    ({"created": True, "starting_state": True}, True, False),
    ({"created": True, "starting_state": True, "solved": True}, True, False),
    ({}, False, True),  # machines but no record and no inventory: nothing says the lab is whole
    ({}, True, False),  # a lab from before states were recorded, up and inventoried
])
def test_a_half_built_lab_is_rebuilt_never_presented_as_ready(state, has_inventory, expected):
    from labgrader.lab import half_built
    assert half_built(state, has_inventory) is expected


@pytest.mark.parametrize("glpi, message", [
    ({"users": [{"name": "mdupont", "groups": ["Compta"]}]}, "seed.glpi.users[0].groups: 'Compta' is not one of"),
    ({"computers": [{"name": "pc1", "entity": "Atelier"}]}, "'Atelier' is not one of seed.glpi.entities"),
    ({"computers": [{"name": "pc1"}, {"name": "pc1"}]}, "a computer name is listed twice"),
])
def test_the_glpi_seed_references_what_it_declares(project, glpi, message):
    edit(project, lambda d: d.setdefault("seed", {}).update({"glpi": glpi}))
    assert message in error_of(project)
