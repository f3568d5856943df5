#!/bin/sh
# Join this workstation to the lab's domain, its computer account in OU=Postes,OU=Durand (scenario steps use
# it for starting states where A1.1's work is already done). Needs DOMAIN_ADMIN_PASSWORD.
set -eu
printf '%s' "$DOMAIN_ADMIN_PASSWORD" | realm join --install=/ -U Administrator \
  --computer-ou="OU=Postes,OU=Durand,$LAB_BASE_DN" "$LAB_DOMAIN"
pam-auth-update --enable mkhomedir
# Debian 12's sssd enables socket units for its responders (wanted by sssd.service), while realm join writes
# `services = nss, pam` in sssd.conf: sssd's monitor then starts those responders itself, and at every start
# sssd-nss/pam/pam-priv.socket fail (their ExecStartPre refuses a responder listed in `services`) and the
# socket-activated sssd-pac.service fails too. Keep realmd's configuration (responders run by the monitor)
# and disable the socket units that conflict with it: the machine then starts without a failed unit.
systemctl disable --now sssd-nss.socket sssd-pam.socket sssd-pam-priv.socket sssd-pac.socket 2>/dev/null
# realm join --install=/ configures sssd but leaves it stopped in these containers.
systemctl enable --now sssd 2>/dev/null
systemctl reset-failed 'sssd*' 2>/dev/null || true
echo "$(hostname) joined to $LAB_DOMAIN"
