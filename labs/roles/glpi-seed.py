#!/usr/bin/python3
"""Seed GLPI with the scenario's `seed.glpi` (LAB_SEED_JSON): ITIL categories, groups, computers and their financial
information, through GLPI's own REST API on this machine, as a user would enter them. Shared by the glpi role and
the tests' double (the same calls reach both). Idempotent: what exists by name is left as it is."""
import json
import os
import ssl
import sys
import urllib.error
import urllib.request

API = "https://127.0.0.1/apirest.php"
seed = (json.loads(os.environ.get("LAB_SEED_JSON") or "{}").get("glpi") or {})
context = ssl._create_unverified_context()  # this machine's own certificate, on loopback


def call(method, path, body=None, session=None):
    # No App-Token from loopback: GLPI picks the API clients by the caller's IP, and its own "localhost" client has
    # none (a token sent there is refused: src/Api/API.php, checkAppToken).
    headers = {"Content-Type": "application/json"}
    if session:
        headers["Session-Token"] = session
    else:
        headers["Authorization"] = "user_token " + os.environ["LAB_GLPI_USER_TOKEN"]
    request = urllib.request.Request(f"{API}/{path}", method=method, headers=headers,
                                     data=json.dumps(body).encode() if body is not None else None)
    try:
        with urllib.request.urlopen(request, context=context, timeout=30) as answer:
            return json.loads(answer.read() or b"null")
    except urllib.error.HTTPError as exc:
        sys.exit(f"glpi-seed: {method} {path}: HTTP {exc.code} {exc.read()[:300]!r}")


def names(session, itemtype):
    """Every existing item's name (trash included: a seeded item the candidate deleted stays deleted)."""
    found = set()
    for deleted in ("false", "true"):
        start = 0
        while True:
            page = call("GET", f"{itemtype}?range={start}-{start + 199}&is_deleted={deleted}", session=session)
            found |= {row.get("name") for row in page or []}
            if len(page or []) < 200:
                break
            start += 200
    return found


if not seed:
    sys.exit(0)
session = call("GET", "initSession")["session_token"]
for itemtype, wanted in (("ITILCategory", seed.get("categories", [])), ("Group", seed.get("groups", []))):
    existing = names(session, itemtype)
    for name in wanted:
        if name not in existing:
            call("POST", itemtype, {"input": {"name": name, "entities_id": 0, "is_recursive": 1}}, session)
existing = names(session, "Computer")
for computer in seed.get("computers", []):
    if computer["name"] in existing:
        continue
    fields = {"name": computer["name"], "entities_id": 0}
    fields.update({k: computer[k] for k in ("serial", "comment") if computer.get(k)})
    computer_id = call("POST", "Computer", {"input": fields}, session)["id"]
    infocom = {"itemtype": "Computer", "items_id": computer_id, "buy_date": computer.get("buy_date"),
               "warranty_date": computer.get("warranty_date"), "warranty_duration": computer.get("warranty_months")}
    infocom = {k: v for k, v in infocom.items() if v is not None}
    if len(infocom) > 2:
        call("POST", "Infocom", {"input": infocom}, session)
call("GET", "killSession", session=session)
print(f"glpi-seed: {len(seed.get('categories', []))} categories, {len(seed.get('groups', []))} groups, "
      f"{len(seed.get('computers', []))} computers")
