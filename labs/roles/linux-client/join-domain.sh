#!/bin/sh
# Join this workstation to the lab's domain, its computer account in OU=Postes,OU=Durand (scenario steps use
# it for starting states where A1.1's work is already done). Needs DOMAIN_ADMIN_PASSWORD.
set -eu
printf '%s' "$DOMAIN_ADMIN_PASSWORD" | realm join --install=/ -U Administrator \
  --computer-ou="OU=Postes,OU=Durand,$LAB_BASE_DN" "$LAB_DOMAIN"
pam-auth-update --enable mkhomedir
# realm join --install=/ configures sssd but leaves it stopped in these containers.
systemctl enable --now sssd 2>/dev/null
echo "$(hostname) joined to $LAB_DOMAIN"
