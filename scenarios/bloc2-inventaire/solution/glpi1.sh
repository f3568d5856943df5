#!/bin/sh
# GLPI put in order once the agents have reported, through GLPI's API as the technician's browser would:
# - pc1's hand-entered record: its purchase and warranty information moves to the record the agent made, and the
#   old record goes to the trash (if GLPI linked the inventory to the old record itself, nothing is to be done);
# - the scrapped pc-compta-2015 goes to the trash.
set -eu
python3 - <<'PY'
import json, os, ssl, urllib.request

API = "https://127.0.0.1/apirest.php"
context = ssl._create_unverified_context()  # this machine's own certificate, on loopback


def call(method, path, body=None, session=None):
    # No App-Token from loopback: GLPI picks the API clients by the caller's IP, and its own "localhost" client has
    # none (a token sent there is refused: src/Api/API.php, checkAppToken).
    headers = {"Content-Type": "application/json"}
    if session:
        headers["Session-Token"] = session
    else:
        headers["Authorization"] = "user_token " + os.environ["GLPI_USER_TOKEN"]
    request = urllib.request.Request(f"{API}/{path}", method=method, headers=headers,
                                     data=json.dumps(body).encode() if body is not None else None)
    with urllib.request.urlopen(request, context=context, timeout=30) as answer:
        return json.loads(answer.read() or b"null")


session = call("GET", "initSession")["session_token"]
computers = call("GET", "Computer?range=0-999", session=session)
by_name = {}
for computer in computers:
    by_name.setdefault(computer["name"], []).append(computer)
for old in by_name.get("pc-compta-2015", []):
    call("DELETE", f"Computer/{old['id']}", session=session)
pc1 = by_name.get("pc1", [])
inventoried = [c for c in pc1 if c.get("last_inventory_update")]
by_hand = [c for c in pc1 if not c.get("last_inventory_update")]
if inventoried and by_hand:
    target = inventoried[0]["id"]
    old = call("GET", f"Computer/{by_hand[0]['id']}?with_infocoms=true", session=session)
    infocom = old.get("_infocoms") or {}
    kept = {k: infocom[k] for k in ("buy_date", "use_date", "warranty_date", "warranty_duration", "value",
                                    "order_number", "bill", "comment") if infocom.get(k) not in (None, "")}
    if kept:
        current = call("GET", f"Computer/{target}?with_infocoms=true", session=session).get("_infocoms") or {}
        if current:
            call("PUT", f"Infocom/{current['id']}", {"input": kept}, session)
        else:
            call("POST", "Infocom", {"input": {"itemtype": "Computer", "items_id": target, **kept}}, session)
    call("DELETE", f"Computer/{by_hand[0]['id']}", session=session)
call("GET", "killSession", session=session)
PY
