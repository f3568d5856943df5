#!/bin/sh
# durand-intranet, the intranet of the Menuiseries Durand, packaged for the lab. This script is the package's
# source: it writes the sources under /usr/src/durand-intranet/ and builds durand-intranet 1.0-1 and 1.0-2
# with dpkg-deb into /var/cache/depot/, which provision.sh publishes with reprepro.
#
# The sources live in this one file because a provisioner reaches its machine as one script (Vagrant's shell
# provisioner, and no shared folder: the checkout must stay invisible from the lab's machines).
# The two versions share everything but fichiers.py (the /fichiers/ handler: path traversal in 1.0-1, fixed in
# 1.0-2) and their changelog. On purpose, the maintainer script never restarts the service on an upgrade: an
# upgrade without `systemctl restart durand-intranet` leaves 1.0-1's code running (the lab's lesson: a patch is
# applied when the running process is the new one; GET /version tells which one runs).
set -eu
src=/usr/src/durand-intranet
out=/var/cache/depot
rm -rf "$src"
install -d "$src/common" "$src/1.0-1" "$src/1.0-2" "$out"

# --- the service (both versions) ----------------------------------------------------------------------------
cat > "$src/common/intranet.py" <<'PY'
#!/usr/bin/python3
"""durand-intranet @VERSION@ : l'intranet des Menuiseries Durand.

Un petit service HTTP sur le port 8080 : la page d'accueil (/), la version en service (/version) et les
documents partagés de /srv/data/partage (/fichiers/<nom>). Chaque requête est journalisée dans
/srv/data/logs/intranet.log. Avec LOG_LEVEL=debug (/etc/default/durand-intranet), le service y ajoute un
vidage de son état interne toutes les 2 secondes (environ 8 Kio/s) : à réserver à un diagnostic de courte durée.
"""
import datetime
import html
import http.server
import os
import sys
import threading
import time

sys.path.insert(0, "/usr/lib/durand-intranet")
# Chargé une fois, au démarrage : une mise à jour du paquet n'agit qu'au redémarrage du service.
import fichiers  # noqa: E402

VERSION = "@VERSION@"
PORT = int(os.environ.get("PORT", "8080"))
NIVEAU = os.environ.get("LOG_LEVEL", "info").strip().lower()
CHEMIN_JOURNAL = "/srv/data/logs/intranet.log"
PERIODE_VIDAGE_S = 2.0
DEMARRAGE = time.time()


def horodatage() -> str:
    return datetime.datetime.now().astimezone().isoformat(timespec="seconds")


class Journal:
    """Le journal de l'intranet. Une écriture impossible (disque plein…) arrête le service : mieux vaut un
    service arrêté, que la supervision signale, qu'un service qui ne trace plus rien."""

    def __init__(self, chemin: str) -> None:
        self.verrou = threading.Lock()
        self.fichier = open(chemin, "a", encoding="utf-8")

    def ecrire(self, niveau: str, message: str) -> None:
        if niveau == "DEBUG" and NIVEAU != "debug":
            return
        self.bloc(f"{horodatage()} {niveau} {message}\n")

    def bloc(self, texte: str) -> None:
        try:
            with self.verrou:
                self.fichier.write(texte)
                self.fichier.flush()
        except OSError as exc:
            print(f"durand-intranet: écriture impossible dans {CHEMIN_JOURNAL} : {exc} ; arrêt du service",
                  file=sys.stderr, flush=True)
            os._exit(1)


# L'état interne que le mode debug vide périodiquement : le cache des pages clients.
CACHE = {f"client-{n:04d}": {"page": f"/clients/{n:04d}", "octets": 1200 + (n * 7919) % 40000,
                             "age_s": (n * 37) % 900, "etat": "valide" if n % 9 else "a-rafraichir",
                             "consultations": n % 23}
         for n in range(1, 121)}


def vidages(journal: Journal) -> None:
    numero = 0
    while True:
        numero += 1
        quand = horodatage()
        lignes = [f"{quand} DEBUG vidage n°{numero} de l'état interne : {len(CACHE)} pages en cache, "
                  f"{threading.active_count()} fils, en service depuis {int(time.time() - DEMARRAGE)} s\n"]
        lignes += [f"{quand} DEBUG   cache[{cle}] = {valeur}\n" for cle, valeur in CACHE.items()]
        journal.bloc("".join(lignes))
        time.sleep(PERIODE_VIDAGE_S)


