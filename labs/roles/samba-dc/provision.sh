#!/bin/sh
# Provision the domain from the scenario, then run the DC under the container's systemd.
set -eu
rm -f /etc/samba/smb.conf
samba-tool domain provision --server-role=dc --use-rfc2307 --dns-backend=SAMBA_INTERNAL \
  --realm="$LAB_REALM" --domain="$LAB_NETBIOS" --host-ip="$LAB_ADDRESS" \
  --adminpass="$LAB_DOMAIN_ADMIN_PASSWORD" --option="dns forwarder = $LAB_GATEWAY" >/dev/null
cp /var/lib/samba/private/krb5.conf /etc/krb5.conf
printf 'search %s\nnameserver %s\n' "$LAB_DOMAIN" "$LAB_ADDRESS" > /etc/resolv.conf
systemctl unmask samba-ad-dc >/dev/null 2>&1 || true
systemctl enable --now samba-ad-dc >/dev/null 2>&1
echo "domain $LAB_REALM provisioned on $LAB_MACHINE"
