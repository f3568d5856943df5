#!/bin/sh
# srv1's backups as they run every day: the timer on, and one run now so the NAS holds today's data.
set -eu
systemctl enable --now sauvegarde-donnees.timer >/dev/null 2>&1
systemctl start sauvegarde-donnees.service
echo "srv1: backups every 2 minutes, last success $(date -d "@$(cat /var/lib/sauvegarde/derniere-reussite)" '+%H:%M:%S')"
