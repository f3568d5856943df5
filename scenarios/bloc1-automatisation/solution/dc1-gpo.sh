#!/bin/sh
# Reference solution of A1.3, part 2: the GPO denying remote logons to GG_Atelier, linked to Durand/Postes.
set -eu
name="Restriction connexion distante Atelier"
sam=/var/lib/samba/private/sam.ldb
creds="-U Administrator --password=$DOMAIN_ADMIN_PASSWORD"
# shellcheck disable=SC2086
guid=$(samba-tool gpo create "$name" $creds | grep -o '{[0-9A-Fa-f-]*}')
sid=$(wbinfo --name-to-sid "$LAB_NETBIOS\\GG_Atelier" | cut -d' ' -f1)
policy="/var/lib/samba/sysvol/$LAB_DOMAIN/Policies/$guid"
mkdir -p "$policy/Machine/Microsoft/Windows NT/SecEdit"
printf '[Unicode]\r\nUnicode=yes\r\n[Version]\r\nsignature="$CHICAGO$"\r\nRevision=1\r\n[Privilege Rights]\r\nSeDenyRemoteInteractiveLogonRight = *%s\r\n' \
  "$sid" > "$policy/Machine/Microsoft/Windows NT/SecEdit/GptTmpl.inf"
# The security settings extension, and a new version so that clients fetch the files.
ldbmodify -H "$sam" >/dev/null <<LDIF
dn: CN=$guid,CN=Policies,CN=System,$LAB_BASE_DN
changetype: modify
replace: gPCMachineExtensionNames
gPCMachineExtensionNames: [{827D319E-6EAC-11D2-A4EA-00C04F79F83A}{803E14A0-B4FB-11D0-A0D0-00A0C90F574B}]
-
replace: versionNumber
versionNumber: 1
LDIF
printf '[General]\r\nVersion=1\r\n' > "$policy/GPT.INI"
# Computers must be able to read the files, or sssd refuses every domain logon (it fails closed).
samba-tool ntacl sysvolreset
# shellcheck disable=SC2086
samba-tool gpo setlink "OU=Postes,OU=Durand,$LAB_BASE_DN" "$guid" $creds >/dev/null
echo "GPO $guid linked to OU=Postes,OU=Durand"
