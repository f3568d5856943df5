#!/bin/sh
# srv1 as it ran before the faults: the intranet installed from the company's repository (repo1), the business
# data in /srv/data, and its backup to the NAS (bkp1). Runs after every machine is up, so repo1 and bkp1 answer.
set -eu
export DEBIAN_FRONTEND=noninteractive

# The company's repository, trusted by the key it publishes (fetched over the lab's own network).
install -d -m 755 /etc/apt/keyrings
curl -fsS --retry 5 --retry-delay 1 --retry-connrefused -o /etc/apt/keyrings/durand-archive.asc \
  http://repo1/durand-archive.asc
cat > /etc/apt/sources.list.d/durand.sources <<'APT'
# Dépôt de paquets des Menuiseries Durand (repo1) : applications et correctifs de sécurité.
Types: deb
URIs: http://repo1/debian
Suites: bookworm-durand bookworm-durand-security
Components: main
Signed-By: /etc/apt/keyrings/durand-archive.asc
APT
apt-get update -qq
apt-get install -y -qq durand-intranet=1.0-1 >/dev/null

# The business data (the checks compare their SHA-256 with expected.client_files_sha256: keep these bytes).
install -d -m 755 /srv/data/clients /srv/data/partage
cat > /srv/data/clients/clients-2025.csv <<'CSV'
code;raison_sociale;ville;telephone;chiffre_affaires_eur
C0101;SCI Les Tilleuls;Angers;02 41 55 10 21;18450
C0102;Boulangerie Marchand;Saumur;02 41 67 32 08;7320
C0103;Mairie de Brissac;Brissac-Loire-Aubance;02 41 91 22 00;42900
C0104;Cabinet Lemoine;Cholet;02 41 46 78 12;9870
C0105;M. et Mme Royer;Angers;06 12 45 78 90;15600
CSV
cat > /srv/data/clients/clients-2026.csv <<'CSV'
code;raison_sociale;ville;telephone;chiffre_affaires_eur
C0101;SCI Les Tilleuls;Angers;02 41 55 10 21;21300
C0106;Collège Jean Vilar;Angers;02 41 73 15 40;56780
C0107;Gîtes du Layon;Rochefort-sur-Loire;02 41 78 90 11;12450
C0108;Mme Bertin;Les Ponts-de-Cé;06 98 76 54 32;4890
CSV
cat > /srv/data/clients/devis-en-cours.csv <<'CSV'
devis;client;objet;montant_ht_eur;echeance
D2026-118;C0106;Remplacement de 24 fenêtres bois, bâtiment B;48200;2026-12-18
D2026-121;C0107;Escalier chêne et garde-corps;9650;2027-01-08
D2026-124;C0108;Portes intérieures (5) et placard;3420;2026-12-11
CSV
cat > /srv/data/clients/fournisseurs.csv <<'CSV'
code;fournisseur;ville;contact;delai_jours
F01;Scierie du Baugeois;Baugé;commandes@scierie-baugeois.test;10
F02;Quincaillerie Pro Anjou;Angers;pro@quincaillerie-anjou.test;3
F03;Vitrages de Loire;Trélazé;devis@vitrages-loire.test;15
CSV
chmod 644 /srv/data/clients/*.csv
cat > /srv/data/partage/horaires.txt <<'TXT'
Menuiseries Durand - horaires
Atelier : du lundi au vendredi, 7 h 30 - 12 h, 13 h 30 - 17 h.
Bureau : du lundi au vendredi, 8 h 30 - 12 h, 14 h - 18 h.
TXT
cat > /srv/data/partage/charte-informatique.txt <<'TXT'
Charte informatique des Menuiseries Durand (extrait)
- Les mots de passe ne se partagent pas.
- Les données des clients restent sur le serveur de l'entreprise (srv1), sauvegardé en continu sur le NAS.
TXT

# The backup to the NAS: srv1's key (a lab secret, authorized on bkp1 by its own setup step) and the password.
install -d -m 700 /root/.ssh
(umask 077; printf '%s\n' "$BACKUP_SSH_KEY" > /root/.ssh/id_sauvegarde
 printf '%s' "$RESTIC_PASSWORD" > /etc/restic/mot-de-passe)
cat > /root/.ssh/config <<'SSH'
# Sauvegardes : le NAS (bkp1), compte restic, SFTP uniquement.
Host bkp1
  User restic
  IdentityFile /root/.ssh/id_sauvegarde
  IdentitiesOnly yes
  StrictHostKeyChecking accept-new
  BatchMode yes
  ConnectTimeout 10
SSH
cat > /etc/restic/backup.env <<'ENV'
# Sauvegarde de srv1 : dépôt restic sur le NAS (bkp1), par SFTP avec la clé /root/.ssh/id_sauvegarde.
RESTIC_REPOSITORY=sftp:restic@bkp1:/srv/restic/srv1
RESTIC_PASSWORD_FILE=/etc/restic/mot-de-passe
ENV
chmod 600 /etc/restic/backup.env
# The last good backup, three days ago, before the repository's "migration" (next step); the timer is enabled
# by the next step too, so no backup succeeds in between.
when=$(date -d '3 days ago' '+%Y-%m-%d %H:%M:%S')
RESTIC_CACHE_DIR=/var/cache/restic /usr/local/sbin/sauvegarde-donnees --time "$when" --quiet
date -d "$when" +%s > /var/lib/sauvegarde/derniere-reussite
chmod 644 /var/lib/sauvegarde/derniere-reussite
echo "srv1: durand-intranet $(dpkg-query -W -f '${Version}' durand-intranet) running, data in place, one backup on bkp1"
