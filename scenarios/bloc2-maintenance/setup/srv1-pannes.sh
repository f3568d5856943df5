#!/bin/sh
# The faults of the starting state on srv1, each with the cause a technician finds in the logs and settings:
# 1-2. LOG_LEVEL=debug, left on after a diagnosis two hours ago: the intranet's log filled /srv/data and the
#      service, unable to write its log, stopped after its automatic restarts (journal: "No space left on
#      device", then "Start request repeated too quickly").
# 3.   The backup's repository path was mistyped during a "migration" to the NAS: every backup fails since.
# 4.   Nothing to do here: durand-intranet 1.0-2, a security fix, waits in the security suite (apt lists it).
set -eu
systemctl stop durand-intranet

# 1. The log level as a colleague left it.
cat > /etc/default/durand-intranet <<EOF
# Réglages de durand-intranet, lus au démarrage du service (systemctl restart durand-intranet).
#
# LOG_LEVEL : info  = une ligne par requête dans /srv/data/logs/intranet.log ;
#             debug = en plus, un vidage de l'état interne toutes les 2 secondes (environ 8 Kio/s) :
#                     à réserver à un diagnostic de courte durée, puis revenir à info.
# $(date -d '2 hours ago' '+%d/%m') : passé en debug pour le ticket 2291 (lenteurs signalées par l'atelier), JM
LOG_LEVEL=debug
EOF

# The log as two weeks of service wrote it: requests at info level, then the debug dumps of the last two hours,
# in the service's own format, until /srv/data is full but for a few KiB (the service's next dump fails).
python3 - <<'PY'
import datetime
import os
import random

LOG = "/srv/data/logs/intranet.log"
random.seed(2291)
CACHE = {f"client-{n:04d}": {"page": f"/clients/{n:04d}", "octets": 1200 + (n * 7919) % 40000,
                             "age_s": (n * 37) % 900, "etat": "valide" if n % 9 else "a-rafraichir",
                             "consultations": n % 23}
         for n in range(1, 121)}
tz = datetime.datetime.now().astimezone().tzinfo
stamp = lambda t: datetime.datetime.fromtimestamp(t, tz).isoformat(timespec="seconds")
requests = ['"GET / HTTP/1.1" 200', '"GET /fichiers/horaires.txt HTTP/1.1" 200',
            '"GET /fichiers/charte-informatique.txt HTTP/1.1" 200', '"GET /favicon.ico HTTP/1.1" 404']
users = ["192.168.57.101", "192.168.57.102", "192.168.57.110"]


def dump(t, number):
    when = stamp(t)
    lines = [f"{when} DEBUG vidage n°{number} de l'état interne : {len(CACHE)} pages en cache, 3 fils, "
             f"en service depuis {2 * number} s\n"]
    lines += [f"{when} DEBUG   cache[{key}] = {value}\n" for key, value in CACHE.items()]
    return "".join(lines)


open(LOG, "wb").close()  # what the service wrote since its installation gives way to its "history"
st = os.statvfs("/srv/data")
room = st.f_bavail * st.f_frsize - 12 * 1024
now = datetime.datetime.now().timestamp()
history = [f"{stamp(now - 14 * 86400)} INFO démarrage de durand-intranet 1.0-1 sur le port 8080 "
           "(niveau de journalisation : info)\n"]
t = now - 14 * 86400
while t < now - 3 * 3600:
    t += random.randint(60, 900)
    history.append(f"{stamp(t)} INFO {random.choice(users)} {random.choice(requests)}\n")
head = "".join(history).encode()
size = len(dump(now, 1).encode())
count = (room - len(head) - 200) * 15 // (15 * size + 70)  # with the supervision's request every 15 dumps
start = now - 2 * count
with open(LOG, "wb") as out:
    out.write(head)
    out.write(f"{stamp(start)} INFO démarrage de durand-intranet 1.0-1 sur le port 8080 "
              "(niveau de journalisation : debug)\n".encode())
    for number in range(1, count + 1):
        if out.tell() + size + 100 > room:
            break
        out.write(dump(start + 2 * number, number).encode())
        if number % 15 == 0:  # the supervision asks for the version every 30 s
            out.write(f"{stamp(start + 2 * number)} INFO 192.168.57.20 \"GET /version HTTP/1.1\" 200\n".encode())
PY
chown intranet:intranet /srv/data/logs/intranet.log

# 2. The service meets the full file system: its restarts fail until systemd gives up (a few seconds).
systemctl start durand-intranet || true
for _ in $(seq 60); do
  [ "$(systemctl show -P ActiveState durand-intranet)" = failed ] && break
  sleep 0.5
done
[ "$(systemctl show -P ActiveState durand-intranet)" = failed ] || { echo "durand-intranet did not fail" >&2; exit 1; }

# 3. The "migration" of the backup repository, with its typo (svr1), and the timer that fails every 2 minutes.
cat > /etc/restic/backup.env <<EOF
# Sauvegarde de srv1 : dépôt restic sur le NAS (bkp1), par SFTP avec la clé /root/.ssh/id_sauvegarde.
# $(date -d '3 days ago' '+%d/%m') : dépôt migré de l'ancien NAS vers bkp1, JM
RESTIC_REPOSITORY=sftp:restic@bkp1:/srv/restic/svr1
RESTIC_PASSWORD_FILE=/etc/restic/mot-de-passe
EOF
systemctl enable --now sauvegarde-donnees.timer >/dev/null 2>&1
systemctl start sauvegarde-donnees.service 2>/dev/null && { echo "the backup did not fail" >&2; exit 1; }
echo "srv1: /srv/data $(df --output=pcent /srv/data | tail -1 | tr -d ' ') used, durand-intranet failed, backup failing"
