"""The evaluator's preflight: before any verdict, what the inventory promises is verified — each role the
checks need is there, each secret they read exists, each SSH account may run commands with `sudo -n`.

Every gap is one line; any gap stops the run before grading (exit 2). A machine that does not answer is not
a gap: its checks become `error` and the rest of the run is graded."""
from __future__ import annotations

from .inventory import Inventory
from .remote.base import CommandFailed, RemoteError
from .remote.hostkeys import HostKeyRefused
from .remote.session import GradingSession, MissingFromInventory
from .scenario import Scenario


def gaps(session: GradingSession, scenario: Scenario | None) -> list[str]:
    found: list[str] = []
    inventory: Inventory = session.inventory
    if scenario is not None:
        for role in scenario.grading.roles:
            try:
                session.host_with_role(role)
            except MissingFromInventory as exc:
                found.append(str(exc))
        for name in scenario.grading.secrets:
            try:
                session.secret(name)
            except MissingFromInventory as exc:
                found.append(f"secret « {name} » introuvable : {exc}")
    for field, ref in inventory.credential_refs():
        try:
            session._secret(ref, field)
        except MissingFromInventory as exc:
            found.append(str(exc))
    for host, entry in inventory.hosts.items():
        if entry.transports.ldaps and inventory.domain is None:
            found.append(f"la machine {host} a un accès ldaps mais l'inventaire ne décrit pas le domaine (« domain »)")
    if found:
        return found  # without its secrets, the SSH accounts cannot be tried
    for host, entry in inventory.hosts.items():
        if entry.transports.ssh is None:
            continue
        try:
            session.ssh(host).run("/bin/true")
        except CommandFailed as exc:
            found.append(f"{exc} : donnez à ce compte le droit sudo sans mot de passe (docs/inventory.md)")
        except HostKeyRefused as exc:
            found.append(str(exc))
        except RemoteError:
            pass  # does not answer: its checks will say so, the rest is graded
    return found
