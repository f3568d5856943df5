#!/bin/sh
# A1.2's starting state on the workstation: joined to the domain (A1.1 is done), but its resolver is the
# contractor's old DNS server, since decommissioned.
set -eu
printf '%s' "$DOMAIN_ADMIN_PASSWORD" | realm join --install=/ -U Administrator \
  --computer-ou="OU=Postes,OU=Durand,$LAB_BASE_DN" "$LAB_DOMAIN"
pam-auth-update --enable mkhomedir
systemctl enable --now sssd 2>/dev/null
printf 'search %s\nnameserver 192.168.56.2\n' "$LAB_DOMAIN" > /etc/resolv.conf
echo "client1 joined; resolver: the decommissioned 192.168.56.2"
