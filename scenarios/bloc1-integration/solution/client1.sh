#!/bin/sh
# Reference solution of A1.1 on the workstation, in the order a technician would work.
set -eu
# 1. Starts without errors.
dpkg --configure -a
systemctl disable --now oem-premier-demarrage.service 2>/dev/null || true
rm -f /etc/systemd/system/oem-premier-demarrage.service
systemctl daemon-reload
systemctl reset-failed
# 2. Naming rules.
hostnamectl set-hostname pc-compta-01
sed -i "s/^$LAB_ADDRESS .*/$LAB_ADDRESS pc-compta-01.$LAB_DOMAIN pc-compta-01/" /etc/hosts
timedatectl set-timezone Europe/Paris
# 3-4. Joining the domain is the next step of the solution (labs/roles/linux-client/join-domain.sh).
# 5. The supervision agent answers zbx1 only.
sed -i -e "s/^Server=.*/Server=$LAB_ZABBIX_ADDRESS/" -e "s/^ServerActive=.*/ServerActive=$LAB_ZABBIX_ADDRESS/" \
  -e "s/^Hostname=.*/Hostname=pc-compta-01/" /etc/zabbix/zabbix_agentd.conf
systemctl enable --now zabbix-agent 2>/dev/null
# 6. Security baseline.
cat > /etc/nftables.conf <<NFT
#!/usr/sbin/nft -f
flush ruleset
table inet filter {
  chain input {
    type filter hook input priority 0; policy drop;
    ct state established,related accept
    iif lo accept
    meta l4proto { icmp, ipv6-icmp } accept
    tcp dport 22 accept
    ip saddr $LAB_ZABBIX_ADDRESS tcp dport 10050 accept
  }
  chain forward {
    type filter hook forward priority 0; policy drop;
  }
}
NFT
systemctl enable --now nftables 2>/dev/null
rm -f /etc/ssh/sshd_config.d/fournisseur.conf
echo 'PermitRootLogin no' > /etc/ssh/sshd_config.d/10-securite.conf
systemctl reload ssh
printf 'APT::Periodic::Update-Package-Lists "1";\nAPT::Periodic::Unattended-Upgrade "1";\n' \
  > /etc/apt/apt.conf.d/20auto-upgrades
# The periodic settings only act through the apt-daily timers: make sure they run (Debian enables them).
systemctl enable --now apt-daily.timer apt-daily-upgrade.timer 2>/dev/null
passwd -l stagiaire >/dev/null
echo "pc-compta-01 joined to $LAB_DOMAIN, supervised by $LAB_ZABBIX_ADDRESS, hardened"
