"""bloc2-maintenance (A2.2) for real: the self-test, then near misses on the solved lab (the repair looks done but
is not: the check must fail) and another correct shape (it must pass), asserted check by check.

Each `broken` block breaks one thing on the solved lab and puts it back."""
from __future__ import annotations

import json

import pytest

from .conftest import solved_lab_fixture, zabbix_on_server

pytestmark = pytest.mark.scenario_cycle
solved = solved_lab_fixture("bloc2-maintenance")
AUTOMATED = ("A2.2/CE.7", "A2.2/CE.9")
ZABBIX_PASSWORD = "Zbx-Durand-2026!"  # scenarios/bloc2-maintenance.yaml, lab.zabbix.admin_password
SERVICE_TRIGGER = "durand-intranet ne répond pas sur le port 8080"
DATA_TRIGGER = "/srv/data rempli à plus de 80 %"
ESCALATION_TRIGGER = "Disque du NAS : secteurs réalloués sur sda"
APT = "DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o Dpkg::Options::=--force-confold"
DEFAULTS = "/etc/default/durand-intranet"
BACKUP_ENV = "/etc/restic/backup.env"


def trigger_status(name: str, status: int) -> str:
    """A shell command, run on zbx1, that enables (0) or disables (1) the trigger of that name through the API."""
    return zabbix_on_server(ZABBIX_PASSWORD, f"""
found = api("trigger.get", {{"filter": {{"description": [{json.dumps(name)}]}}, "output": ["triggerid"]}})
api("trigger.update", {{"triggerid": found[0]["triggerid"], "status": {status}}})""")


def test_every_check_fails_on_the_fresh_lab_and_passes_once_solved(solved):
    solved.assert_self_test_passed(checks=7)
    assert solved.grid("solved") == {c: "met" for c in AUTOMATED}
    assert set(solved.outcomes("solved").values()) == {"passed"}


def test_an_upgrade_without_a_restart_leaves_the_vulnerable_code_in_service(solved):
    # The package on disk is the fix, the process still runs the old code: the fix is not in service.
    breaking = (f"{APT} --allow-downgrades durand-intranet=1.0-1 && systemctl restart durand-intranet && "
                f"{APT} durand-intranet=1.0-2")
    with solved.broken("srv1", breaking, "systemctl restart durand-intranet"):
        assert solved.grid("not-restarted")["A2.2/CE.7"] == "not_met"
    outcomes = solved.outcomes("not-restarted")
    assert outcomes["test_the_fixed_version_is_installed"] == "passed"
    assert outcomes["test_the_running_intranet_is_the_fixed_version"] == "failed"
    assert "redémarré" in solved.messages("not-restarted")["test_the_running_intranet_is_the_fixed_version"]


def test_a_truncated_log_with_debug_still_on_is_a_disk_that_will_fill_again(solved):
    breaking = (f"sed -i 's/^LOG_LEVEL=.*/LOG_LEVEL=debug/' {DEFAULTS} && systemctl restart durand-intranet && "
                ": > /srv/data/logs/intranet.log")
    restoring = f"sed -i 's/^LOG_LEVEL=.*/LOG_LEVEL=info/' {DEFAULTS} && systemctl restart durand-intranet"
    with solved.broken("srv1", breaking, restoring):
        assert solved.grid("debug-on")["A2.2/CE.9"] == "not_met"
    check = "test_the_data_filesystem_has_room_kept_the_client_files_and_stops_filling"
    assert solved.outcomes("debug-on")[check] == "failed"
    assert "LOG_LEVEL=debug" in solved.messages("debug-on")[check]


def test_space_freed_by_removing_client_files_is_data_lost(solved):
    with solved.broken("srv1", "mv /srv/data/clients /root/clients-mis-de-cote",
                       "mv /root/clients-mis-de-cote /srv/data/clients"):
        assert solved.grid("clients-removed")["A2.2/CE.9"] == "not_met"
    check = "test_the_data_filesystem_has_room_kept_the_client_files_and_stops_filling"
    assert solved.outcomes("clients-removed")[check] == "failed"
    assert "a disparu" in solved.messages("clients-removed")[check]


def test_a_backup_that_only_worked_by_hand_is_not_repaired(solved):
    # The last snapshot is recent (the repair's), but the scheduled job fails again: the backup is not back.
    breaking = (f"sed -i 's#/srv/restic/srv1#/srv/restic/svr1#' {BACKUP_ENV} && "
                "(systemctl start sauvegarde-donnees.service || true)")
    restoring = (f"sed -i 's#/srv/restic/svr1#/srv/restic/srv1#' {BACKUP_ENV} && "
                 "systemctl start sauvegarde-donnees.service")
    with solved.broken("srv1", breaking, restoring):
        assert solved.grid("backup-broken")["A2.2/CE.9"] == "not_met"
    assert solved.outcomes("backup-broken")["test_the_scheduled_backup_works_and_restores"] == "failed"


