"""bloc2-inventaire (A2.1, its inventory part) for real, on the `double` profile: glpi1 serves this project's GLPI
double (tests/glpi_double/: GLPI's archive cannot be had here), and pc1, pc2 run Debian's real inventory agent.
The self-test first (every check fails on the fresh lab, passes once the agents have reported and GLPI is put in
order), then near misses a candidate makes (the check must fail) and another correct shape (it must pass),
asserted check by check. Every change is made through GLPI's API or on the machine, and undone."""
from __future__ import annotations

import json
import os

import pytest

from .conftest import glpi_on_server, solved_lab_fixture

pytestmark = pytest.mark.scenario_cycle
# LABGRADER_TEST_GLPI_PROFILE=embedded (with LABGRADER_GLPI_ARCHIVE…, docs/glpi.md) runs it all on a real GLPI.
solved = solved_lab_fixture("bloc2-inventaire", profile=os.environ.get("LABGRADER_TEST_GLPI_PROFILE", "double"))
# scenarios/bloc2-inventaire.yaml, lab.secrets
USER_TOKEN = "Kq3vN8xW2mZr7TbY5cLd9HfJ4pS6gA1eUo0iVwXn"
IDENTITY = "test_each_machine_is_in_glpi_once_as_itself_recently_inventoried"
HARDWARE = "test_each_record_describes_the_real_hardware"
SOFTWARE = "test_each_record_lists_the_software_really_installed"
PHANTOM = "test_no_computer_outside_the_parc_is_left"
DATES = "test_known_purchase_and_warranty_dates_are_kept"
AUTOMATED = {"A2.1/CE.1": "evaluator", "A2.1/CE.6": "met"}
# One run of a workstation's agent, to the server its configuration names (solution/poste.sh).
AGENT = "fusioninventory-agent --force --no-task=deploy,esx,collect,wakeonlan,netdiscovery,netinventory >/dev/null"
# The computers of a name, the trash included.
FIND = """def named(name, deleted=False):
    rows = api("GET", "Computer?range=0-999&is_deleted=" + ("true" if deleted else "false"))
    return [c for c in rows if c["name"] == name]
"""


def on_glpi(code: str) -> str:
    return glpi_on_server(USER_TOKEN, FIND + code)


def test_every_check_fails_on_the_fresh_lab_and_passes_once_solved(solved):
    solved.assert_self_test_passed(checks=4)
    # A2.1/CE.1 (the supervision) is bloc2-supervision's: here the evaluator's.
    assert solved.grid("solved") == AUTOMATED
    assert set(solved.outcomes("solved").values()) == {"passed"}
    evidence = "\n".join(e["detail"] for e in solved.evidence("solved", "A2.1/CE.7"))
    assert "pc1" in evidence and "achat 2019-03-12" in evidence and "hors garantie" in evidence


def test_a_workstation_typed_in_by_hand_under_its_name_is_not_inventoried(solved):
    # pc2's record made by its agent sent to the trash, and pc2 typed in by hand with its name and a serial.
    hand = on_glpi('for c in named("pc2"): api("DELETE", f"Computer/{c[\'id\']}")\n'
                   'api("POST", "Computer", {"input": {"name": "pc2", "serial": "DUR-CPT-2024-03", "entities_id": 0}})')
    undo = on_glpi('for c in named("pc2"): api("DELETE", f"Computer/{c[\'id\']}?force_purge=true")\n'
                   'for c in named("pc2", deleted=True):\n'
                   '    if c.get("last_inventory_update"): api("PUT", f"Computer/{c[\'id\']}", {"input": {"is_deleted": 0}})\n'
                   '    else: api("DELETE", f"Computer/{c[\'id\']}?force_purge=true")')
    with solved.broken("glpi1", hand, undo):
        assert solved.grid("by-hand") == {"A2.1/CE.1": "evaluator", "A2.1/CE.6": "not_met"}
    outcomes, messages = solved.outcomes("by-hand"), solved.messages("by-hand")
    assert (outcomes[IDENTITY], outcomes[HARDWARE], outcomes[SOFTWARE]) == ("failed", "failed", "failed")
    assert "pc2 : la fiche GLPI" in messages[IDENTITY] and "ne porte ni l'UUID ni le numéro de série" in messages[IDENTITY]
    assert "pc1" not in messages[IDENTITY]


def test_the_old_record_left_beside_the_inventoried_one_is_a_duplicate(solved):
    # The hand-entered pc1 never merged: the agent's record and the old one side by side.
    with solved.broken("glpi1", on_glpi('api("POST", "Computer", {"input": {"name": "pc1", "serial": "DUR-ACC-2019-01"}})'),
                       on_glpi('for c in named("pc1"):\n'
                               '    if not c.get("last_inventory_update"): api("DELETE", f"Computer/{c[\'id\']}?force_purge=true")')):
        solved.grid("duplicate")
    assert solved.outcomes("duplicate")[IDENTITY] == "failed"
    assert "pc1 figure 2 fois dans GLPI" in solved.messages("duplicate")[IDENTITY]


