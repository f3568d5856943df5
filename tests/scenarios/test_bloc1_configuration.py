"""bloc1-configuration (A1.2) for real: the self-test, then partial states each breaking exactly one criterion."""
from __future__ import annotations

import pytest

from .conftest import solved_lab_fixture

pytestmark = pytest.mark.scenario_cycle
solved = solved_lab_fixture("bloc1-configuration")
AUTOMATED = ("A1.2/CE.2", "A1.2/CE.4", "A1.2/CE.5", "A1.2/CE.6")
SAM = "/var/lib/samba/private/sam.ldb"
ANONYMOUS_READS = ("printf 'dn: CN=Directory Service,CN=Windows NT,CN=Services,CN=Configuration,DC=durand,DC=test\\n"
                   "changetype: modify\\nreplace: dSHeuristics\\ndSHeuristics: {}\\n' | ldbmodify -H " + SAM)


def only(not_met: str) -> dict[str, str]:
    return {c: "not_met" if c == not_met else "met" for c in AUTOMATED}


def test_every_check_fails_on_the_fresh_lab_and_passes_once_solved(solved):
    _lab, result = solved
    assert result.returncode == 0, result.stdout + result.stderr
    assert "bloc1-configuration: 13 of 13 checks flipped from failed to passed" in result.stdout


def test_the_solved_lab_meets_every_automated_criterion(solved):
    lab, _ = solved
    assert lab.grid("solved") == {c: "met" for c in AUTOMATED}


def test_a_directory_reopened_to_anonymous_reads_fails_the_security_criterion_only(solved):
    lab, _ = solved
    lab.run("dc1", ANONYMOUS_READS.format("0000002"))
    try:
        assert lab.grid("anonymous") == only("A1.2/CE.6")
    finally:
        lab.run("dc1", ANONYMOUS_READS.format("0000000"))


def test_high_contrast_turned_off_fails_the_accessibility_criterion_only(solved):
    lab, _ = solved
    setting = ("su - dmoreau@durand.test -s /bin/sh -c "
               "'dbus-run-session -- gsettings set org.gnome.desktop.a11y.interface high-contrast {}'")
    lab.run("client1", setting.format("false"))
    try:
        assert lab.grid("no-contrast") == only("A1.2/CE.5")
    finally:
        lab.run("client1", setting.format("true"))


def test_a_member_missing_from_the_requested_group_fails_the_identities_criterion_only(solved):
    lab, _ = solved
    lab.run("dc1", "samba-tool group removemembers GG_BureauEtudes fpetit")
    try:
        assert lab.grid("member-missing") == only("A1.2/CE.2")
    finally:
        lab.run("dc1", "samba-tool group addmembers GG_BureauEtudes fpetit")