class Requetes(http.server.BaseHTTPRequestHandler):
    server_version = f"durand-intranet/{VERSION}"
    journal: Journal

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self.journal.ecrire("DEBUG", f"en-têtes de {self.client_address[0]} : {dict(self.headers)}")
        if self.path == "/version":
            self.repondre(200, "text/plain; charset=utf-8", f"durand-intranet {VERSION}\n".encode())
        elif self.path in ("/", "/index.html"):
            self.repondre(200, "text/html; charset=utf-8", self.accueil().encode())
        elif self.path.startswith("/fichiers/"):
            contenu = fichiers.lire(self.path[len("/fichiers/"):])
            if contenu is None:
                self.repondre(404, "text/plain; charset=utf-8", "Document introuvable\n".encode())
            else:
                self.repondre(200, "application/octet-stream", contenu)
        else:
            self.repondre(404, "text/plain; charset=utf-8", "Page introuvable\n".encode())

    def accueil(self) -> str:
        documents = "".join(f'<li><a href="/fichiers/{html.escape(nom)}">{html.escape(nom)}</a></li>'
                            for nom in fichiers.liste())
        return ("<!doctype html><html lang=\"fr\"><head><meta charset=\"utf-8\">"
                "<title>Intranet des Menuiseries Durand</title></head><body>"
                "<h1>Intranet des Menuiseries Durand</h1>"
                f"<h2>Documents partagés</h2><ul>{documents or '<li>aucun</li>'}</ul>"
                f"<p><small>durand-intranet {VERSION}</small></p></body></html>\n")

    def repondre(self, code: int, type_mime: str, corps: bytes) -> None:
        self.send_response(code)
        self.send_header("Content-Type", type_mime)
        self.send_header("Content-Length", str(len(corps)))
        self.end_headers()
        self.wfile.write(corps)

    def log_request(self, code="-", size="-") -> None:
        self.journal.ecrire("INFO", f'{self.client_address[0]} "{self.requestline}" {code}')

    def log_message(self, format, *args) -> None:  # noqa: A002 (http.server's signature)
        self.journal.ecrire("WARNING", f"{self.client_address[0]} {format % args}")


def main() -> None:
    journal = Journal(CHEMIN_JOURNAL)
    Requetes.journal = journal
    serveur = http.server.ThreadingHTTPServer(("", PORT), Requetes)
    journal.ecrire("INFO", f"démarrage de durand-intranet {VERSION} sur le port {PORT} "
                           f"(niveau de journalisation : {NIVEAU})")
    if NIVEAU == "debug":
        threading.Thread(target=vidages, args=(journal,), daemon=True).start()
    serveur.serve_forever()


if __name__ == "__main__":
    main()
PY

# --- the shared documents handler: 1.0-1 (vulnerable) and 1.0-2 (fixed) -------------------------------------
# Both versions share all but lire(): the fix changes that function only.
for version in 1.0-1 1.0-2; do
  cat > "$src/$version/fichiers.py" <<'PY'
"""Documents partagés de l'intranet (/fichiers/<nom>), servis depuis /srv/data/partage."""
import os
import urllib.parse

RACINE = "/srv/data/partage"


def liste() -> list[str]:
    try:
        return sorted(nom for nom in os.listdir(RACINE) if os.path.isfile(os.path.join(RACINE, nom)))
    except OSError:
        return []


PY
done
cat >> "$src/1.0-1/fichiers.py" <<'PY'
def lire(nom: str) -> bytes | None:
    chemin = os.path.join(RACINE, urllib.parse.unquote(nom))
    try:
        with open(chemin, "rb") as fichier:
            return fichier.read()
    except OSError:
        return None
PY
cat >> "$src/1.0-2/fichiers.py" <<'PY'
def lire(nom: str) -> bytes | None:
    # DURAND-SA-2026-01 : le nom demandé est décodé puis résolu ; tout ce qui sort de RACINE est refusé
    # (« ../ » encodé, chemin absolu, lien symbolique vers l'extérieur).
    racine = os.path.realpath(RACINE)
    chemin = os.path.realpath(os.path.join(racine, urllib.parse.unquote(nom)))
    if os.path.commonpath([racine, chemin]) != racine or not os.path.isfile(chemin):
        return None
    try:
        with open(chemin, "rb") as fichier:
            return fichier.read()
    except OSError:
        return None
PY

# --- packaging (both versions) ------------------------------------------------------------------------------
cat > "$src/common/durand-intranet.service" <<'UNIT'
[Unit]
Description=Intranet des Menuiseries Durand (durand-intranet)
Documentation=file:/usr/share/doc/durand-intranet/changelog.Debian.gz
After=network-online.target
RequiresMountsFor=/srv/data
StartLimitIntervalSec=30
StartLimitBurst=3

[Service]
Type=simple
User=intranet
Group=intranet
EnvironmentFile=-/etc/default/durand-intranet
ExecStartPre=+/usr/bin/install -d -o intranet -g intranet -m 0755 /srv/data/logs
ExecStart=/usr/bin/python3 /usr/lib/durand-intranet/intranet.py
Restart=on-failure
RestartSec=1

[Install]
WantedBy=multi-user.target
UNIT
cat > "$src/common/default" <<'DEFAULT'
# Réglages de durand-intranet, lus au démarrage du service (systemctl restart durand-intranet).
#
# LOG_LEVEL : info  = une ligne par requête dans /srv/data/logs/intranet.log ;
#             debug = en plus, un vidage de l'état interne toutes les 2 secondes (environ 8 Kio/s) :
#                     à réserver à un diagnostic de courte durée, puis revenir à info.
LOG_LEVEL=info
DEFAULT
cat > "$src/common/postinst" <<'SH'
#!/bin/sh
set -e
if [ "$1" = configure ]; then
    if ! getent passwd intranet >/dev/null; then
        useradd --system --user-group --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin intranet
    fi
    if [ -d /run/systemd/system ]; then
        systemctl daemon-reload || true
        if [ -z "$2" ]; then
            # Première installation : le service est activé et démarré.
            systemctl enable durand-intranet.service >/dev/null 2>&1 || true
            systemctl start durand-intranet.service || true
        fi
        # Mise à jour : AUCUN redémarrage, volontairement (règle d'exploitation : l'intranet ne redémarre que
        # dans une fenêtre de maintenance). Le service continue d'exécuter l'ancienne version jusqu'à
        # « systemctl restart durand-intranet » ; GET /version indique la version en service.
    fi
