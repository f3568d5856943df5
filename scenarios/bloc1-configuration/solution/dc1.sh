#!/bin/sh
# Reference solution of A1.2 on the DC.
set -eu
# Identities.
samba-tool ou create "OU=BureauEtudes,OU=Durand,$LAB_BASE_DN"
samba-tool user create dmoreau "$PASSWORD_DMOREAU" --given-name=Daniel --surname=Moreau --userou="OU=BureauEtudes,OU=Durand"
samba-tool user create fpetit "$PASSWORD_FPETIT" --given-name=Fanny --surname=Petit --userou="OU=BureauEtudes,OU=Durand"
samba-tool group add GG_BureauEtudes --groupou="OU=Groupes,OU=Durand"
samba-tool group addmembers GG_BureauEtudes dmoreau,fpetit
samba-tool group addmembers GG_Personnel GG_BureauEtudes
# Password and lockout policy.
samba-tool domain passwordsettings set --complexity=on --min-pwd-length=12 --history-length=24 \
  --account-lockout-threshold=5 --account-lockout-duration=15 --reset-account-lockout-after=15
# No anonymous reads of the directory.
ldbmodify -H /var/lib/samba/private/sam.ldb >/dev/null <<LDIF
dn: CN=Directory Service,CN=Windows NT,CN=Services,CN=Configuration,$LAB_BASE_DN
changetype: modify
replace: dSHeuristics
dSHeuristics: 0000000
LDIF
# Personal data for GG_RH only; a common share for the staff.
sed -i '/^\[rh\]/,/^\[/ { /read only/a\	valid users = @DURAND\\GG_RH
}' /etc/samba/smb.conf
# The DC's NSS does not list domain groups: winbind gives GG_RH's gid for the POSIX side.
gid=$(wbinfo --sid-to-gid "$(wbinfo --name-to-sid "$LAB_NETBIOS\\GG_RH" | cut -d' ' -f1)")
chgrp -R "$gid" /srv/partages/rh
chmod 2770 /srv/partages/rh
chmod 0660 /srv/partages/rh/*
mkdir -p /srv/partages/commun
chmod 1777 /srv/partages/commun
printf '\n[commun]\n\tpath = /srv/partages/commun\n\tread only = no\n' >> /etc/samba/smb.conf
smbcontrol all reload-config
# The domain's time source.
printf 'allow %s\nlocal stratum 8\n' "$LAB_NETWORK" > /etc/chrony/conf.d/source-du-domaine.conf
systemctl enable chrony 2>/dev/null
systemctl restart chrony
echo "dc1 configured"
