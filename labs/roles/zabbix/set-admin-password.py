#!/usr/bin/python3
"""Wait for the Zabbix API, then replace the default Admin password with the scenario's (LAB_ZABBIX_ADMIN_PASSWORD).

Plain urllib: the container has no pip. Zabbix 6.0's user.update takes `passwd` alone; from 6.2 on, changing
one's own password also needs `current_passwd`, so that form is the fallback."""
import json
import os
import time
import urllib.request

URL = "http://127.0.0.1/zabbix/api_jsonrpc.php"


def call(method, params, auth=None):
    body = {"jsonrpc": "2.0", "method": method, "params": params, "id": 1}
    if auth:
        body["auth"] = auth
    request = urllib.request.Request(URL, json.dumps(body).encode(), {"Content-Type": "application/json-rpc"})
    with urllib.request.urlopen(request, timeout=10) as response:
        answer = json.load(response)
    if "error" in answer:
        raise RuntimeError(f"{method}: {answer['error'].get('data') or answer['error'].get('message')}")
    return answer["result"]


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
