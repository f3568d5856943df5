#!/usr/bin/python3
"""Seed GLPI with the scenario's `seed.glpi` (LAB_SEED_JSON): entities, ITIL categories, groups, users and their
groups, computers and their financial information, through GLPI's own REST API on this machine, as a user would
enter them. Shared by the glpi role and the tests' double (the same calls reach both). Idempotent: what exists by
name is left as it is."""
import json
import os
import shutil
import sys
import sysconfig

# The roles upload lab_glpi.py (role.yaml: files); put it where the lab's other scripts import it from.
UPLOADED = "/var/tmp/labgrader/lab_glpi.py"
if os.path.exists(UPLOADED):
    os.makedirs(sysconfig.get_paths()["purelib"], exist_ok=True)
    shutil.copy(UPLOADED, sysconfig.get_paths()["purelib"])
    sys.path.insert(0, os.path.dirname(UPLOADED))  # this process's path was set before the directory existed
from lab_glpi import GlpiError, session as glpi_session  # noqa: E402


def ids(api, itemtype):
    """Every existing item's id by name (trash included: a seeded item the candidate deleted stays deleted)."""
    found = {}
    for deleted in ("false", "true"):
        start, page = 0, None
        while page is None or len(page) == 200:
            page = api("GET", f"{itemtype}?range={start}-{start + 199}&is_deleted={deleted}") or []
            found.update({row.get("name"): row["id"] for row in page})
            start += 200
    return found


def main(seed, api):
    def ensure(itemtype, name, fields):
        """The item's id, made with `fields` if no item of that name exists."""
        existing = ids(api, itemtype)
        if name in existing:
            return existing[name]
        return api("POST", itemtype, {"input": {"name": name, **fields}})["id"]

    entities = {name: ensure("Entity", name, {"entities_id": 0}) for name in seed.get("entities", [])}
    for name in seed.get("categories", []):
        ensure("ITILCategory", name, {"entities_id": 0, "is_recursive": 1})
    groups = {name: ensure("Group", name, {"entities_id": 0, "is_recursive": 1}) for name in seed.get("groups", [])}
    for user in seed.get("users", []):
        fresh = user["name"] not in ids(api, "User")
        user_id = ensure("User", user["name"], {"firstname": user.get("firstname", ""),
                                                "realname": user.get("realname", "")})
        for group in user.get("groups", []) if fresh else []:
            api("POST", "Group_User", {"input": {"groups_id": groups[group], "users_id": user_id}})
    existing = ids(api, "Computer")
    for computer in seed.get("computers", []):
        if computer["name"] in existing:
            continue
        fields = {"name": computer["name"], "entities_id": entities.get(computer.get("entity"), 0)}
        fields.update({k: computer[k] for k in ("serial", "comment") if computer.get(k)})
        computer_id = api("POST", "Computer", {"input": fields})["id"]
        infocom = {"itemtype": "Computer", "items_id": computer_id, "buy_date": computer.get("buy_date"),
                   "warranty_date": computer.get("warranty_date"),
                   "warranty_duration": computer.get("warranty_months")}
        infocom = {k: v for k, v in infocom.items() if v is not None}
        if len(infocom) > 2:
            api("POST", "Infocom", {"input": infocom})
    api("GET", "killSession")
    print("glpi-seed: " + ", ".join(f"{len(seed.get(kind, []))} {kind}"
                                    for kind in ("entities", "categories", "groups", "users", "computers")))


if __name__ == "__main__":
    wanted = json.loads(os.environ.get("LAB_SEED_JSON") or "{}").get("glpi") or {}
    if wanted:
        try:
            main(wanted, glpi_session(os.environ["LAB_GLPI_USER_TOKEN"]))
        except GlpiError as exc:
            sys.exit(f"glpi-seed: {exc}")
