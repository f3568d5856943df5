"""bloc1-configuration (A1.2) for real: the self-test, then partial states each breaking exactly one criterion."""
from __future__ import annotations

import pytest

from .conftest import solved_lab_fixture

pytestmark = pytest.mark.scenario_cycle
solved = solved_lab_fixture("bloc1-configuration")
AUTOMATED = ("A1.2/CE.2", "A1.2/CE.4", "A1.2/CE.5", "A1.2/CE.6")


def anonymous_reads(heuristics: str) -> str:
    return ("printf 'dn: CN=Directory Service,CN=Windows NT,CN=Services,CN=Configuration,DC=durand,DC=test\\n"
            f"changetype: modify\\nreplace: dSHeuristics\\ndSHeuristics: {heuristics}\\n' "
            "| ldbmodify -H /var/lib/samba/private/sam.ldb")


def high_contrast(value: str) -> str:
    return ("su - dmoreau@durand.test -s /bin/sh -c "
            f"'dbus-run-session -- gsettings set org.gnome.desktop.a11y.interface high-contrast {value}'")


def test_every_check_fails_on_the_fresh_lab_and_passes_once_solved(solved):
    solved.assert_self_test_passed(checks=13)
    assert solved.grid("solved") == {c: "met" for c in AUTOMATED}


def test_a_directory_reopened_to_anonymous_reads_fails_the_security_criterion_only(solved):
    with solved.broken("dc1", anonymous_reads("0000002"), anonymous_reads("0000000")):
        assert solved.grid("anonymous") == solved.only_not_met("A1.2/CE.6", AUTOMATED)


def test_high_contrast_turned_off_fails_the_accessibility_criterion_only(solved):
    with solved.broken("client1", high_contrast("false"), high_contrast("true")):
        assert solved.grid("no-contrast") == solved.only_not_met("A1.2/CE.5", AUTOMATED)


def test_a_member_missing_from_the_requested_group_fails_the_identities_criterion_only(solved):
    with solved.broken("dc1", "samba-tool group removemembers GG_BureauEtudes fpetit",
                       "samba-tool group addmembers GG_BureauEtudes fpetit"):
        assert solved.grid("member-missing") == solved.only_not_met("A1.2/CE.2", AUTOMATED)
