#!/bin/sh
# A1.3's starting state on the workstation: A1.1's naming is done (the join is the next step).
set -eu
hostnamectl set-hostname pc-compta-01
sed -i "s/^$LAB_ADDRESS .*/$LAB_ADDRESS pc-compta-01.$LAB_DOMAIN pc-compta-01/" /etc/hosts
