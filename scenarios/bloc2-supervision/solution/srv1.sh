#!/bin/sh
# The backup's outcome as the agent sees it: 1 when the last run of the job failed (systemd keeps the result of
# a oneshot service until its next run), 0 otherwise. With the age of the last success (sauvegarde.age, already
# on the agent), a failure shows at the next poll, not only once the age passes a threshold.
set -eu
cat > /etc/zabbix/zabbix_agentd.conf.d/sauvegarde-echec.conf <<'CONF'
# 1 si la dernière exécution de la sauvegarde (sauvegarde-donnees.service) a échoué, 0 sinon.
UserParameter=sauvegarde.echec,systemctl is-failed --quiet sauvegarde-donnees.service && echo 1 || echo 0
CONF
systemctl restart zabbix-agent
echo "srv1: agent key sauvegarde.echec"