fi
exit 0
SH
cat > "$src/common/prerm" <<'SH'
#!/bin/sh
set -e
if [ "$1" = remove ] && [ -d /run/systemd/system ]; then
    systemctl disable --now durand-intranet.service >/dev/null 2>&1 || true
fi
exit 0
SH
cat > "$src/common/copyright" <<'TXT'
durand-intranet
Copyright 2026 Menuiseries Durand, service informatique <informatique@durand.test>
Logiciel interne, non distribué.
TXT
cat > "$src/1.0-1/changelog" <<'TXT'
durand-intranet (1.0-1) bookworm-durand; urgency=medium

  * Première version empaquetée : page d'accueil, version en service
    (/version), documents partagés de /srv/data/partage (/fichiers/),
    journal /srv/data/logs/intranet.log (LOG_LEVEL dans
    /etc/default/durand-intranet).
  * Le paquet ne redémarre jamais le service lors d'une mise à jour
    (règle d'exploitation : redémarrage en fenêtre de maintenance) ;
    après une mise à jour, lancer « systemctl restart durand-intranet ».

 -- Service informatique des Menuiseries Durand <informatique@durand.test>  Mon, 14 Sep 2026 10:00:00 +0200
TXT
{
cat <<'TXT'
durand-intranet (1.0-2) bookworm-durand-security; urgency=high

  * Sécurité, DURAND-SA-2026-01 (traversée de répertoire, gravité élevée) :
    /fichiers/ décodait le nom demandé sans le contrôler. Un nom encodé
    contenant « ../ » (%2e%2e%2f) ou un chemin absolu (%2f) permettait à
    n'importe qui sur le réseau, sans authentification, de lire tout
    fichier lisible par le compte intranet, par exemple
    /fichiers/..%2f..%2f..%2fetc%2fpasswd ou les fichiers clients de
    /srv/data/clients. Le chemin est désormais résolu et refusé (404)
    s'il sort de /srv/data/partage.
  * Rappel : la mise à jour ne redémarre pas le service. Tant que
    « systemctl restart durand-intranet » n'a pas été lancé, la version
    vulnérable reste en mémoire et en service ; le vérifier avec
    « curl http://localhost:8080/version ».

 -- Service informatique des Menuiseries Durand <informatique@durand.test>  Thu, 26 Nov 2026 09:30:00 +0100

TXT
cat "$src/1.0-1/changelog"
} > "$src/1.0-2/changelog"

build() {
  version=$1
  root=$(mktemp -d)
  chmod 755 "$root"
  install -d "$root/DEBIAN" "$root/usr/lib/durand-intranet" "$root/lib/systemd/system" "$root/etc/default" \
    "$root/usr/share/doc/durand-intranet"
  sed "s/@VERSION@/$version/g" "$src/common/intranet.py" > "$root/usr/lib/durand-intranet/intranet.py"
  install -m 644 "$src/$version/fichiers.py" "$root/usr/lib/durand-intranet/fichiers.py"
  chmod 755 "$root/usr/lib/durand-intranet/intranet.py"
  install -m 644 "$src/common/durand-intranet.service" "$root/lib/systemd/system/durand-intranet.service"
  install -m 644 "$src/common/default" "$root/etc/default/durand-intranet"
  install -m 644 "$src/common/copyright" "$root/usr/share/doc/durand-intranet/copyright"
  gzip -9n < "$src/$version/changelog" > "$root/usr/share/doc/durand-intranet/changelog.Debian.gz"
  install -m 755 "$src/common/postinst" "$src/common/prerm" "$root/DEBIAN/"
  echo /etc/default/durand-intranet > "$root/DEBIAN/conffiles"
  cat > "$root/DEBIAN/control" <<CONTROL
Package: durand-intranet
Version: $version
Architecture: all
Maintainer: Service informatique des Menuiseries Durand <informatique@durand.test>
Depends: python3 (>= 3.9), passwd
Section: web
Priority: optional
Installed-Size: $(du -sk --exclude=DEBIAN "$root" | cut -f1)
Description: intranet des Menuiseries Durand
 Service HTTP interne (port 8080) : page d'accueil, version en service
 (/version) et documents partagés (/fichiers/). Journal :
 /srv/data/logs/intranet.log.
CONTROL
  dpkg-deb --root-owner-group -Zxz --build "$root" "$out/durand-intranet_${version}_all.deb" >/dev/null
  rm -rf "$root"
}
build 1.0-1
build 1.0-2
echo "durand-intranet 1.0-1 and 1.0-2 built in $out"
