#!/bin/sh
# A fresh workstation: everything it may need is installed, nothing is configured (that is the candidate's work).
set -eu
if realm list 2>/dev/null | grep -q .; then
  echo "client $LAB_MACHINE is unexpectedly joined to a domain" >&2; exit 1
fi
echo "workstation $LAB_MACHINE ready, not joined"
