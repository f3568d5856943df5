#!/bin/sh
# A backup server (the company's NAS): restic repositories under /srv/restic, owned by the account `restic`,
# which clients reach over SFTP only, each with its own key. Which clients and keys is the scenario's business
# (its setup authorizes a client's key and creates its repository with `restic init`).
#
# restic rather than borg: restic talks SFTP itself (the NAS needs only sshd, no backup software of the same
# version as the client's, which borg's `borg serve` over SSH requires), its repository is plain files that
# a grader can open from any machine with the password, and the restic on the NAS serves only to inspect.
set -eu
if ! getent passwd restic >/dev/null; then
  useradd --system --home-dir /srv/restic --shell /usr/sbin/nologin restic
fi
install -d -m 700 -o restic -g restic /srv/restic /srv/restic/.ssh
touch /srv/restic/.ssh/authorized_keys
chown restic:restic /srv/restic/.ssh/authorized_keys
chmod 600 /srv/restic/.ssh/authorized_keys
# SFTP and nothing else for the backup account: no shell, no forwarding, keys only.
cat > /etc/ssh/sshd_config.d/restic-sftp.conf <<'SSHD'
Match User restic
  ForceCommand internal-sftp
  PasswordAuthentication no
  KbdInteractiveAuthentication no
  AllowTcpForwarding no
  AllowAgentForwarding no
  X11Forwarding no
  PermitTTY no
SSHD
sshd -t
systemctl reload ssh

# The Debian sources and the Zabbix agent: ../parc-server.sh, run after this script.
echo "backup server $LAB_MACHINE: /srv/restic, account restic (SFTP only)"
