#!/bin/sh
# The database was loaded when the box was built; here the services are configured and started.
set -eu
# Peer authentication over PostgreSQL's socket: no database password anywhere (see the box recipe).
sed -i -e 's/^#\? *DBHost=.*/DBHost=/' -e 's/^#\? *DBPassword=.*/# DBPassword (peer authentication)/' \
  /etc/zabbix/zabbix_server.conf
cat > /etc/zabbix/zabbix.conf.php <<'PHP'
<?php
// Written by labgrader: PostgreSQL over its local socket with peer authentication.
$DB['TYPE'] = 'POSTGRESQL';
$DB['SERVER'] = '';
$DB['PORT'] = '0';
$DB['DATABASE'] = 'zabbix';
$DB['USER'] = 'zabbix';
$DB['PASSWORD'] = '';
$DB['SCHEMA'] = '';
$DB['ENCRYPTION'] = false;
$DB['DOUBLE_IEEE754'] = true;
$ZBX_SERVER = 'localhost';
$ZBX_SERVER_PORT = '10051';
$ZBX_SERVER_NAME = 'zbx';
$IMAGE_FORMAT_DEFAULT = IMAGE_FORMAT_PNG;
PHP
chown root:www-data /etc/zabbix/zabbix.conf.php
chmod 640 /etc/zabbix/zabbix.conf.php
systemctl enable --now postgresql >/dev/null 2>&1
systemctl enable --now zabbix-server zabbix-agent apache2 >/dev/null 2>&1
echo "zabbix services started on $LAB_MACHINE"
