#!/bin/sh
# mmdebstrap customize hook for the embedded box. $1 is the new root. Runs once per box build.
set -eu
root="$1"
in_root() { chroot "$root" "$@"; }

# The vagrant user Vagrant logs in as, with Vagrant's well-known insecure key (a lab-only box).
in_root useradd --create-home --shell /bin/bash vagrant
install -d -m 700 -o 1000 -g 1000 "$root/home/vagrant/.ssh"
install -m 600 -o 1000 -g 1000 "$VAGRANT_PUBKEY" "$root/home/vagrant/.ssh/authorized_keys"
echo 'vagrant ALL=(ALL) NOPASSWD:ALL' > "$root/etc/sudoers.d/vagrant"
chmod 440 "$root/etc/sudoers.d/vagrant"
echo 'Defaults !fqdn' > "$root/etc/sudoers.d/no-fqdn"

# Addresses come from the lab's DHCP server (reservations by MAC address, one per machine).
cat > "$root/etc/systemd/network/20-eth0.network" <<'NET'
[Match]
Name=eth0
[Network]
DHCP=ipv4
[DHCPv4]
ClientIdentifier=mac
UseHostname=false
UseDNS=false
NET
in_root systemctl enable systemd-networkd.service
# The lab's resolver is written by the first provisioner; until then fail fast rather than time out.
rm -f "$root/etc/resolv.conf"
echo 'nameserver 127.0.0.1' > "$root/etc/resolv.conf"

# Each container gets its own SSH host keys at first boot.
rm -f "$root"/etc/ssh/ssh_host_*
mkdir -p "$root/etc/systemd/system/ssh.service.d"
cat > "$root/etc/systemd/system/ssh.service.d/host-keys.conf" <<'UNIT'
[Service]
ExecStartPre=
ExecStartPre=/usr/bin/ssh-keygen -A
ExecStartPre=/usr/sbin/sshd -t
UNIT

# Containers have no CAP_SYS_TIME and share the host's clock: chronyd may serve and follow time (-x: never
# set the clock), which Debian's unit forbids by a capability condition.
mkdir -p "$root/etc/systemd/system/chrony.service.d"
printf '[Unit]\nConditionCapability=\n' > "$root/etc/systemd/system/chrony.service.d/container.conf"
echo 'DAEMON_OPTS="-x"' > "$root/etc/default/chrony"

# Roles enable only what they need.
for unit in $DISABLED_UNITS; do
  in_root systemctl disable "$unit" >/dev/null 2>&1 || true
done
# Services that make no sense in a container.
for unit in systemd-timesyncd.service getty@tty1.service console-getty.service; do
  in_root systemctl mask "$unit" >/dev/null 2>&1 || true
done

# Zabbix's database is loaded here, once, rather than at every `up` (≈ 15 s of data.sql).
pg_bin=$(ls -d "$root"/usr/lib/postgresql/*/bin | head -n 1); pg_bin=${pg_bin#"$root"}
pg_conf=$(ls -d "$root"/etc/postgresql/*/main | head -n 1); pg_conf=${pg_conf#"$root"}
pg_data=$(ls -d "$root"/var/lib/postgresql/*/main | head -n 1); pg_data=${pg_data#"$root"}
install -d -o "$(in_root id -u postgres)" -g "$(in_root id -g postgres)" "$root/run/postgresql"
in_root su postgres -s /bin/sh -c "$pg_bin/pg_ctl -D $pg_data -w -l /tmp/pg-build.log \
  -o '-c config_file=$pg_conf/postgresql.conf -c listen_addresses= -c fsync=off' start" >/dev/null
psql() { in_root su postgres -s /bin/sh -c "psql -q -v ON_ERROR_STOP=1 $*"; }
psql "-c 'CREATE ROLE zabbix LOGIN'"
psql "-c \"CREATE DATABASE zabbix OWNER zabbix ENCODING 'UTF8' TEMPLATE template0\""
for part in schema images data; do
  in_root sh -c "zcat /usr/share/zabbix-server-pgsql/$part.sql.gz | su zabbix -s /bin/sh -c 'psql -q -v ON_ERROR_STOP=1 zabbix' >/dev/null"
done
psql "zabbix -c 'ANALYZE'"
in_root su postgres -s /bin/sh -c "$pg_bin/pg_ctl -D $pg_data -w stop -m fast" >/dev/null
rm -f "$root/tmp/pg-build.log"
# No database password at all: the server (user zabbix) and the frontend (www-data) use peer auth.
sed -i '/^local[[:space:]]\+all[[:space:]]\+all/i local   zabbix          zabbix                                  peer map=zabbix' "$root$pg_conf/pg_hba.conf"
printf 'zabbix zabbix zabbix\nzabbix www-data zabbix\n' >> "$root$pg_conf/pg_ident.conf"
in_root a2enconf zabbix-frontend-php >/dev/null

in_root apt-get clean
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/log/*.log
