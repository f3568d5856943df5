#!/bin/sh
# GLPI 10.0.x from its official release archive (uploaded to /var/tmp/labgrader/glpi.tgz, checked on the host):
# MariaDB, the database installed by GLPI's console (no web wizard), the REST API and the native inventory on,
# Apache with mod_php on http :80 and https :443. Rerunning it converges and never reinstalls the database.
# The GLPI paths cited below (src/…, inc/…, install/…) are those of the 10.0.12 tree; see NOTES.md.
set -eu

: "${LAB_MACHINE:?}" "${LAB_ADDRESS:?}" "${LAB_GLPI_ADMIN_PASSWORD:?}" "${LAB_GLPI_USER_TOKEN:?}" \
  "${LAB_GLPI_APP_TOKEN:?}"
# The secrets reach PHP through the environment only (never argv, which any user can read in /proc).
export LAB_ADDRESS LAB_GLPI_ADMIN_PASSWORD LAB_GLPI_USER_TOKEN LAB_GLPI_APP_TOKEN
# Tokens go into HTTP headers: GLPI makes them of letters and digits (User::getUniqueToken); refuse anything else.
for token in "$LAB_GLPI_USER_TOKEN" "$LAB_GLPI_APP_TOKEN"; do
  case $token in *[!A-Za-z0-9]*) echo "glpi: a token must be made of letters and digits" >&2; exit 1 ;; esac
done

ARCHIVE=/var/tmp/labgrader/glpi.tgz
GLPI_DIR=/var/www/glpi
DB_NAME=glpi
DB_USER=glpi
DB_PASSWORD_FILE=/root/.glpi-db-password
cd /

# As the web server's user, so that what GLPI writes (config/, files/_cache, …) stays Apache's, without the lab's
# secrets in its environment (readable in /proc by that user); umask 027: config/config_db.php holds a password.
as_www_data() {
  (umask 027 && cd "$GLPI_DIR" &&
    env -u LAB_GLPI_ADMIN_PASSWORD -u LAB_GLPI_USER_TOKEN -u LAB_GLPI_APP_TOKEN runuser -u www-data -- "$@")
}
console() {
  as_www_data php bin/console --no-interaction "$@"
}
sql() {
  mariadb --batch --skip-column-names "$@"
}

# --- The files. Unpacked once, beside the final place then moved, so an interrupted run leaves no half tree.
if [ ! -d "$GLPI_DIR" ]; then
  unpack=$(mktemp -d /var/www/.glpi-unpack.XXXXXX)
  tar -xzf "$ARCHIVE" -C "$unpack" --no-same-owner
  mv "$unpack/glpi" "$GLPI_DIR"
  rmdir "$unpack"
elif [ -f "$ARCHIVE" ] && ! tar -tzf "$ARCHIVE" | grep -qxF "glpi/version/$(ls "$GLPI_DIR/version")"; then
  # An upgrade is GLPI's own procedure (a new tree, then `db:update`); not this script's business.
  echo "glpi: the archive holds another GLPI version than $GLPI_DIR; not upgrading" >&2
  exit 1
fi
version=$(ls "$GLPI_DIR/version")
# Apache writes only the data directories (install docs: "give your webserver write access to the files and config
# directories"), and marketplace/ (src/System/RequirementsManager.php). The directory list is inc/based_config.php's.
for d in _cache _cron _dumps _graphs _inventories _locales _lock _log _pictures _plugins _rss _sessions _tmp \
  _uploads; do
  install -d -o www-data -g www-data -m 750 "$GLPI_DIR/files/$d"
done
install -d -o www-data -g www-data -m 750 "$GLPI_DIR/config" "$GLPI_DIR/marketplace"
chown -R www-data:www-data "$GLPI_DIR/files" "$GLPI_DIR/config" "$GLPI_DIR/marketplace"

