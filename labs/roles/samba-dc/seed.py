#!/usr/bin/python3
"""Seed the directory with the scenario's OUs, groups and users (LAB_SEED_JSON), in one process.

samba-tool would start Python once per object (≈ 1 s each); the Samba bindings write sam.ldb directly.
Runs under Debian's /usr/bin/python3: the Samba bindings import only there."""
import json
import os

from samba.auth import system_session
from samba.param import LoadParm
from samba.samdb import SamDB

seed = json.loads(os.environ["LAB_SEED_JSON"])
lp = LoadParm()
lp.load_default()
samdb = SamDB(url=lp.samdb_url(), session_info=system_session(), lp=lp)
base = str(samdb.domain_dn())


def ou_rdn(path):
    """'Durand/Postes' -> 'OU=Postes,OU=Durand' (innermost first, as LDAP wants it)."""
    return ",".join(f"OU={part}" for part in reversed(path.split("/")))


for path in seed["ous"]:
    samdb.create_ou(f"{ou_rdn(path)},{base}")
for group in seed["groups"]:
    samdb.newgroup(group["name"], groupou=ou_rdn(group["ou"]))
for user in seed["users"]:
    samdb.newuser(user["username"], user["password"], userou=ou_rdn(user["ou"]),
                  givenname=user["given_name"], surname=user["surname"])
    if not user.get("enabled", True):
        samdb.disable_account(f"(sAMAccountName={user['username']})")
for group in seed["groups"]:
    if group["members"]:
        samdb.add_remove_group_members(group["name"], group["members"], add_members_operation=True)
print(f"seeded {len(seed['ous'])} OUs, {len(seed['groups'])} groups, {len(seed['users'])} users")
