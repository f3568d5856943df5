"""bloc1-integration (A1.1) for real: the self-test, then partial states each breaking exactly one criterion."""
from __future__ import annotations

import pytest

from .conftest import solved_lab_fixture

pytestmark = pytest.mark.scenario_cycle
solved = solved_lab_fixture("bloc1-integration")
AUTOMATED = ("A1.1/CE.1", "A1.1/CE.2", "A1.1/CE.3", "A1.1/CE.4", "A1.1/CE.5")


def only(not_met: str) -> dict[str, str]:
    return {c: "not_met" if c == not_met else "met" for c in AUTOMATED}


def test_every_check_fails_on_the_fresh_lab_and_passes_once_solved(solved):
    _lab, result = solved
    assert result.returncode == 0, result.stdout + result.stderr
    assert "bloc1-integration: 14 of 14 checks flipped from failed to passed" in result.stdout


def test_the_solved_lab_meets_every_automated_criterion(solved):
    lab, _ = solved
    assert lab.grid("solved") == {c: "met" for c in AUTOMATED}


def test_a_disabled_account_fails_the_domain_logon_only(solved):
    lab, _ = solved
    lab.run("dc1", "samba-tool user disable amartin")
    try:
        assert lab.grid("user-disabled") == only("A1.1/CE.4")
        refused = [e for e in lab.evidence("user-disabled", "A1.1/CE.4") if e["action"].startswith("ssh logon")]
        assert refused and refused[0]["detail"].startswith("refused")
    finally:
        lab.run("dc1", "samba-tool user enable amartin")


def test_a_stopped_firewall_fails_the_security_baseline_only(solved):
    lab, _ = solved
    lab.run("client1", "systemctl stop nftables")
    try:
        assert lab.grid("firewall-stopped") == only("A1.1/CE.5")
    finally:
        lab.run("client1", "systemctl start nftables")


def test_a_time_zone_left_in_utc_fails_the_installation_criterion_only(solved):
    lab, _ = solved
    lab.run("client1", "timedatectl set-timezone Etc/UTC")
    try:
        assert lab.grid("utc") == only("A1.1/CE.3")
    finally:
        lab.run("client1", "timedatectl set-timezone Europe/Paris")
