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


def only(not_met: str) -> dict[str, str]:
    return {c: "not_met" if c == not_met else "met" for c in AUTOMATED}


def test_every_check_fails_on_the_fresh_lab_and_passes_once_solved(solved):
    _lab, result = solved
    assert result.returncode == 0, result.stdout + result.stderr
    assert "bloc1-automatisation: 6 of 6 checks flipped from failed to passed" in result.stdout


def test_the_solved_lab_meets_every_automated_criterion(solved):
    lab, _ = solved
    assert lab.grid("solved") == {c: "met" for c in AUTOMATED}


def test_a_disabled_gpo_link_fails_the_gpo_criterion_only(solved):
    lab, _ = solved
    lab.run("dc1", relink("--disable"))
    try:
        assert lab.grid("link-disabled") == only("A1.3/CE.1")
    finally:
        lab.run("dc1", relink())


def test_an_unquoted_expansion_fails_the_good_practice_criterion_only(solved):
    lab, _ = solved
    lab.run("dc1", f"cp {SCRIPT} /root/script.bak && echo 'echo Fin du traitement pour $USER' >> {SCRIPT}")
    try:
        assert lab.grid("shellcheck") == only("A1.3/CE.2")
    finally:
        lab.run("dc1", f"cp /root/script.bak {SCRIPT}")


def test_a_script_that_fails_when_replayed_fails_the_reproducibility_criterion_only(solved):
    lab, _ = solved
    lab.run("dc1", f"cp {SCRIPT} /root/script.bak && "
                   f"echo 'samba-tool user create doublon \"Doublon-Durand-2026!\"' >> {SCRIPT}")
    try:
        assert lab.grid("not-rejouable") == only("A1.3/CE.4")
    finally:
        lab.run("dc1", f"cp /root/script.bak {SCRIPT} && samba-tool user delete doublon")
