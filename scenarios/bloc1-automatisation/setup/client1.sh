#!/bin/sh
# A1.3's starting state on the workstation: joined to the domain, its account in Durand/Postes.
set -eu
hostnamectl set-hostname pc-compta-01
sed -i "s/^$LAB_ADDRESS .*/$LAB_ADDRESS pc-compta-01.$LAB_DOMAIN pc-compta-01/" /etc/hosts
printf '%s' "$DOMAIN_ADMIN_PASSWORD" | realm join --install=/ -U Administrator \
  --computer-ou="OU=Postes,OU=Durand,$LAB_BASE_DN" "$LAB_DOMAIN"
pam-auth-update --enable mkhomedir
systemctl enable --now sssd 2>/dev/null
echo "pc-compta-01 joined to $LAB_DOMAIN in Durand/Postes"
