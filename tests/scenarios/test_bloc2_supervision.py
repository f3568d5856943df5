"""bloc2-supervision (A2.1) for real: the self-test (the grader's probes find nothing to raise an alert on the fresh
lab, and every alert opening and clearing on the solved one), then near misses a candidate makes in Zabbix's
frontend (the check must fail) and another correct shape (it must pass), asserted check by check.

A probe that must stay silent waits the brief's whole bound (2 min): near misses run only the checks they are
about."""
from __future__ import annotations

import json

import pytest

from .conftest import solved_lab_fixture, zabbix_on_server

pytestmark = pytest.mark.scenario_cycle
solved = solved_lab_fixture("bloc2-supervision")
ZABBIX_PASSWORD = "Zbx-Durand-2026!"  # scenarios/bloc2-supervision.yaml, lab.zabbix.admin_password
RESOURCES = "test_each_server_sends_its_own_cpu_and_memory_with_a_trigger"
DISK = "test_a_data_filesystem_filled_past_the_threshold_raises_then_clears_an_alert"
BACKUP = "test_a_failed_backup_raises_then_clears_an_alert"
BKP1_DISK_TRIGGER = "/srv/restic de bkp1 rempli à plus de 80 %"
REPO1_DISK_TRIGGER = "/srv/depot de repo1 rempli à plus de 80 %"
BACKUP_FAILED_TRIGGER = "Sauvegarde de /srv/data en échec"
# Then the server's configuration cache is reloaded: a change takes effect now, not within the minute.
RELOAD = "\nimport subprocess\nsubprocess.run(['zabbix_server', '-R', 'config_cache_reload'], check=True)"


def on_zabbix(code: str) -> str:
    return zabbix_on_server(ZABBIX_PASSWORD, code + RELOAD)


def set_trigger(name: str, **fields) -> str:
    return on_zabbix(f"""
found = api("trigger.get", {{"filter": {{"description": [{json.dumps(name)}]}}, "output": ["triggerid"]}})
api("trigger.update", {{"triggerid": found[0]["triggerid"], **{json.dumps(fields)}}})""")


def set_interface(host: str, **fields) -> str:
    return on_zabbix(f"""
hostid = api("host.get", {{"filter": {{"host": [{json.dumps(host)}]}}, "output": ["hostid"]}})[0]["hostid"]
interface = api("hostinterface.get", {{"hostids": hostid, "output": ["interfaceid"]}})[0]["interfaceid"]
api("hostinterface.update", {{"interfaceid": interface, **{json.dumps(fields)}}})""")


def add_item(host: str, key: str, name: str) -> str:
    return on_zabbix(f"""
hostid = api("host.get", {{"filter": {{"host": [{json.dumps(host)}]}}, "output": ["hostid"]}})[0]["hostid"]
interface = api("hostinterface.get", {{"hostids": hostid, "output": ["interfaceid"]}})[0]["interfaceid"]
if not api("item.get", {{"hostids": hostid, "filter": {{"key_": [{json.dumps(key)}]}}, "output": ["itemid"]}}):
    api("item.create", {{"hostid": hostid, "interfaceid": interface, "key_": {json.dumps(key)}, "name": {json.dumps(name)},
                        "type": 0, "value_type": 0, "delay": "30s"}})""")


def test_every_check_fails_on_the_fresh_lab_and_passes_once_solved(solved):
    solved.assert_self_test_passed(checks=3)
    # A2.1/CE.6 (the inventory) is GLPI's, in a scenario of its own: here the evaluator's.
    assert solved.grid("solved") == {"A2.1/CE.1": "met", "A2.1/CE.6": "evaluator"}
    assert set(solved.outcomes("solved").values()) == {"passed"}


def test_a_wrong_host_a_threshold_too_high_or_no_threshold_at_all_is_not_supervision(solved):
    # Three honest mistakes in the frontend: srv1 left on the form's default interface (127.0.0.1: zbx1's own
    # agent answers, with zbx1's values); bkp1's data alert set at 95 % instead of the brief's 80 %; repo1's on a
    # sudden change of the space used, with no threshold (the grader's fill would open it all the same).
    zbx1, bkp1_used, repo1_used = ("zbx1", "last(/bkp1/vfs.fs.size[/srv/restic,pused])",
                                   "/repo1/vfs.fs.size[/srv/depot,pused]")
    with solved.broken(zbx1, set_interface("srv1", ip="127.0.0.1"), set_interface("srv1", ip="192.168.58.30")), \
            solved.broken(zbx1, set_trigger(BKP1_DISK_TRIGGER, expression=f"{bkp1_used}>95"),
                          set_trigger(BKP1_DISK_TRIGGER, expression=f"{bkp1_used}>80")), \
            solved.broken(zbx1, set_trigger(REPO1_DISK_TRIGGER, expression=f"change({repo1_used})>10"),
                          set_trigger(REPO1_DISK_TRIGGER, expression=f"last({repo1_used})>80")):
        assert solved.grid("wrong-host-no-threshold", only=f"{RESOURCES} or {DISK}")["A2.1/CE.1"] == "not_met"
    outcomes, messages = solved.outcomes("wrong-host-no-threshold"), solved.messages("wrong-host-no-threshold")
    # The check left out is an error, never a pass: a criterion is not judged on part of its checks.
    assert outcomes == {RESOURCES: "failed", DISK: "failed", BACKUP: "error"}
    assert "ne viennent pas de l'agent de srv1" in messages[RESOURCES]
    assert all(f"{host} ({path})" in messages[DISK]
               for host, path in (("srv1", "/srv/data"), ("bkp1", "/srv/restic"), ("repo1", "/srv/depot")))


def test_a_backup_followed_only_by_its_age_misses_a_failure_within_the_briefs_time(solved):
    # The backup's age alone (no success for 10 minutes) says nothing for 10 minutes after a failure.
    with solved.broken("zbx1", set_trigger(BACKUP_FAILED_TRIGGER, status=1), set_trigger(BACKUP_FAILED_TRIGGER, status=0)):
        assert solved.grid("age-only", only=BACKUP)["A2.1/CE.1"] == "not_met"
    assert solved.outcomes("age-only")[BACKUP] == "failed"
    assert "aucune alerte n'est apparue" in solved.messages("age-only")[BACKUP]


def test_another_correct_shape_passes(solved):
    # A host polled by its DNS name, a data alert on the free space rather than the used space.
    pfree = "vfs.fs.size[/srv/depot,pfree]"
    with solved.broken("zbx1", set_interface("bkp1", useip=0, dns="bkp1.durand.test", ip=""),
                       set_interface("bkp1", useip=1, ip="192.168.58.40", dns="")), \
            solved.broken("zbx1", add_item("repo1", pfree, "Espace libre sur /srv/depot (%)") + " && " +
                          set_trigger(REPO1_DISK_TRIGGER, expression=f"last(/repo1/{pfree})<20"),
                          set_trigger(REPO1_DISK_TRIGGER, expression="last(/repo1/vfs.fs.size[/srv/depot,pused])>80")):
        solved.grid("other-shape", only=f"{RESOURCES} or {DISK}")
    outcomes = solved.outcomes("other-shape")
    assert (outcomes[RESOURCES], outcomes[DISK]) == ("passed", "passed"), solved.messages("other-shape")