# --- The database: MariaDB's root over its socket (unix_socket authentication); GLPI's own user has a random
# password that only root (this file) and GLPI (config/config_db.php, www-data only) know.
systemctl enable --quiet --now mariadb
# Timezone support (src/System/Requirement/DbTimezones.php): the zone tables loaded and readable by GLPI's user;
# db:install then turns it on by itself (src/Console/Database/AbstractConfigureCommand.php).
if [ "$(sql -e 'SELECT COUNT(*) FROM mysql.time_zone_name')" = 0 ] && [ -d /usr/share/zoneinfo ]; then
  mariadb-tzinfo-to-sql /usr/share/zoneinfo 2>/dev/null | sql mysql
fi
if [ ! -s "$DB_PASSWORD_FILE" ]; then
  (umask 077 && openssl rand -hex 24 > "$DB_PASSWORD_FILE")
fi
# Through stdin, not argv.
sql <<SQL
CREATE DATABASE IF NOT EXISTS \`$DB_NAME\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE USER IF NOT EXISTS '$DB_USER'@'localhost' IDENTIFIED BY '$(cat "$DB_PASSWORD_FILE")';
GRANT ALL PRIVILEGES ON \`$DB_NAME\`.* TO '$DB_USER'@'localhost';
GRANT SELECT ON mysql.time_zone_name TO '$DB_USER'@'localhost';
SQL

# --- GLPI's schema, by its console: `database:install`, alias `db:install` (src/Console/Database/InstallCommand.php;
# options in AbstractConfigureCommand.php). It writes config/config_db.php (timezones on, since their tables are
# readable, utf8mb4, InnoDB only, …) and config/glpicrypt.key, then loads the schema. Its --db-password would put
# the password in argv, which every user can read in /proc: bin/console is run from a few lines of PHP that set
# its arguments in $_SERVER['argv'] (where Symfony's ArgvInput reads them), the password from the environment.
# Installed means the version row exists (install/empty_data.php); --reconfigure and --force let a rerun redo an
# install that was interrupted (config_db.php written, schema partial).
installed=$(sql -e "SELECT value FROM \`$DB_NAME\`.glpi_configs WHERE context = 'core' AND name = 'version'" \
  2>/dev/null || true)
if [ -z "$installed" ]; then
  GLPI_DB_PASSWORD=$(cat "$DB_PASSWORD_FILE") GLPI_DB_NAME=$DB_NAME GLPI_DB_USER=$DB_USER as_www_data php <<'PHP'
<?php
$_SERVER['argv'] = ['bin/console', '--no-interaction', 'db:install', '--reconfigure', '--force',
    '--db-host=localhost', '--db-name=' . getenv('GLPI_DB_NAME'), '--db-user=' . getenv('GLPI_DB_USER'),
    '--db-password=' . getenv('GLPI_DB_PASSWORD'), '--default-language=en_GB', '--no-telemetry'];
$_SERVER['argc'] = count($_SERVER['argv']);
require 'bin/console';
PHP
fi

# --- Configuration by the console where it has a command: `config:set` (src/Console/Config/SetCommand.php).
# Names and defaults: install/empty_data.php (context core) and src/Inventory/Conf.php (context inventory).
console config:set enable_api 1 >/dev/null
console config:set enable_api_login_external_token 1 >/dev/null
console config:set enable_api_login_credentials 1 >/dev/null
# The docroot is public/, whose router serves apirest.php at the site's root (src/Http/ProxyRouter.php).
console config:set url_base "https://$LAB_MACHINE" >/dev/null
console config:set url_base_api "https://$LAB_MACHINE/apirest.php" >/dev/null
# The native inventory (front/inventory.php answers "Inventory is disabled" while it is 0).
console config:set --context=inventory enabled_inventory 1 >/dev/null

# --- What the console cannot set, by SQL (prepared statements; secrets from the environment):
# - the account glpi: the lab's password (Auth::getPasswordHash is password_hash(PASSWORD_DEFAULT), src/Auth.php)
#   and its API user token (glpi_users.api_token, matched as is by User::getFromDBbyToken, src/User.php);
# - tech, normal and post-only: disabled while they still have their default password (User::checkDefaultPasswords);
# - an API client for the lab's /24 with the lab's app token (glpi_apiclients; API::initApi matches the caller's
#   IPv4 with ip2long() between ipv4_range_start and ipv4_range_end, src/Api/API.php). The one for 127.0.0.1
#   (install/empty_data.php, no app token) is GLPI's default and stays.
GLPI_DB_NAME=$DB_NAME php <<'PHP'
<?php
mysqli_report(MYSQLI_REPORT_ERROR | MYSQLI_REPORT_STRICT);
$db = new mysqli('localhost', 'root', '', getenv('GLPI_DB_NAME'));
$db->set_charset('utf8mb4');
function row(mysqli $db, string $query, array $params): ?array {
    $statement = $db->prepare($query);
    $statement->execute($params);
    return $statement->get_result()->fetch_assoc();
}
function run(mysqli $db, string $query, array $params): void {
    $db->prepare($query)->execute($params);
}

$glpi = row($db, "SELECT id, password, api_token FROM glpi_users WHERE name = 'glpi'", []);
$password = getenv('LAB_GLPI_ADMIN_PASSWORD');
if (!password_verify($password, (string) $glpi['password'])) {
    run($db, 'UPDATE glpi_users SET password = ?, password_last_update = NOW() WHERE id = ?',
        [password_hash($password, PASSWORD_DEFAULT), $glpi['id']]);
}
if ($glpi['api_token'] !== getenv('LAB_GLPI_USER_TOKEN')) {
    run($db, 'UPDATE glpi_users SET api_token = ?, api_token_date = NOW() WHERE id = ?',
        [getenv('LAB_GLPI_USER_TOKEN'), $glpi['id']]);
}
run($db, 'UPDATE glpi_users SET is_active = 1 WHERE id = ?', [$glpi['id']]);

foreach (['tech' => 'tech', 'normal' => 'normal', 'post-only' => 'postonly'] as $login => $default) {
    $user = row($db, 'SELECT id, password FROM glpi_users WHERE name = ?', [$login]);
    if ($user !== null && password_verify($default, (string) $user['password'])) {
        run($db, 'UPDATE glpi_users SET is_active = 0, password = ?, password_last_update = NOW() WHERE id = ?',
            [password_hash(bin2hex(random_bytes(24)), PASSWORD_DEFAULT), $user['id']]);
    }
}

$address = ip2long(getenv('LAB_ADDRESS'));
if ($address === false) {
    fwrite(STDERR, "glpi: LAB_ADDRESS is not an IPv4 address\n");
    exit(1);
}
$start = $address & ~0xff;
$end = $start | 0xff;
$name = 'Réseau du lab';
$comment = sprintf('Accès à l\'API depuis %s/24, avec le jeton d\'application du lab.', long2ip($start));
$client = row($db, 'SELECT id FROM glpi_apiclients WHERE name = ?', [$name]);
if ($client === null) {
    run($db, 'INSERT INTO glpi_apiclients (entities_id, is_recursive, name, date_creation, date_mod, is_active,
            ipv4_range_start, ipv4_range_end, ipv6, app_token, app_token_date, dolog_method, comment)
        VALUES (0, 1, ?, NOW(), NOW(), 1, ?, ?, NULL, ?, NOW(), 0, ?)',
        [$name, $start, $end, getenv('LAB_GLPI_APP_TOKEN'), $comment]);
} else {
    run($db, 'UPDATE glpi_apiclients SET is_active = 1, ipv4_range_start = ?, ipv4_range_end = ?, comment = ?,
            app_token_date = IF(app_token <=> ?, app_token_date, NOW()), app_token = ?, date_mod = NOW()
        WHERE id = ?',
        [$start, $end, $comment, getenv('LAB_GLPI_APP_TOKEN'), getenv('LAB_GLPI_APP_TOKEN'), $client['id']]);
}
PHP

# GLPI warns on its home page while install/install.php exists (src/Central.php) and, with config_db.php gone,
# index.php would send visitors to it: the install docs say to remove it once installed.
rm -f "$GLPI_DIR/install/install.php"
# GLPI caches its configuration in files/_cache (src/Console/Cache/ClearCommand.php).
console cache:clear >/dev/null

# --- Apache: document root public/ with the rewrite rules of GLPI's install docs for 10.0.7 and later, so that
# every URL goes through public/index.php's router (src/Http/ProxyRouter.php), which serves apirest.php/…,
# front/inventory.php and the assets, and refuses config/, files/, vendor/, … (SafeDocumentRoot requirement).
# Its own certificate for this machine (the box's snakeoil one would be every lab's): made once, when it does not
# name this machine yet, so that a rerun keeps the certificate the host may have pinned.
if ! openssl x509 -in /etc/ssl/certs/ssl-cert-snakeoil.pem -noout -checkhost "$(hostname -f)" 2>/dev/null |
  grep -q ' does match '; then
  DEBIAN_FRONTEND=noninteractive make-ssl-cert generate-default-snakeoil --force-overwrite
fi
a2enmod -q rewrite ssl >/dev/null
cat > /etc/apache2/sites-available/glpi.conf <<CONF
# GLPI (/var/www/glpi), written by labgrader. Racine web : public/ (documentation d'installation de GLPI 10.0.7+) ;
# tout passe par public/index.php, qui sert apirest.php, front/… et refuse config/, files/, vendor/…
<Directory $GLPI_DIR/public>
    Require all granted
    RewriteEngine On
    # L'en-tête Authorization (jeton utilisateur de l'API) transmis à PHP.
    RewriteCond %{HTTP:Authorization} ^(.+)\$
    RewriteRule .* - [E=HTTP_AUTHORIZATION:%{HTTP:Authorization}]
    RewriteCond %{REQUEST_FILENAME} !-f
    RewriteRule ^(.*)\$ index.php [QSA,L]
    # Cookies de session (exigences de sécurité de GLPI) ; GLPI range ses sessions dans files/_sessions, que le
    # nettoyage des sessions de Debian ne connaît pas : PHP les nettoie lui-même.
    php_admin_flag session.cookie_httponly on
    php_admin_value session.cookie_samesite Lax
    php_admin_value session.gc_probability 1
</Directory>

<VirtualHost *:80>
    ServerName $LAB_MACHINE
    DocumentRoot $GLPI_DIR/public
    ErrorLog \${APACHE_LOG_DIR}/glpi-error.log
    CustomLog \${APACHE_LOG_DIR}/glpi-access.log combined
</VirtualHost>

<VirtualHost *:443>
    ServerName $LAB_MACHINE
    DocumentRoot $GLPI_DIR/public
    SSLEngine on
    SSLCertificateFile /etc/ssl/certs/ssl-cert-snakeoil.pem
    SSLCertificateKeyFile /etc/ssl/private/ssl-cert-snakeoil.key
    php_admin_flag session.cookie_secure on
    ErrorLog \${APACHE_LOG_DIR}/glpi-error.log
    CustomLog \${APACHE_LOG_DIR}/glpi-access.log combined
</VirtualHost>
CONF
a2dissite -q 000-default default-ssl >/dev/null 2>&1 || true
a2ensite -q glpi >/dev/null
if ! check=$(apache2ctl configtest 2>&1); then echo "$check" >&2; exit 1; fi
systemctl enable --quiet apache2
systemctl restart apache2
echo "GLPI $version on $LAB_MACHINE: https://$LAB_MACHINE/apirest.php, http://$LAB_MACHINE/front/inventory.php"
