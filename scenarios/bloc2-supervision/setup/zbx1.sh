#!/bin/sh
# The supervision as the former provider left it: srv1 and repo1 only, each with the agent's ping and the system
# partition; bkp1 absent; nothing on CPU, memory, the data file systems or the backup. Nothing here meets the
# brief: the candidate completes it.
set -eu
python3 - <<'PY'
import os
from lab_zabbix import agent_host, call  # written by the zabbix role (labs/roles/zabbix/provision.sh)

AGENT, FLOAT, UNSIGNED = 0, 0, 3
ITEMS = [("agent.ping", "Agent Zabbix joignable", UNSIGNED), ("vfs.fs.size[/,pused]", "Espace utilisé sur / (%)", FLOAT)]

token = call("user.login", {"username": "Admin", "password": os.environ["ZABBIX_ADMIN_PASSWORD"]})
for host in ("srv1", "repo1"):
    if call("host.get", {"filter": {"host": [host]}, "output": ["hostid"]}, token):
        continue
    hostid, interface = agent_host(host, os.environ[f"LAB_ADDRESS_{host.upper()}"], token)
    call("item.create", [{"hostid": hostid, "name": name, "key_": key, "type": AGENT, "value_type": kind,
                          "delay": "1m", "interfaceid": interface} for key, name, kind in ITEMS], token)
    call("trigger.create", [{"description": f"Partition système de {host} remplie à plus de 90 %",
                             "expression": f"last(/{host}/vfs.fs.size[/,pused])>90", "priority": 3}], token)
print("supervision as left by the former provider: srv1 and repo1, agent ping and / only")
PY
