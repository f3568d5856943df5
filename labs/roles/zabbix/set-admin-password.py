#!/usr/bin/python3
"""Wait for the Zabbix API, then replace the default Admin password with the scenario's (LAB_ZABBIX_ADMIN_PASSWORD).

Plain urllib: the container has no pip. Zabbix 6.0's user.update takes `passwd` alone; from 6.2 on, changing
one's own password also needs `current_passwd`, so that form is the fallback."""
import os
import time
from lab_zabbix import call  # written by the zabbix role (labs/roles/zabbix/provision.sh)


deadline = time.monotonic() + 120
while True:
    try:
        version = call("apiinfo.version", [])
        break
    except Exception:  # the frontend or PHP may still be starting
        if time.monotonic() > deadline:
            raise SystemExit("Zabbix API did not answer within 120 s")
        time.sleep(0.5)

new_password = os.environ["LAB_ZABBIX_ADMIN_PASSWORD"]
try:
    token = call("user.login", {"username": "Admin", "password": "zabbix"})
except RuntimeError:
    call("user.login", {"username": "Admin", "password": new_password})  # already set by an earlier run
    print(f"Zabbix API {version}: Admin password already set")
    raise SystemExit(0)
admin = call("user.get", {"filter": {"username": "Admin"}, "output": ["userid"]}, token)[0]
try:
    call("user.update", {"userid": admin["userid"], "passwd": new_password}, token)
except RuntimeError:
    call("user.update", {"userid": admin["userid"], "current_passwd": "zabbix", "passwd": new_password}, token)
print(f"Zabbix API {version}: Admin password set")
