#!/usr/bin/python3
"""Seed GLPI with the scenario's `seed.glpi` (LAB_SEED_JSON): entities, ITIL categories, groups, users and their
groups, computers and their financial information, through GLPI's own REST API on this machine, as a user would
enter them. Shared by the glpi role and the tests' double (the same calls reach both). Idempotent: what exists by
name is left as it is."""
import json
import os
import ssl
import sys
import urllib.error
import urllib.request

API = os.environ.get("LAB_GLPI_API", "https://127.0.0.1/apirest.php")  # another one in this project's tests
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


def ids(session, itemtype):
    """Every existing item's id by name (trash included: a seeded item the candidate deleted stays deleted)."""
    found = {}
    for deleted in ("false", "true"):
        start = 0
        while True:
            page = call("GET", f"{itemtype}?range={start}-{start + 199}&is_deleted={deleted}", session=session)
            found.update({row.get("name"): row["id"] for row in page or []})
            if len(page or []) < 200:
                break
            start += 200
    return found


if not seed:
    sys.exit(0)
session = call("GET", "initSession")["session_token"]


def ensure(itemtype, name, fields):
    """The item's id, made with `fields` if no item of that name exists."""
    existing = ids(session, itemtype)
    if name in existing:
        return existing[name]
    return call("POST", itemtype, {"input": {"name": name, **fields}}, session)["id"]


entities = {name: ensure("Entity", name, {"entities_id": 0}) for name in seed.get("entities", [])}
for name in seed.get("categories", []):
    ensure("ITILCategory", name, {"entities_id": 0, "is_recursive": 1})
groups = {name: ensure("Group", name, {"entities_id": 0, "is_recursive": 1}) for name in seed.get("groups", [])}
for user in seed.get("users", []):
    fresh = user["name"] not in ids(session, "User")
    user_id = ensure("User", user["name"], {"firstname": user.get("firstname", ""), "realname": user.get("realname", "")})
    for group in user.get("groups", []) if fresh else []:
        call("POST", "Group_User", {"input": {"groups_id": groups[group], "users_id": user_id}}, session)
existing = ids(session, "Computer")
for computer in seed.get("computers", []):
    if computer["name"] in existing:
        continue
    fields = {"name": computer["name"], "entities_id": entities.get(computer.get("entity"), 0)}
    fields.update({k: computer[k] for k in ("serial", "comment") if computer.get(k)})
    computer_id = call("POST", "Computer", {"input": fields}, session)["id"]
    infocom = {"itemtype": "Computer", "items_id": computer_id, "buy_date": computer.get("buy_date"),
               "warranty_date": computer.get("warranty_date"), "warranty_duration": computer.get("warranty_months")}
    infocom = {k: v for k, v in infocom.items() if v is not None}
    if len(infocom) > 2:
        call("POST", "Infocom", {"input": infocom}, session)
call("GET", "killSession", session=session)
print("glpi-seed: " + ", ".join(f"{len(seed.get(kind, []))} {kind}"
                                for kind in ("entities", "categories", "groups", "users", "computers")))
