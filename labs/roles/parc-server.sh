#!/bin/sh
# Last provisioner of a parc server (roles that list it in shared_scripts), after the role's own scripts.
set -eu
# The lab has no Internet: Debian's mirrors are unreachable, so apt's sources for them are disabled (an `apt
# update` of the parc then reports only what the lab really serves, as on a server fed by an internal mirror).
for sources in /etc/apt/sources.list.d/*.sources; do
  if [ -f "$sources" ] && ! grep -q '^Enabled: no' "$sources"; then
    sed -i '/^Types:/i Enabled: no' "$sources"
    sed -i "1i # Désactivé : le réseau du lab n'a pas accès à Internet (miroir Debian injoignable)." "$sources"
  fi
done

# The supervision's agent, answering the lab's Zabbix server (the role may have put UserParameters in conf.d).
if [ -n "${LAB_ZABBIX_ADDRESS:-}" ]; then
  sed -i -e "s/^Server=.*/Server=$LAB_ZABBIX_ADDRESS/" -e "s/^ServerActive=.*/ServerActive=$LAB_ZABBIX_ADDRESS/" \
    /etc/zabbix/zabbix_agentd.conf
  echo "Hostname=$LAB_MACHINE" > /etc/zabbix/zabbix_agentd.conf.d/hostname.conf
  systemctl enable zabbix-agent >/dev/null 2>&1
  systemctl restart zabbix-agent
fi
