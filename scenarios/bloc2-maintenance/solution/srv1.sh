#!/bin/sh
# Reference solution of A2.2 on srv1, in the order a technician works: the cause of the full disk first, then the
# service, the security update, the backup. The NAS's disk (bkp1) is escalated, not touched.
set -eu
export DEBIAN_FRONTEND=noninteractive

# 1. /srv/data: the log level back to info (the cause), the runaway log emptied of its debug dumps (the
#    requests' history kept; the clients' files untouched), and a rotation so it cannot fill the disk again.
sed -i -e '/ticket 2291/d' -e 's/^LOG_LEVEL=.*/LOG_LEVEL=info/' /etc/default/durand-intranet
log=/srv/data/logs/intranet.log
grep -v ' DEBUG ' "$log" > /var/tmp/intranet.log.info || true
cat /var/tmp/intranet.log.info > "$log"
rm -f /var/tmp/intranet.log.info
cat > /etc/logrotate.d/durand-intranet <<'ROTATE'
# Journal de l'intranet : /srv/data est un petit système de fichiers, le journal ne doit jamais le remplir.
/srv/data/logs/intranet.log {
    daily
    maxsize 5M
    rotate 7
    compress
    delaycompress
    missingok
    notifempty
    copytruncate
}
ROTATE
logrotate --debug /etc/logrotate.d/durand-intranet >/dev/null 2>&1

# 4. The security update from the security suite (durand-intranet 1.0-2): its package never restarts the
#    service, so the start below is what puts the fixed code in service.
apt-get update -qq
apt-get install -y -qq -o Dpkg::Options::=--force-confold durand-intranet >/dev/null

# 2. The service: started (after its failures, reset) and enabled at boot.
systemctl reset-failed durand-intranet
systemctl enable durand-intranet >/dev/null 2>&1
systemctl restart durand-intranet
for _ in $(seq 40); do
  running=$(curl -fsS http://127.0.0.1:8080/version 2>/dev/null || true)
  [ -n "$running" ] && break
  sleep 0.25
done
[ "$running" = "durand-intranet $(dpkg-query -W -f '${Version}' durand-intranet)" ] ||
  { echo "the intranet answers '$running'" >&2; exit 1; }

# 3. The backup: the repository's path as it is on the NAS, then one backup now (the timer runs it every 2 min).
sed -i 's#^RESTIC_REPOSITORY=sftp:restic@bkp1:/srv/restic/svr1$#RESTIC_REPOSITORY=sftp:restic@bkp1:/srv/restic/srv1#' \
  /etc/restic/backup.env
systemctl reset-failed sauvegarde-donnees.service
systemctl start sauvegarde-donnees.service
systemctl is-enabled -q sauvegarde-donnees.timer
echo "srv1: /srv/data $(df --output=pcent /srv/data | tail -1 | tr -d ' ') used, $running in service, backup done"
