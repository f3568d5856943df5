#!/bin/sh
# Proof of the return to nominal in the supervision: srv1's values asked now, then its three problems resolved
# (bounded wait); the NAS's disk problem stays open, escalated to the administrator rather than "fixed".
set -eu
python3 - <<'PY'
import os
import time
from lab_zabbix import call  # written by the zabbix role (labs/roles/zabbix/provision.sh)

RESOLVE_WAIT_S = 180
RESOLVED = ["/srv/data rempli à plus de 80 %", "durand-intranet ne répond pas sur le port 8080",
            "Aucune sauvegarde réussie de /srv/data depuis plus de 10 minutes"]
ESCALATED = "Disque du NAS : secteurs réalloués sur sda"


token = call("user.login", {"username": "Admin", "password": os.environ["ZABBIX_ADMIN_PASSWORD"]})
triggers = {t["description"]: t["triggerid"] for t in call(
    "trigger.get", {"filter": {"description": RESOLVED + [ESCALATED]}, "output": ["description"]}, token)}
items = call("item.get", {"host": "srv1", "filter": {"type": 0}, "output": ["itemid"]}, token)
call("task.create", [{"type": 6, "request": {"itemid": i["itemid"]}} for i in items], token)
began = time.monotonic()
while True:
    open_ = {p["objectid"] for p in call("problem.get", {"objectids": list(triggers.values()),
                                                         "output": ["objectid"]}, token)}
    still = [name for name in RESOLVED if triggers[name] in open_]
    if not still:
        break
    if time.monotonic() - began > RESOLVE_WAIT_S:
        raise SystemExit(f"problems still open after {RESOLVE_WAIT_S} s: {'; '.join(still)}")
    time.sleep(2)
if triggers[ESCALATED] not in open_:
    raise SystemExit(f"the escalated problem « {ESCALATED} » is no longer open")
print(f"srv1's {len(RESOLVED)} problems resolved after {time.monotonic() - began:.0f} s; "
      f"« {ESCALATED} » still open (escalated)")
PY