def test_a_disabled_trigger_is_silence_not_resolution(solved):
    with solved.broken("zbx1", trigger_status(SERVICE_TRIGGER, 1), trigger_status(SERVICE_TRIGGER, 0)):
        assert solved.grid("trigger-disabled")["A2.2/CE.9"] == "not_met"
    assert solved.outcomes("trigger-disabled")["test_the_alerts_are_resolved_not_silenced"] == "failed"
    assert "désactivé" in solved.messages("trigger-disabled")["test_the_alerts_are_resolved_not_silenced"]


def test_silencing_the_problem_to_escalate_is_shown_to_the_evaluator_never_a_verdict(solved):
    with solved.broken("zbx1", trigger_status(ESCALATION_TRIGGER, 1), trigger_status(ESCALATION_TRIGGER, 0)):
        assert solved.grid("escalation-silenced") == {c: "met" for c in AUTOMATED}
    assert solved.outcomes("escalation-silenced")["test_the_problem_to_escalate_is_left_for_the_administrator"] \
        == "failed"


def test_a_quieter_log_level_than_info_is_another_correct_fix(solved):
    with solved.broken("srv1", f"sed -i 's/^LOG_LEVEL=.*/LOG_LEVEL=warning/' {DEFAULTS} && "
                               "systemctl restart durand-intranet",
                       f"sed -i 's/^LOG_LEVEL=.*/LOG_LEVEL=info/' {DEFAULTS} && systemctl restart durand-intranet"):
        solved.grid("warning-level")
    check = "test_the_data_filesystem_has_room_kept_the_client_files_and_stops_filling"
    assert solved.outcomes("warning-level")[check] == "passed"
    assert solved.outcomes("warning-level")["test_the_running_intranet_is_the_fixed_version"] == "passed"


def test_a_raised_threshold_silences_the_alert_it_does_not_resolve_it(solved):
    def threshold(percent: int) -> str:
        return zabbix_on_server(ZABBIX_PASSWORD, f"""
found = api("trigger.get", {{"filter": {{"description": [{json.dumps(DATA_TRIGGER)}]}}, "output": ["triggerid"]}})
api("trigger.update", {{"triggerid": found[0]["triggerid"],
                        "expression": "last(/srv1/vfs.fs.size[/srv/data,pused])>{percent}"}})""")
    with solved.broken("zbx1", threshold(99), threshold(80)):
        assert solved.grid("threshold-raised")["A2.2/CE.9"] == "not_met"
    assert "a été modifié" in solved.messages("threshold-raised")["test_the_alerts_are_resolved_not_silenced"]


def test_an_intranet_started_by_hand_is_not_the_service_restored(solved):
    by_hand = ("systemctl stop durand-intranet && (setsid nohup /usr/bin/python3 /usr/lib/durand-intranet/intranet.py "
               ">/dev/null 2>&1 &) && sleep 2")
    with solved.broken("srv1", by_hand, "pkill -f '[/]usr/lib/durand-intranet/intranet.py'; sleep 1; "
                                        "systemctl start durand-intranet"):
        assert solved.grid("by-hand")["A2.2/CE.9"] == "not_met"
    assert solved.outcomes("by-hand")["test_the_intranet_answers_and_is_enabled"] == "failed"


def test_a_log_sent_to_dev_null_hides_the_cause(solved):
    log = "/srv/data/logs/intranet.log"
    breaking = (f"sed -i 's/^LOG_LEVEL=.*/LOG_LEVEL=debug/' {DEFAULTS} && ln -sf /dev/null {log} && "
                "systemctl restart durand-intranet")
    restoring = (f"sed -i 's/^LOG_LEVEL=.*/LOG_LEVEL=info/' {DEFAULTS} && rm -f {log} && "
                 f"install -o intranet -g intranet -m 644 /dev/null {log} && systemctl restart durand-intranet")
    with solved.broken("srv1", breaking, restoring):
        assert solved.grid("dev-null")["A2.2/CE.9"] == "not_met"
    check = "test_the_data_filesystem_has_room_kept_the_client_files_and_stops_filling"
    assert solved.outcomes("dev-null")[check] == "failed"


def test_client_files_moved_off_the_data_behind_a_symlink_are_not_backed_up(solved):
    with solved.broken("srv1", "mv /srv/data/clients /root/ailleurs && ln -s /root/ailleurs /srv/data/clients",
                       "rm /srv/data/clients && mv /root/ailleurs /srv/data/clients"):
        assert solved.grid("clients-symlink")["A2.2/CE.9"] == "not_met"
    assert solved.outcomes("clients-symlink")["test_the_scheduled_backup_works_and_restores"] == "failed"
