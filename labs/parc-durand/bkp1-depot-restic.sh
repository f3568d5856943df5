#!/bin/sh
# The NAS before the faults: srv1's restic repository, reachable over SFTP with srv1's backup key only.
# The key pair and the repository's password are lab secrets (backup_ssh_key, restic_repository_password): the
# machines provision in parallel, so neither may wait for the other; a shared secret needs no exchange.
set -eu
umask 077
key=$(mktemp)
printf '%s\n' "$BACKUP_SSH_KEY" > "$key"
public=$(ssh-keygen -y -f "$key")
rm -f "$key"
# `restrict`: no forwarding, no terminal; sshd forces internal-sftp on this account (backup role).
echo "restrict $public" > /srv/restic/.ssh/authorized_keys
chown restic:restic /srv/restic/.ssh/authorized_keys
if [ ! -f /srv/restic/srv1/config ]; then
  export RESTIC_PASSWORD
  runuser -u restic -- restic init --quiet --repo /srv/restic/srv1 --cache-dir /srv/restic/.cache
fi
echo "bkp1: repository /srv/restic/srv1 ready, srv1's key authorized for SFTP"
