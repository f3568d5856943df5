#!/bin/sh
# The company's own Debian package repository: reprepro, signed with a key made here at provisioning, served by
# apache2 on port 80 (http://<machine>/debian, public key at http://<machine>/durand-archive.asc).
#
# reprepro rather than aptly: two suites of one package each are one plain-text file (conf/distributions) and
# one `includedeb` per package; reprepro signs the Release files itself and keeps its state in its own
# directory. aptly's model (a database, local repos, snapshots, then publish) pays off for mirrors and staged
# releases, not for this, and the result a client sees is the same signed apt repository.
set -eu
depot=/srv/depot
web=/var/www/html
arch=$(dpkg --print-architecture)

# The signing key: ed25519, no passphrase (a lab machine), kept with the repository; made once, so clients
# keep trusting the repository if the machine is provisioned again.
export GNUPGHOME="$depot/gnupg"
install -d -m 700 "$GNUPGHOME"
if [ -z "$(gpg --batch --with-colons --list-secret-keys 2>/dev/null)" ]; then
  gpg --batch --quiet --pinentry-mode loopback --passphrase '' \
    --quick-gen-key "Dépôt des Menuiseries Durand <depot@$LAB_DOMAIN>" ed25519 sign never 2>/dev/null
fi
fingerprint=$(gpg --batch --with-colons --list-secret-keys | awk -F: '/^fpr/ {print $10; exit}')

rm -rf "$depot/conf" "$depot/db" "$web/debian"
install -d "$depot/conf"
for suite in bookworm-durand bookworm-durand-security; do
  case $suite in
    *-security) label=Durand-Security; what="Correctifs de sécurité des applications";;
    *) label=Durand; what=Applications;;
  esac
  cat <<DIST
Origin: Menuiseries Durand
Label: $label
Suite: $suite
Codename: $suite
Architectures: $arch
Components: main
Description: $what des Menuiseries Durand pour Debian 12
SignWith: $fingerprint

DIST
done > "$depot/conf/distributions"
printf 'outdir %s/debian\n' "$web" > "$depot/conf/options"

# The packages built by packages/durand-intranet/build.sh (the previous provisioner): the release in the main
# suite, its security fix in the security suite, as a vendor publishes them.
reprepro -b "$depot" --silent includedeb bookworm-durand /var/cache/depot/durand-intranet_1.0-1_all.deb
reprepro -b "$depot" --silent includedeb bookworm-durand-security /var/cache/depot/durand-intranet_1.0-2_all.deb
gpg --batch --armor --export "$fingerprint" > "$web/durand-archive.asc"
gpgconf --kill all

cat > "$web/index.html" <<HTML
<!doctype html><html lang="fr"><head><meta charset="utf-8"><title>Dépôt des Menuiseries Durand</title></head>
<body><h1>Dépôt de paquets des Menuiseries Durand</h1>
<p>Suites <code>bookworm-durand</code> et <code>bookworm-durand-security</code> sous <a href="debian/">debian/</a>,
signées par la clé <a href="durand-archive.asc">durand-archive.asc</a> (empreinte $fingerprint).</p></body></html>
HTML
systemctl enable --now apache2 >/dev/null 2>&1

# The Debian sources and the Zabbix agent: ../parc-server.sh, run after this script.
echo "repository on $LAB_MACHINE: bookworm-durand (1.0-1), bookworm-durand-security (1.0-2), key $fingerprint"
