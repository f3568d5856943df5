#!/bin/sh
# A workstation of the parc: Debian's inventory agent is installed (the box carries it) and left as Debian ships
# it, with no server configured and its daemon off: pointing it at GLPI is the candidate's work.
set -eu
systemctl disable --now fusioninventory-agent >/dev/null 2>&1 || true
