#!/bin/sh
# An application server: its data on a small file system of its own (/srv/data), the supervision's agent, and
# the backup of /srv/data with restic by a systemd timer. Which application runs here, and where the backup
# goes, is the scenario's business (its setup installs the application and writes /etc/restic/backup.env).
set -eu

# /srv/data: a 64 MiB tmpfs, mounted from /etc/fstab like any data partition. Why tmpfs: the container cannot
# loop-mount an image (no loop device in its /dev) and has no block device or quota of its own, while a
# privileged container may mount tmpfs; its size is a hard limit, so a runaway log fills /srv/data (64 MiB of
# the container's memory), never the host's disk. Its content survives the container's restarts (`halt`/`up`,
# a candidate's reboot) through lab-srv-data-persistance.service below.
install -d /srv/data
grep -q '[[:space:]]/srv/data[[:space:]]' /etc/fstab ||
  echo 'tmpfs /srv/data tmpfs size=64m,mode=0755,nosuid,nodev 0 0' >> /etc/fstab
systemctl daemon-reload
mountpoint -q /srv/data || mount /srv/data
install -d -m 700 /var/lib/lab
cat > /etc/systemd/system/lab-srv-data-persistance.service <<'UNIT'
# Lab only: /srv/data is a tmpfs (see the app-server role); keep its content across the container's restarts.
[Unit]
Description=Lab : conserve le contenu de /srv/data (tmpfs) entre deux démarrages
DefaultDependencies=no
RequiresMountsFor=/srv/data /var/lib/lab
Before=local-fs.target shutdown.target
Conflicts=shutdown.target

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/sh -c 'if [ -f /var/lib/lab/srv-data.tar ]; then tar -xpf /var/lib/lab/srv-data.tar -C /srv/data; fi'
ExecStop=/bin/sh -c 'tar -cpf /var/lib/lab/srv-data.tar.new -C /srv/data . && mv /var/lib/lab/srv-data.tar.new /var/lib/lab/srv-data.tar'

[Install]
WantedBy=local-fs.target
UNIT
systemctl daemon-reload
systemctl enable lab-srv-data-persistance.service >/dev/null 2>&1
systemctl start lab-srv-data-persistance.service


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
