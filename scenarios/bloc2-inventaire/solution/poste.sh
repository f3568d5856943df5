#!/bin/sh
# The workstation's inventory agent pointed at GLPI's native inventory (a file of its conf.d, which Debian's
# agent.cfg includes), then one run, as a technician would do it.
set -eu
echo 'server = http://glpi1/front/inventory.php' > /etc/fusioninventory/conf.d/glpi.cfg
fusioninventory-agent --force --no-task=deploy,esx,collect,wakeonlan,netdiscovery,netinventory
