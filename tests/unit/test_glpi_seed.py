"""The GLPI seed (labs/roles/glpi-seed.py) through GLPI's API, against the double: everything the scenario declares
is entered once, and a second run (a re-provisioned machine) adds nothing."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from labgrader.remote.evidence import Recorder
from labgrader.remote.glpi import Glpi

from ..glpi_double.server import GlpiDouble

SEED = Path(__file__).resolve().parents[2] / "labs" / "roles" / "glpi-seed.py"
TOKEN = "Sd7Fg2Hj9Kl4Mn6Bv1Cx3Zq8Wr5Ty0Ui2Op4As6D"
GLPI_SEED = {"entities": ["Atelier"], "categories": ["Matériel"], "groups": ["Comptabilité"],
             "users": [{"name": "mdupont", "firstname": "Marie", "realname": "Dupont", "groups": ["Comptabilité"]}],
             "computers": [{"name": "pc1", "serial": "S-1", "entity": "Atelier", "buy_date": "2019-03-12",
                            "warranty_date": "2019-03-12", "warranty_months": 36},
                           {"name": "pc9", "comment": "sans facture"}]}


def test_the_seed_enters_what_the_scenario_declares_once(tmp_path):
    double = GlpiDouble({"user_token": TOKEN, "enabled_inventory": True})
    base = double.start()
    try:
        env = {**os.environ, "LAB_GLPI_API": f"{base}/apirest.php", "LAB_GLPI_USER_TOKEN": TOKEN,
               "PYTHONPATH": str(SEED.parent),
               "LAB_SEED_JSON": json.dumps({"users": [], "glpi": GLPI_SEED})}
        for _ in range(2):
            run = subprocess.run([sys.executable, str(SEED)], env=env, capture_output=True, text=True, timeout=60)
            assert run.returncode == 0, run.stderr
        glpi = Glpi("glpi1", f"{base}/apirest.php", user_token=TOKEN, recorder=Recorder())
        entities = {e["name"]: e["id"] for e in glpi.items("Entity")}
        computers = {c["name"]: c for c in glpi.items("Computer")}
        assert sorted(computers) == ["pc1", "pc9"] and computers["pc1"]["entities_id"] == entities["Atelier"]
        pc1 = glpi.get("Computer", computers["pc1"]["id"], with_infocoms=True)
        assert (pc1["serial"], pc1["_infocoms"]["buy_date"], pc1["_infocoms"]["warranty_duration"]) == (
            "S-1", "2019-03-12", 36)
        assert glpi.get("Computer", computers["pc9"]["id"], with_infocoms=True)["_infocoms"] == []
        assert [c["name"] for c in glpi.items("ITILCategory")] == ["Matériel"]
        user = next(u for u in glpi.items("User") if u["name"] == "mdupont")
        assert (user["firstname"], user["realname"]) == ("Marie", "Dupont")
        group = next(g for g in glpi.items("Group") if g["name"] == "Comptabilité")
        memberships = [m for m in glpi.items("Group_User") if m["users_id"] == user["id"]]
        assert [m["groups_id"] for m in memberships] == [group["id"]]
        glpi.close()
    finally:
        double.stop()
