#!/bin/sh
# TESTS ONLY: serve this project's GLPI double (uploaded to /var/tmp/labgrader/glpi-double) as a service on :80
# (native inventory) and :443 (REST API, the machine's own snakeoil certificate), with the lab's API tokens.
set -eu
install -d -m 755 /opt/glpi-double
cp -r /var/tmp/labgrader/glpi-double/. /opt/glpi-double/
rm -rf /var/tmp/labgrader/glpi-double
[ -f /etc/ssl/private/ssl-cert-snakeoil.key ] || make-ssl-cert generate-default-snakeoil --force-overwrite
install -d -m 700 /etc/glpi-double /var/lib/glpi-double
# Secrets reach the config through the environment, never a command line.
python3 - <<'PY'
import json, os
import ipaddress
# As the glpi role sets GLPI up: an API client for the lab's /24 with the lab's app token, GLPI's own localhost
# client (no token) beside it, the native inventory on.
lab = ipaddress.ip_network(os.environ["LAB_ADDRESS"] + "/24", strict=False)
config = {"user_token": os.environ["LAB_GLPI_USER_TOKEN"], "users": {"glpi": os.environ["LAB_GLPI_ADMIN_PASSWORD"]},
          "api_clients": [{"ipv4_range": [str(lab.network_address), str(lab.broadcast_address)],
                           "app_token": os.environ["LAB_GLPI_APP_TOKEN"]}],
          "enabled_inventory": True, "list_limit": 20, "url_base_api": "https://" + os.environ["LAB_MACHINE"] + "/apirest.php"}
with open("/etc/glpi-double/config.json", "w") as out:
    json.dump(config, out)
os.chmod("/etc/glpi-double/config.json", 0o600)
PY
cat > /etc/systemd/system/glpi-double.service <<'UNIT'
[Unit]
Description=Lab tests only: GLPI 10.0 double (REST API and native inventory)
After=network.target

[Service]
ExecStart=/usr/bin/python3 /opt/glpi-double/server.py --config /etc/glpi-double/config.json --state /var/lib/glpi-double/state.json --http-port 80 --https-port 443 --cert /etc/ssl/certs/ssl-cert-snakeoil.pem --key /etc/ssl/private/ssl-cert-snakeoil.key
Restart=on-failure

[Install]
WantedBy=multi-user.target
UNIT
systemctl daemon-reload
systemctl enable glpi-double >/dev/null 2>&1
systemctl restart glpi-double
# The seed (next script) needs the API: wait for it, bounded.
for _ in $(seq 50); do
  curl -sk -o /dev/null https://127.0.0.1/apirest.php/initSession && exit 0
  sleep 0.2
done
echo "the GLPI double did not answer on :443" >&2
exit 1
