#!/bin/sh
# Every parc server supervised under its name: CPU, memory, its data file system and (srv1) the backup, polled
# every 30 s by its own agent, with triggers that open past the brief's thresholds and close by themselves.
set -eu
python3 - <<'PY'
import os
import subprocess
import time
from lab_zabbix import agent_host, call  # written by the zabbix role (labs/roles/zabbix/provision.sh)

AGENT, FLOAT, UNSIGNED = 0, 0, 3
VALUES_WAIT_S = 150
DATA = {"srv1": "/srv/data", "bkp1": "/srv/restic", "repo1": "/srv/depot"}


def items(host):
    found = [("system.cpu.util", "Utilisation du processeur (%)", FLOAT),
             ("vm.memory.size[pavailable]", "Mémoire vive disponible (%)", FLOAT),
             (f"vfs.fs.size[{DATA[host]},pused]", f"Espace utilisé sur {DATA[host]} (%)", FLOAT)]
    if host == "srv1":
        found += [("sauvegarde.echec", "Dernière sauvegarde de /srv/data en échec (1 = échec)", UNSIGNED),
                  ("sauvegarde.age", "Âge de la dernière sauvegarde réussie de /srv/data (s)", FLOAT)]
    return found


def triggers(host):
    found = [(f"Processeur de {host} saturé depuis 5 minutes", f"min(/{host}/system.cpu.util,5m)>95", 2),
             (f"Mémoire vive de {host} presque épuisée", f"last(/{host}/vm.memory.size[pavailable])<10", 3),
             (f"{DATA[host]} de {host} rempli à plus de 80 %", f"last(/{host}/vfs.fs.size[{DATA[host]},pused])>80", 3)]
    if host == "srv1":
        found += [("Sauvegarde de /srv/data en échec", "last(/srv1/sauvegarde.echec)=1", 4),
                  ("Aucune sauvegarde réussie de /srv/data depuis 10 minutes",
                   "last(/srv1/sauvegarde.age)>600 or last(/srv1/sauvegarde.age)<0", 4)]
    return found


token = call("user.login", {"username": "Admin", "password": os.environ["ZABBIX_ADMIN_PASSWORD"]})
hostids, created = [], []
for host in DATA:
    hostid, interface = agent_host(host, os.environ[f"LAB_ADDRESS_{host.upper()}"], token)
    hostids.append(hostid)
    existing = {i["key_"] for i in call("item.get", {"hostids": hostid, "output": ["key_"]}, token)}
    new = [{"hostid": hostid, "name": name, "key_": key, "type": AGENT, "value_type": kind, "delay": "30s",
            "interfaceid": interface} for key, name, kind in items(host) if key not in existing]
    if new:
        created += call("item.create", new, token)["itemids"]
    present = {t["description"] for t in call("trigger.get", {"hostids": hostid, "output": ["description"]}, token)}
    new = [{"description": name, "expression": expression, "priority": priority}
           for name, expression, priority in triggers(host) if name not in present]
    if new:
        call("trigger.create", new, token)
# New items wait for the configuration cache (60 s): reload it, then ask for their values now.
subprocess.run(["zabbix_server", "-R", "config_cache_reload"], check=True, capture_output=True)
time.sleep(3)
if created:
    call("task.create", [{"type": 6, "request": {"itemid": itemid}} for itemid in created], token)
# Verify before handing over, as a technician would: every new item has received a value (bounded wait).
began = time.monotonic()
while True:
    waiting = [f"{i['hosts'][0]['host']} {i['key_']}" for i in call(
        "item.get", {"hostids": hostids, "output": ["key_", "lastclock"], "selectHosts": ["host"]}, token)
               if i["lastclock"] == "0"]
    if not waiting:
        break
    if time.monotonic() - began > VALUES_WAIT_S:
        raise SystemExit(f"items still without a value after {VALUES_WAIT_S} s: {'; '.join(waiting)}")
    time.sleep(3)
print(f"supervision of {', '.join(DATA)}: CPU, memory, data file system, srv1's backup")
PY
