#!/bin/sh
# First provisioner of every machine: its name, the lab's hosts and the lab's resolver.
set -eu
hostname "$LAB_MACHINE"
echo "$LAB_MACHINE" > /etc/hostname
{
  echo "127.0.0.1 localhost"
  echo "::1 localhost ip6-localhost ip6-loopback"
  echo "$LAB_HOSTS" | tr ';' '\n'
} > /etc/hosts
# The lab's dnsmasq answers on the gateway and forwards the AD domain to the DC.
printf 'search %s\nnameserver %s\n' "$LAB_DOMAIN" "$LAB_GATEWAY" > /etc/resolv.conf

# The role's data on a small file system of its own (role.yaml: data_filesystem), mounted from /etc/fstab like
# any data partition, before the role's scripts put anything there. Why tmpfs: the container cannot loop-mount an
# image (no loop device in its /dev) and has no block device or quota of its own, while a privileged container
# may mount tmpfs; its size is a hard limit, so a runaway log, or the grader's probe that fills it past the
# supervision's threshold, fills this file system (part of the container's memory), never the host's disk.
# Its content survives the container's restarts (`halt`/`up`, a candidate's reboot) through the unit below.
if [ -n "${LAB_DATA_FS:-}" ]; then
  install -d "$LAB_DATA_FS"
  grep -q "[[:space:]]$LAB_DATA_FS[[:space:]]" /etc/fstab ||
    echo "tmpfs $LAB_DATA_FS tmpfs size=${LAB_DATA_FS_SIZE_MB}m,mode=0755,nosuid,nodev 0 0" >> /etc/fstab
  systemctl daemon-reload
  mountpoint -q "$LAB_DATA_FS" || mount "$LAB_DATA_FS"
  install -d -m 700 /var/lib/lab
  cat > /etc/systemd/system/lab-persistance-donnees.service <<UNIT
# Lab only: $LAB_DATA_FS is a tmpfs (role.yaml: data_filesystem); keep its content across the container's restarts.
[Unit]
Description=Lab : conserve le contenu de $LAB_DATA_FS (tmpfs) entre deux démarrages
DefaultDependencies=no
RequiresMountsFor=$LAB_DATA_FS /var/lib/lab
Before=local-fs.target shutdown.target
Conflicts=shutdown.target

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/sh -c 'if [ -f /var/lib/lab/donnees.tar ]; then tar -xpf /var/lib/lab/donnees.tar -C $LAB_DATA_FS; fi'
ExecStop=/bin/sh -c 'tar -cpf /var/lib/lab/donnees.tar.new -C $LAB_DATA_FS . && mv /var/lib/lab/donnees.tar.new /var/lib/lab/donnees.tar'

[Install]
WantedBy=local-fs.target
UNIT
  systemctl daemon-reload
  systemctl enable lab-persistance-donnees.service >/dev/null 2>&1
  systemctl start lab-persistance-donnees.service
fi
