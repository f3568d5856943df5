#!/bin/sh
# GLPI put in order once the agents have reported, through GLPI's API as the technician's browser would:
# - pc1's hand-entered record: its purchase and warranty information moves to the record the agent made, and the
#   old record goes to the trash (if GLPI linked the inventory to the old record itself, nothing is to be done);
# - the scrapped pc-compta-2015 goes to the trash.
set -eu
python3 - <<'PY'
import os

from lab_glpi import session  # the glpi role's client of GLPI's API on loopback (labs/roles/lab_glpi.py)

api = session(os.environ["GLPI_USER_TOKEN"])
computers = api("GET", "Computer?range=0-999")
by_name = {}
for computer in computers:
    by_name.setdefault(computer["name"], []).append(computer)
for old in by_name.get("pc-compta-2015", []):
    api("DELETE", f"Computer/{old['id']}")
pc1 = by_name.get("pc1", [])
inventoried = [c for c in pc1 if c.get("last_inventory_update")]
by_hand = [c for c in pc1 if not c.get("last_inventory_update")]
if inventoried and by_hand:
    target = inventoried[0]["id"]
    old = api("GET", f"Computer/{by_hand[0]['id']}?with_infocoms=true")
    infocom = old.get("_infocoms") or {}
    kept = {k: infocom[k] for k in ("buy_date", "use_date", "warranty_date", "warranty_duration", "value",
                                    "order_number", "bill", "comment") if infocom.get(k) not in (None, "")}
    if kept:
        current = api("GET", f"Computer/{target}?with_infocoms=true").get("_infocoms") or {}
        if current:
            api("PUT", f"Infocom/{current['id']}", {"input": kept})
        else:
            api("POST", "Infocom", {"input": {"itemtype": "Computer", "items_id": target, **kept}})
    api("DELETE", f"Computer/{by_hand[0]['id']}")
api("GET", "killSession")
PY
