#!/bin/sh
# A1.2's starting state on the (joined) workstation: its resolver is the contractor's old DNS server, since
# decommissioned.
set -eu
printf 'search %s\nnameserver 192.168.56.2\n' "$LAB_DOMAIN" > /etc/resolv.conf
echo "client1 resolver: the decommissioned 192.168.56.2"
