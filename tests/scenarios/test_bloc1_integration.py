"""bloc1-integration (A1.1) for real: the self-test, then partial states each breaking exactly one criterion."""
from __future__ import annotations

import pytest

from .conftest import solved_lab_fixture

pytestmark = pytest.mark.scenario_cycle
solved = solved_lab_fixture("bloc1-integration")
AUTOMATED = ("A1.1/CE.1", "A1.1/CE.2", "A1.1/CE.3", "A1.1/CE.4", "A1.1/CE.5")


def test_every_check_fails_on_the_fresh_lab_and_passes_once_solved(solved):
    solved.assert_self_test_passed(checks=14)
    assert solved.grid("solved") == {c: "met" for c in AUTOMATED}


def test_a_disabled_account_fails_the_domain_logon_only(solved):
    with solved.broken("dc1", "samba-tool user disable amartin", "samba-tool user enable amartin"):
        assert solved.grid("user-disabled") == solved.only_not_met("A1.1/CE.4", AUTOMATED)
    refused = [e for e in solved.evidence("user-disabled", "A1.1/CE.4") if e["action"].startswith("ssh logon")]
    assert refused and refused[0]["detail"].startswith("refused")


def test_a_stopped_firewall_fails_the_security_baseline_only(solved):
    with solved.broken("client1", "systemctl stop nftables", "systemctl start nftables"):
        assert solved.grid("firewall-stopped") == solved.only_not_met("A1.1/CE.5", AUTOMATED)


def test_a_time_zone_left_in_utc_fails_the_installation_criterion_only(solved):
    with solved.broken("client1", "timedatectl set-timezone Etc/UTC", "timedatectl set-timezone Europe/Paris"):
        assert solved.grid("utc") == solved.only_not_met("A1.1/CE.3", AUTOMATED)
