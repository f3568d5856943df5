#!/bin/sh
# Reference solution of A1.2 on the workstation.
set -eu
printf 'search %s\nnameserver %s\n' "$LAB_DOMAIN" "$LAB_DC_ADDRESS" > /etc/resolv.conf
systemctl restart sssd   # back online with a resolver that knows the domain
sss_cache -E             # forget the lookups that failed while the DNS was wrong
sed -i "s/^pool .*/server dc1.$LAB_DOMAIN iburst/" /etc/chrony/chrony.conf
systemctl enable chrony 2>/dev/null
systemctl restart chrony
su - "dmoreau@$LAB_DOMAIN" -s /bin/sh -c 'dbus-run-session -- sh -c "
  gsettings set org.gnome.desktop.interface text-scaling-factor 1.5 &&
  gsettings set org.gnome.desktop.a11y.interface high-contrast true"'
echo "client1 configured"
