"""The bloc1-integration lab, for real: Samba AD DC, an unjoined Debian client, Zabbix with its API."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from zabbix_utils import ZabbixAPI
from zabbix_utils.exceptions import APIRequestError, ProcessingError

from labgrader import lab as lablib, netns, paths, scenario

from ..support import lab_args

SEEDED = scenario.load("bloc1-integration")
LABGRADER = [sys.executable, "-m", "labgrader.cli"]


def test_dc_accepts_an_ldaps_bind_as_domain_administrator_and_holds_the_seeded_users(remote):
    def look(session):
        directory = session.directory("dc1")
        return ({u.username: directory.user(u.username) for u in SEEDED.seed.users}, directory.ous(),
                session.recorder.entries[0])

    users, ous, first = remote(look)
    assert first.action == "ldaps bind Administrator@DURAND.TEST" and first.detail == "bound"
    for user in SEEDED.seed.users:
        assert users[user.username] is not None, f"{user.username} missing from the directory"
        expected_ou = ",".join(f"OU={p}" for p in reversed(user.ou.split("/")))
        assert users[user.username].dn.startswith(f"CN={user.username},{expected_ou},DC=durand,DC=test")
    for path in SEEDED.seed.ous:
        assert ",".join(f"OU={p}" for p in reversed(path.split("/"))) + ",DC=durand,DC=test" in ous


def test_groups_are_seeded_with_nested_membership(remote):
    nested, direct = remote(lambda s: (s.directory("dc1").members("GG_Personnel"),
                                       s.directory("dc1").members("GG_Personnel", nested=False)))
    assert {"amartin", "bdupont", "cdurand"} <= nested
    assert "amartin" not in direct and {"GG_Comptabilite", "GG_Atelier", "cdurand"} <= direct


def test_a_wrong_domain_password_is_refused_over_ldaps(remote):
    assert remote(lambda s: s.directory("dc1").bind_as("Administrator@DURAND.TEST", "not-the-password")) is False


def test_client_answers_ssh_and_is_not_in_the_domain(remote):
    def look(session):
        client = session.ssh("client1")
        return (client.run("hostname").stdout.strip(), client.run("realm list").stdout.strip(),
                client.testinfra.file("/etc/krb5.keytab").exists, session.directory("dc1").computer("client1"))

    hostname, realms, keytab, computer = remote(look)
    assert hostname == "client1"
    assert realms == "" and not keytab and computer is None


def test_zabbix_api_answers_its_version_and_a_login_with_the_scenario_password(lab_inventory):
    transport = lab_inventory.hosts["zbx1"].transports.zabbix_api
    url, pinned = transport.url, transport.tls().context()
    password = SEEDED.lab.zabbix.admin_password.get_secret_value()
    assert url.startswith("https://") and transport.tls_fingerprint, "up pins the API's own certificate"

    def use_api():
        anonymous = ZabbixAPI(url=url, ssl_context=pinned)
        version = str(anonymous.api_version())
        anonymous.login(user="Admin", password=password)
        anonymous.logout()
        try:
            ZabbixAPI(url=url, ssl_context=pinned).login(user="Admin", password="zabbix")
            default_refused = False
        except (APIRequestError, ProcessingError):
            default_refused = True
        return version, default_refused

    version, default_refused = netns.run_inside(lab_inventory.network_namespace, use_api)
    assert version.startswith("6.0.")
    assert default_refused, "the default Admin password must have been replaced by the scenario's"


def test_a_second_up_of_a_running_lab_changes_nothing(embedded_lab):
    configs = sorted(Path("/var/lib/lxc").glob(f"lg-{embedded_lab.id}-*/config"))
    before = {p: p.stat().st_mtime_ns for p in configs}
    messages = []
    assert lablib.up(embedded_lab, messages.append) is False
    assert messages == [f"lab {embedded_lab.id} is already up: nothing to do"]
    assert {p: p.stat().st_mtime_ns for p in configs} == before and len(before) == 3


def test_inventory_holds_credential_references_not_secrets(embedded_lab):
    text = (embedded_lab.dir / "inventory.yml").read_text()
    for secret in SEEDED.secrets().values():
        assert secret not in text
    document = yaml.safe_load(text)
    assert document["hosts"]["dc1"]["transports"]["ldaps"]["password"] == {"secret": "domain_admin_password"}
    assert document["hosts"]["dc1"]["transports"]["ldaps"]["tls_fingerprint"].startswith("SHA256:"), \
        "up pins the DC's own certificate, read from inside the machine"
    secrets_file = embedded_lab.dir / document["secrets_file"]
    assert oct(secrets_file.stat().st_mode & 0o777) == "0o600"


def test_status_lists_every_machine_running(embedded_lab):
    result = subprocess.run([*LABGRADER, "status", *lab_args(embedded_lab)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    for name in ("dc1", "zbx1", "client1"):
        assert name in result.stdout
    assert result.stdout.count("RUNNING") == 3


def test_ssh_verb_returns_the_remote_exit_code(embedded_lab):
    result = subprocess.run([*LABGRADER, "ssh", *lab_args(embedded_lab), "client1", "--", "sh", "-c", "hostname; exit 7"],
                            capture_output=True, text=True)
    assert result.returncode == 7 and result.stdout.strip() == "client1"


def _traces(the_lab) -> list[str]:
    """Anything of the lab still on the host: containers, namespace, mounts, processes."""
    found = [str(p) for p in Path("/var/lib/lxc").glob(f"lg-{the_lab.id}-*")]
    if netns.exists(the_lab.namespace):
        found.append(f"namespace {the_lab.namespace}")
    found += [line for line in Path("/proc/mounts").read_text().splitlines() if f"lg-{the_lab.id}" in line]
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if f"lg-{the_lab.id}" in cmdline and int(proc.name) != os.getpid():
            found.append(f"process {proc.name}: {cmdline[:120]}")
    return found


@pytest.mark.lab_teardown
def test_down_leaves_no_container_namespace_mount_or_process_and_can_run_twice(embedded_lab):
    assert _traces(embedded_lab) != [], "the lab should be up before this test"
    for _ in range(2):
        result = subprocess.run([*LABGRADER, "down", *lab_args(embedded_lab)], capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
    assert _traces(embedded_lab) == []
    assert not embedded_lab.dir.exists()
    assert (paths.state_dir() / "logs" / embedded_lab.id).is_dir(), "logs are kept after down"
