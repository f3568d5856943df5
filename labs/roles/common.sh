#!/bin/sh
# First provisioner of every machine: its name, the lab's hosts and the lab's resolver.
set -eu
hostname "$LAB_MACHINE"
echo "$LAB_MACHINE" > /etc/hostname
{
  echo "127.0.0.1 localhost"
  echo "::1 localhost ip6-localhost ip6-loopback"
  echo "$LAB_HOSTS" | tr ';' '\n'
} > /etc/hosts
# The lab's dnsmasq answers on the gateway and forwards the AD domain to the DC.
printf 'search %s\nnameserver %s\n' "$LAB_DOMAIN" "$LAB_GATEWAY" > /etc/resolv.conf
