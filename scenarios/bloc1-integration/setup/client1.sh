#!/bin/sh
# The workstation as the supplier delivered it (A1.1's starting state). Each fault is the candidate's work.
set -eu
# CE.1: an installation interrupted at the supplier's, and its first-boot tool that fails at every start.
sed -i '/^Package: nano$/,/^$/ s/^Status: install ok installed$/Status: install ok half-configured/' /var/lib/dpkg/status
cat > /etc/systemd/system/oem-premier-demarrage.service <<'UNIT'
[Unit]
Description=Outil de premier demarrage du fournisseur
[Service]
Type=oneshot
ExecStart=/bin/sh -c 'echo "licence OEM introuvable" >&2; exit 1'
[Install]
WantedBy=multi-user.target
UNIT
systemctl daemon-reload
systemctl enable oem-premier-demarrage.service 2>/dev/null
systemctl start oem-premier-demarrage.service 2>/dev/null || true
# CE.5: root may log on over SSH with a password; no automatic updates; a local account without password.
echo 'PermitRootLogin yes' > /etc/ssh/sshd_config.d/fournisseur.conf
systemctl reload ssh
rm -f /etc/apt/apt.conf.d/20auto-upgrades
useradd --create-home --shell /bin/bash stagiaire
passwd -d stagiaire >/dev/null
echo "client1 as delivered: interrupted install, failing OEM unit, weak SSH and accounts, not joined"
