#!/bin/sh
# Reference solution of A1.3, part 1: a clean, rejouable account-creation script, then its first run.
set -eu
cat > /srv/automatisation/creer-comptes.sh <<'SCRIPT'
#!/bin/bash
# Crée les comptes des arrivants listés dans arrivants.csv (identifiant;prenom;nom;ou;groupe).
# Rejouable : un compte qui existe déjà est laissé tel quel, une appartenance déjà là n'est pas refaite.
set -euo pipefail

readonly LISTE=/srv/automatisation/arrivants.csv

# "Durand/Utilisateurs" -> "OU=Utilisateurs,OU=Durand" (relatif à la racine du domaine).
ou_relative() {
  local chemin=$1 rdn="" partie
  local -a parties
  IFS='/' read -r -a parties <<< "$chemin"
  for partie in "${parties[@]}"; do
    rdn="OU=${partie}${rdn:+,${rdn}}"
  done
  printf '%s\n' "$rdn"
}

tail -n +2 "$LISTE" | while IFS=';' read -r identifiant prenom nom ou groupe; do
  [[ -n "$identifiant" ]] || continue
  if ! samba-tool user show "$identifiant" > /dev/null 2>&1; then
    samba-tool user create "$identifiant" --random-password --must-change-at-next-login \
      --given-name="$prenom" --surname="$nom" --userou="$(ou_relative "$ou")"
  fi
  if ! samba-tool group listmembers "$groupe" | grep -qx "$identifiant"; then
    samba-tool group addmembers "$groupe" "$identifiant"
  fi
done
SCRIPT
chmod 0750 /srv/automatisation/creer-comptes.sh
/srv/automatisation/creer-comptes.sh
