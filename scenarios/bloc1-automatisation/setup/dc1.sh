#!/bin/sh
# A1.3's starting state on the DC: the list of newcomers and the predecessor's draft, which does not work.
set -eu
mkdir -p /srv/automatisation
cat > /srv/automatisation/arrivants.csv <<'CSV'
identifiant;prenom;nom;ou;groupe
gleroy;Gabriel;Leroy;Durand/Utilisateurs;GG_Atelier
hbernard;Helene;Bernard;Durand/Utilisateurs;GG_Comptabilite
ivincent;Ines;Vincent;Durand/Utilisateurs;GG_Atelier
CSV
# The draft: wrong separator, unquoted expansions, a password written in clear, not rejouable.
cat > /srv/automatisation/creer-comptes.sh <<'DRAFT'
#!/bin/bash
# creation des comptes (brouillon)
for ligne in $(cat /srv/automatisation/arrivants.csv | tail -n +2)
do
  id=$(echo $ligne | cut -d',' -f1)
  prenom=$(echo $ligne | cut -d',' -f2)
  nom=$(echo $ligne | cut -d',' -f3)
  groupe=$(echo $ligne | cut -d',' -f5)
  samba-tool user create $id Bienvenue2026! --given-name=$prenom --surname=$nom
  samba-tool group addmembers $groupe $id
done
DRAFT
chmod 0750 /srv/automatisation/creer-comptes.sh
echo "dc1: arrivants.csv and the predecessor's draft in /srv/automatisation"
