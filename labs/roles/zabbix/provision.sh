#!/bin/sh
# The database was loaded when the box was built; here the services are configured and started.
set -eu
# Peer authentication over PostgreSQL's socket: no database password anywhere (see the box recipe).
sed -i -e 's/^#\? *DBHost=.*/DBHost=/' -e 's/^#\? *DBPassword=.*/# DBPassword (peer authentication)/' \
  /etc/zabbix/zabbix_server.conf
cat > /etc/zabbix/zabbix.conf.php <<'PHP'
<?php
// Written by labgrader: PostgreSQL over its local socket with peer authentication.
$DB['TYPE'] = 'POSTGRESQL';
$DB['SERVER'] = '';
$DB['PORT'] = '0';
$DB['DATABASE'] = 'zabbix';
$DB['USER'] = 'zabbix';
$DB['PASSWORD'] = '';
$DB['SCHEMA'] = '';
$DB['ENCRYPTION'] = false;
$DB['DOUBLE_IEEE754'] = true;
$ZBX_SERVER = 'localhost';
$ZBX_SERVER_PORT = '10051';
$ZBX_SERVER_NAME = 'zbx';
$IMAGE_FORMAT_DEFAULT = IMAGE_FORMAT_PNG;
PHP
chown root:www-data /etc/zabbix/zabbix.conf.php
chmod 640 /etc/zabbix/zabbix.conf.php
# The API over HTTPS with a certificate of this machine's own (the box's snakeoil one would be every lab's):
# `up` reads it from inside the machine and pins its fingerprint in the inventory, so the grader's credentials
# never cross the network in clear. ssl-cert comes with apache2 (Recommends).
make-ssl-cert generate-default-snakeoil --force-overwrite
a2enmod -q ssl >/dev/null
a2ensite -q default-ssl >/dev/null
systemctl enable --now postgresql >/dev/null 2>&1
# The one JSON-RPC client the lab's own scripts on this machine use (scenario steps, the admin password, tests):
# plain urllib, the container has no pip. Local, over http on 127.0.0.1: the network sees HTTPS only.
install -d /usr/local/lib/python3.11/dist-packages
cat > /usr/local/lib/python3.11/dist-packages/lab_zabbix.py <<'PY'
"""Zabbix's API from inside its own machine, for the lab's scripts (written by labgrader's zabbix role)."""
import json
import urllib.request

URL = "http://127.0.0.1/zabbix/api_jsonrpc.php"


class ApiError(RuntimeError):
    """Zabbix answered with an error."""


def call(method, params, auth=None, timeout=30):
    body = {"jsonrpc": "2.0", "method": method, "params": params, "id": 1, **({"auth": auth} if auth else {})}
    request = urllib.request.Request(URL, json.dumps(body).encode(), {"Content-Type": "application/json-rpc"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        answer = json.load(response)
    if "error" in answer:
        raise ApiError(f"{method}: {answer['error'].get('data') or answer['error'].get('message')}")
    return answer["result"]


def login(password, user="Admin"):
    return call("user.login", {"username": user, "password": password})


def agent_host(name, address, auth, group="Linux servers"):
    """(hostid, interfaceid) of the host of that name, created with a Zabbix agent interface on `address` if it
    does not exist yet."""
    found = call("host.get", {"filter": {"host": [name]}, "output": ["hostid"]}, auth)
    if found:
        hostid = found[0]["hostid"]
    else:
        groupid = call("hostgroup.get", {"filter": {"name": [group]}, "output": ["groupid"]}, auth)[0]["groupid"]
        hostid = call("host.create", {"host": name, "groups": [{"groupid": groupid}], "interfaces": [
            {"type": 1, "main": 1, "useip": 1, "ip": address, "dns": "", "port": "10050"}]}, auth)["hostids"][0]
    interface = call("hostinterface.get", {"hostids": hostid, "output": ["interfaceid"]}, auth)[0]["interfaceid"]
    return hostid, interface
PY
systemctl enable --now zabbix-server zabbix-agent apache2 >/dev/null 2>&1
echo "zabbix services started on $LAB_MACHINE"
