#!/bin/sh
# An application server: its data on a small file system of its own (/srv/data), the supervision's agent, and
# the backup of /srv/data with restic by a systemd timer. Which application runs here, and where the backup
# goes, is the scenario's business (its setup installs the application and writes /etc/restic/backup.env).
set -eu

# /srv/data, the data file system, is mounted by ../common.sh (role.yaml: data_filesystem).

# The backup: restic, run every 2 minutes by a timer (enabled once the scenario has written backup.env); each
# success writes its time, which the supervision reads (agent key sauvegarde.age).
install -d -m 700 /etc/restic
install -d -m 755 /var/lib/sauvegarde /var/cache/restic
cat > /usr/local/sbin/sauvegarde-donnees <<'SH'
#!/bin/sh
# Sauvegarde de /srv/data (hors journaux) dans le dépôt restic décrit par /etc/restic/backup.env
# (RESTIC_REPOSITORY, RESTIC_PASSWORD_FILE). Lancée toutes les 2 minutes par sauvegarde-donnees.timer ;
# chaque réussite écrit son heure dans /var/lib/sauvegarde/derniere-reussite, que la supervision surveille.
set -eu
set -a
. /etc/restic/backup.env
set +a
restic backup --host "$(hostname)" --tag auto --exclude /srv/data/logs "$@" /srv/data
date +%s > /var/lib/sauvegarde/derniere-reussite.new
mv /var/lib/sauvegarde/derniere-reussite.new /var/lib/sauvegarde/derniere-reussite
SH
chmod 755 /usr/local/sbin/sauvegarde-donnees
cat > /etc/systemd/system/sauvegarde-donnees.service <<'UNIT'
[Unit]
Description=Sauvegarde de /srv/data (restic, vers le NAS)
After=network-online.target
RequiresMountsFor=/srv/data

[Service]
Type=oneshot
Environment=RESTIC_CACHE_DIR=/var/cache/restic
ExecStart=/usr/local/sbin/sauvegarde-donnees
Nice=10
TimeoutStartSec=15min
UNIT
cat > /etc/systemd/system/sauvegarde-donnees.timer <<'UNIT'
[Unit]
Description=Sauvegarde de /srv/data toutes les 2 minutes

[Timer]
OnCalendar=*:0/2
AccuracySec=5s

[Install]
WantedBy=timers.target
UNIT
systemctl daemon-reload

# The backup's age for the supervision: seconds since the last successful backup, -1 if none ever succeeded
# (../parc-server.sh then points the agent at the lab's Zabbix server and disables Debian's sources).
install -d /etc/zabbix/zabbix_agentd.conf.d
cat > /etc/zabbix/zabbix_agentd.conf.d/sauvegarde.conf <<'CONF'
# Âge de la dernière sauvegarde réussie de /srv/data, en secondes (-1 : aucune réussite enregistrée).
UserParameter=sauvegarde.age,f=/var/lib/sauvegarde/derniere-reussite; if [ -r $f ]; then echo $(( $(date +%s) - $(cat $f) )); else echo -1; fi
CONF
echo "application server $LAB_MACHINE: /srv/data ($(df -h --output=size /srv/data | tail -1 | tr -d ' ')), backup timer ready"
