"""Inventories and check markers: bad input is one line naming the file and the field, exit code 2."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from labgrader import inventory
from labgrader.errors import InputError

ROOT = Path(__file__).resolve().parents[2]
GOOD = {
    "scenario": "bloc1-integration",
    "secrets_file": "secrets.yml",
    "domain": {"realm": "DURAND.TEST", "name": "durand.test", "netbios": "DURAND", "base_dn": "DC=durand,DC=test"},
    "hosts": {
        "dc1": {"address": "192.0.2.10", "role": "samba-dc", "transports": {
            "ldaps": {"user": "Administrator@DURAND.TEST", "password": {"secret": "domain_admin_password"},
                      "tls_verify": False}}},
        "client1": {"address": "192.0.2.50", "transports": {"ssh": {"user": "admin", "password": {"env": "LABGRADER_PW"}}}},
    },
}


def write(tmp_path: Path, document, name="candidate.yml") -> Path:
    path = tmp_path / name
    path.write_text(document if isinstance(document, str) else yaml.safe_dump(document))
    (tmp_path / "secrets.yml").write_text("domain_admin_password: s3cret-value\n")
    return path


def labgrader(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "labgrader.cli", *args], capture_output=True, text=True, cwd=cwd)


def test_a_good_inventory_resolves_references(tmp_path, monkeypatch):
    monkeypatch.setenv("LABGRADER_PW", "from-env")
    loaded = inventory.load(write(tmp_path, GOOD))
    assert loaded.secret(loaded.hosts["dc1"].transports.ldaps.password, "f") == "s3cret-value"
    assert loaded.secret(loaded.hosts["client1"].transports.ssh.password, "f") == "from-env"
    assert sorted(loaded.all_secrets()) == ["from-env", "s3cret-value"]
    assert loaded.hosts["dc1"].transports.ldaps.tls_verify is False
    assert inventory.load(write(tmp_path, {"hosts": {"x": {"address": "h", "transports": {
        "ldaps": {"user": "u", "password": {"env": "LABGRADER_PW"}}}}}})).hosts["x"].transports.ldaps.tls_verify is True


def mutate(change):
    document = yaml.safe_load(yaml.safe_dump(GOOD))
    change(document)
    return document


@pytest.mark.parametrize("document, expected", [
    (mutate(lambda d: d.pop("hosts")), "candidate.yml: hosts: required field is missing"),
    (mutate(lambda d: d["hosts"]["dc1"]["transports"].update(telnet={"port": 23})),
     "candidate.yml: hosts.dc1.transports.telnet: unknown transport (known: ssh, ldaps, zabbix_api, glpi_api)"),
    (mutate(lambda d: d["hosts"]["client1"]["transports"]["ssh"].update(port="twenty-two")),
     "candidate.yml: hosts.client1.transports.ssh.port: Input should be a valid integer"),
    (mutate(lambda d: d["hosts"]["client1"].pop("address")), "candidate.yml: hosts.client1.address: required field"),
    (mutate(lambda d: d["hosts"]["dc1"]["transports"]["ldaps"].update(password={"secret": "a", "env": "LABGRADER_B"})),
     "candidate.yml: hosts.dc1.transports.ldaps.password: give exactly one of"),
    ("hosts:\n  dc1: [unclosed\n", "candidate.yml: line 3: not valid YAML"),
])
def test_a_bad_inventory_is_one_line_naming_file_and_field_exit_2(tmp_path, document, expected):
    path = write(tmp_path, document)
    with pytest.raises(InputError) as caught:
        inventory.load(path)
    assert expected.split(": ", 1)[1] in str(caught.value)
    result = labgrader("check", "bloc1-integration", "--inventory", str(path), "--out", str(tmp_path / "out"),
                       cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().startswith(f"labgrader: error: {expected}"), result.stderr
    assert result.stderr.strip().count("\n") == 0 and "Traceback" not in result.stderr


def test_a_missing_secret_is_named_without_its_value(tmp_path):
    loaded = inventory.load(write(tmp_path, GOOD))
    with pytest.raises(InputError, match="hosts.client1.transports.ssh.password: environment variable LABGRADER_PW is not set"):
        os.environ.pop("LABGRADER_PW", None)
        loaded.secret(loaded.hosts["client1"].transports.ssh.password, "hosts.client1.transports.ssh.password")


def test_check_without_a_running_lab_says_how_to_start_it(tmp_path):
    env = dict(os.environ, LABGRADER_STATE=str(tmp_path / "state"))
    result = subprocess.run([sys.executable, "-m", "labgrader.cli", "check", "bloc1-integration"],
                            capture_output=True, text=True, env=env, cwd=tmp_path)
    assert result.returncode == 2
    assert "--inventory: lab bloc1-integration is not up here: run `labgrader up bloc1-integration`" in result.stderr


# Every machine on this host's loopback, on a closed port: the preflight finds no gap, nothing leaves the host.
LOCAL = {**GOOD, "hosts": {
    "dc1": {"address": "127.0.0.1", "role": "samba-dc", "transports": {"ldaps": {
        "port": 9, "user": "Administrator@DURAND.TEST", "password": {"secret": "domain_admin_password"}}}},
    "zbx1": {"address": "127.0.0.1", "role": "zabbix", "transports": {"zabbix_api": {
        "url": "https://127.0.0.1:9/api_jsonrpc.php", "user": "Admin", "password": {"secret": "domain_admin_password"}}}},
    "client1": {"address": "127.0.0.1", "role": "linux-client", "transports": {"ssh": {
        "port": 9, "user": "admin", "password": {"env": "LABGRADER_PW"}}}}}}


def run_pytest_on(tmp_path: Path, check_source: str, *extra: str) -> subprocess.CompletedProcess:
    (tmp_path / "test_a1_1_sample.py").write_text(check_source)
    inv = write(tmp_path, LOCAL, "inv.yml")
    with (tmp_path / "secrets.yml").open("a") as secrets:
        secrets.write("user_password:amartin: a-password\n")
    return subprocess.run([sys.executable, "-m", "pytest", "test_a1_1_sample.py", "--lab-inventory", str(inv),
                           "-p", "no:cacheprovider", *extra], capture_output=True, text=True, cwd=tmp_path,
                          env=dict(os.environ, LABGRADER_PW="from-env"))


def test_an_unknown_criterion_in_a_marker_stops_the_run_with_one_line(tmp_path):
    result = run_pytest_on(tmp_path, 'import pytest\n\n@pytest.mark.criterion("A1.1/CE.99", title="x")\n'
                                     'def test_x():\n    pass\n')
    assert result.returncode == 2
    assert ("labgrader: error: test_a1_1_sample.py::test_x: @pytest.mark.criterion: unknown criterion 'A1.1/CE.99'"
            in result.stdout + result.stderr)


def test_a_check_without_a_criterion_is_a_collection_error(tmp_path):
    result = run_pytest_on(tmp_path, "def test_x():\n    pass\n")
    assert result.returncode == 2
    assert "test_a1_1_sample.py::test_x: a check must name the criterion it evidences" in result.stdout + result.stderr


def test_checks_of_another_activity_than_the_scenario_s_are_deselected(tmp_path):
    result = run_pytest_on(tmp_path, 'import pytest\n\n@pytest.mark.criterion("A2.1/CE.1", title="x")\n'
                                     'def test_x():\n    pass\n\n'
                                     '@pytest.mark.criterion("A1.1/CE.1", title="y")\n'
                                     'def test_y():\n    pass\n')
    assert result.returncode == 0, result.stdout
    assert "1 passed, 1 deselected" in result.stdout


def test_a_candidate_id_that_is_not_pseudonymous_is_refused(tmp_path):
    result = run_pytest_on(tmp_path, "def test_x():\n    pass\n", "--candidate", "jean.dupont@example.org")
    assert result.returncode == 2
    assert "--candidate: 'jean.dupont@example.org' is not a pseudonymous id" in result.stdout + result.stderr


def test_validate_reports_coverage_and_refuses_a_bad_check(tmp_path):
    good = labgrader("validate", cwd=ROOT)
    assert good.returncode == 0, good.stderr
    assert "A1.1" in good.stdout and "5/5" in good.stdout and "3/3" in good.stdout
    assert [line for line in good.stdout.splitlines() if "A1.2" in line and "3/3" in line]  # CE.5 is the evaluator's
    project = tmp_path / "project"
    for name in ("scenarios", "labs", "checks"):
        shutil.copytree(ROOT / name, project / name)
    shutil.copy(ROOT / "Vagrantfile", project / "Vagrantfile")
    (project / "checks" / "bloc1" / "test_a1_1_integration.py").write_text(
        'import pytest\n\n@pytest.mark.criterion("A1.1/CE.6", title="x")\ndef test_x():\n    pass\n')
    env = dict(os.environ, LABGRADER_ROOT=str(project))
    bad = subprocess.run([sys.executable, "-m", "labgrader.cli", "validate"], capture_output=True, text=True,
                         env=env, cwd=project)
    assert bad.returncode == 2
    assert bad.stderr.strip() == ("labgrader: error: checks/bloc1/test_a1_1_integration.py::test_x: criterion "
                                  "A1.1/CE.6 is judged by the evaluator: a check may only support it "
                                  "(@pytest.mark.criterion(…, supporting=True))")
