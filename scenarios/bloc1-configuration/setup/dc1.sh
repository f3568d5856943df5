#!/bin/sh
# A1.2's starting state on the DC: what a former contractor left behind.
set -eu
# The directory opened to anonymous reads: anonymous operations allowed (dSHeuristics, 7th character 2)
# and ANONYMOUS LOGON (AN) granted read on the whole domain.
samba-tool dsacl set --action=allow --objectdn="$LAB_BASE_DN" --sddl="(A;CI;RPLCLORC;;;AN)" >/dev/null
ldbmodify -H /var/lib/samba/private/sam.ldb >/dev/null <<LDIF
dn: CN=Directory Service,CN=Windows NT,CN=Services,CN=Configuration,$LAB_BASE_DN
changetype: modify
replace: dSHeuristics
dSHeuristics: 0000002
LDIF
# The HR share, personal data, readable by everyone.
mkdir -p /srv/partages/rh
echo "Salaires 2026 - confidentiel" > /srv/partages/rh/salaires-2026.txt
chmod 0777 /srv/partages/rh
chmod 0666 /srv/partages/rh/salaires-2026.txt
printf '\n[rh]\n\tpath = /srv/partages/rh\n\tread only = no\n' >> /etc/samba/smb.conf
smbcontrol all reload-config
echo "dc1 as left: anonymous reads allowed, HR share open to all"
