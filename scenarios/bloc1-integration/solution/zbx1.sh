#!/bin/sh
# Reference solution of A1.1 in the supervision: the host, its agent interface and its indicators.
set -eu
python3 - <<'PY'
import os, time
from lab_zabbix import agent_host, call  # written by the zabbix role (labs/roles/zabbix/provision.sh)

token = call("user.login", {"username": "Admin", "password": os.environ["ZABBIX_ADMIN_PASSWORD"]})
hostid, interface = agent_host("pc-compta-01", os.environ["LAB_ADDRESS_CLIENT1"], token)
wanted = {"agent.ping": ("Agent joignable", 3), "system.cpu.util": ("Utilisation du processeur", 0),
          "vm.memory.size[pavailable]": ("Mémoire disponible (%)", 0), "vfs.fs.size[/,pused]": ("Disque / utilisé (%)", 0)}
existing = {i["key_"]: i["itemid"] for i in call("item.get", {"hostids": hostid, "output": ["key_"]}, token)}
for key, (name, value_type) in wanted.items():
    if key not in existing:
        existing[key] = call("item.create", {"hostid": hostid, "name": name, "key_": key, "type": 0,
                                             "value_type": value_type, "delay": "30s", "interfaceid": interface},
                             token)["itemids"][0]
# New hosts wait for the configuration cache (60 s): reload it, then ask for the values now.
os.system("zabbix_server -R config_cache_reload >/dev/null")
time.sleep(3)
call("task.create", [{"type": 6, "request": {"itemid": existing[key]}} for key in wanted], token)
print(f"pc-compta-01 supervised: host {hostid}, {len(wanted)} items, values requested")
PY
