"""bloc1-automatisation (A1.3) for real: the self-test, then partial states each breaking exactly one criterion."""
from __future__ import annotations

import pytest

from .conftest import solved_lab_fixture

pytestmark = pytest.mark.scenario_cycle
solved = solved_lab_fixture("bloc1-automatisation")
AUTOMATED = ("A1.3/CE.1", "A1.3/CE.2", "A1.3/CE.4")
SCRIPT = "/srv/automatisation/creer-comptes.sh"
GUID = ("$(samba-tool gpo listall | awk '/^GPO/ {g=$3} "
        "/display name *: Restriction connexion distante Atelier/ {print g}')")
OU = "OU=Postes,OU=Durand,DC=durand,DC=test"
CREDS = "-U Administrator --password='Adm1n-Durand-2026!'"
def relink(option: str = "") -> str:
    """setlink refuses a GPO already linked: drop the link, then link it again (disabled with --disable)."""
    return (f'g="{GUID}"; samba-tool gpo dellink "{OU}" "$g" {CREDS} && '
            f'samba-tool gpo setlink "{OU}" "$g" {option} {CREDS}')


def test_every_check_fails_on_the_fresh_lab_and_passes_once_solved(solved):
    solved.assert_self_test_passed(checks=6)
    assert solved.grid("solved") == {c: "met" for c in AUTOMATED}


def test_a_disabled_gpo_link_fails_the_gpo_criterion_only(solved):
    with solved.broken("dc1", relink("--disable"), relink()):
        assert solved.grid("link-disabled") == solved.only_not_met("A1.3/CE.1", AUTOMATED)


def test_an_unquoted_expansion_fails_the_good_practice_criterion_only(solved):
    with solved.broken("dc1", f"cp {SCRIPT} /root/script.bak && echo 'echo Fin du traitement pour $USER' >> {SCRIPT}",
                       f"cp /root/script.bak {SCRIPT}"):
        assert solved.grid("shellcheck") == solved.only_not_met("A1.3/CE.2", AUTOMATED)


def test_a_script_that_fails_when_replayed_fails_the_reproducibility_criterion_only(solved):
    duplicate = "samba-tool user create doublon \"Doublon-Durand-2026!\""
    with solved.broken("dc1", f"cp {SCRIPT} /root/script.bak && echo '{duplicate}' >> {SCRIPT}",
                       f"cp /root/script.bak {SCRIPT} && samba-tool user delete doublon"):
        assert solved.grid("not-rejouable") == solved.only_not_met("A1.3/CE.4", AUTOMATED)