def test_a_scrapped_machine_left_in_the_inventory_is_a_phantom(solved):
    restore = on_glpi('for c in named("pc-compta-2015", deleted=True): api("PUT", f"Computer/{c[\'id\']}", '
                      '{"input": {"is_deleted": 0}})')
    trash = on_glpi('for c in named("pc-compta-2015"): api("DELETE", f"Computer/{c[\'id\']}")')
    with solved.broken("glpi1", restore, trash):
        solved.grid("phantom")
    assert solved.outcomes("phantom")[PHANTOM] == "failed"
    assert "pc-compta-2015" in solved.messages("phantom")[PHANTOM]


def test_software_installed_after_the_inventory_makes_it_stale(solved):
    # A package installed on pc1 once its agent had reported (a local .deb: the lab has no Internet).
    build = ("set -e; d=$(mktemp -d); mkdir -p $d/DEBIAN; printf 'Package: outil-compta\\nVersion: 1.0\\n"
             "Architecture: all\\nMaintainer: lab <lab@durand.test>\\nDescription: test\\n' > $d/DEBIAN/control; "
             "dpkg-deb --build $d /tmp/outil-compta.deb >/dev/null; dpkg -i /tmp/outil-compta.deb >/dev/null")
    with solved.broken("pc1", build, "dpkg -r outil-compta >/dev/null"):
        solved.grid("software-after")
    assert solved.outcomes("software-after")[SOFTWARE] == "failed"
    assert "absents de GLPI : outil-compta" in solved.messages("software-after")[SOFTWARE]


def test_purchase_dates_lost_in_the_merge_are_seen(solved):
    # pc1's financial information deleted with the old record instead of moved to the agent's record.
    drop = on_glpi('c = api("GET", f"Computer/{named(\'pc1\')[0][\'id\']}?with_infocoms=true")\n'
                   'open("/root/infocom.json", "w").write(json.dumps(c["_infocoms"]))\n'
                   'api("DELETE", f"Infocom/{c[\'_infocoms\'][\'id\']}?force_purge=true")')
    put_back = on_glpi('i = json.load(open("/root/infocom.json"))\n'
                       'api("POST", "Infocom", {"input": {k: i[k] for k in ("itemtype", "items_id", "buy_date", '
                       '"warranty_date", "warranty_duration")}})')
    with solved.broken("glpi1", drop, put_back):
        solved.grid("dates-lost")
    assert solved.outcomes("dates-lost")[DATES] == "failed"
    assert "pc1 (achat le 2019-03-12, garantie de 36 mois" in solved.messages("dates-lost")[DATES]


def test_a_scrapped_machines_record_reused_for_a_workstation_mixes_two_machines(solved):
    # pc2's record purged, the scrapped machine's taken out of the trash and renamed pc2, then pc2's agent run:
    # GLPI's default rule "Computer update (by name)" feeds the old record, which keeps the old serial and dates.
    reuse = on_glpi('for c in named("pc2"): api("DELETE", f"Computer/{c[\'id\']}?force_purge=true")\n'
                    'old = named("pc-compta-2015", deleted=True)[0]\n'
                    'api("PUT", f"Computer/{old[\'id\']}", {"input": {"is_deleted": 0, "name": "pc2"}})')
    undo = on_glpi('for c in named("pc2"): api("DELETE", f"Computer/{c[\'id\']}?force_purge=true")\n'
                   'old = api("POST", "Computer", {"input": {"name": "pc-compta-2015", "serial": "DUR-CPT-2015-02"}})\n'
                   'api("DELETE", f"Computer/{old[\'id\']}")')
    solved.run("glpi1", reuse)
    solved.run("pc2", AGENT)
    try:
        solved.grid("reused")
    finally:
        solved.run("glpi1", undo)
        solved.run("pc2", AGENT)
    outcomes, messages = solved.outcomes("reused"), solved.messages("reused")
    assert (outcomes[IDENTITY], outcomes[PHANTOM]) == ("failed", "failed")
    assert "celui de pc-compta-2015 dans l'ancien inventaire" in messages[IDENTITY]
    assert "pc-compta-2015, renommé pc2" in messages[PHANTOM]
    assert solved.grid("reused-undone") == AUTOMATED


def test_another_correct_shape_passes(solved):
    # pc2 inventoried again through GLPI's root URL by address (index.php hands an agent's POST to the native
    # inventory), then renamed to its FQDN in GLPI; the scrapped machine purged rather than left in the trash.
    rename = on_glpi('c = named("pc2")[0]\napi("PUT", f"Computer/{c[\'id\']}", {"input": {"name": "pc2.durand.test"}})')
    agent = AGENT.replace("fusioninventory-agent", "fusioninventory-agent --server http://192.168.59.10/")
    purge = on_glpi('for c in named("pc-compta-2015", deleted=True): '
                    'api("DELETE", f"Computer/{c[\'id\']}?force_purge=true")')
    solved.run("pc2", agent)
    solved.run("glpi1", rename)
    solved.run("glpi1", purge)
    assert solved.grid("other-shape") == AUTOMATED, json.dumps(solved.messages("other-shape"), ensure_ascii=False)
