"""From an inventory to remote helpers: one helper (so one connection) per host and protocol for a whole run."""
from __future__ import annotations

from typing import Callable, TypeVar

from ..errors import InputError
from ..inventory import Inventory, SecretRef
from .base import HostUnreachable
from .evidence import Recorder
from .glpi import Glpi
from .hostkeys import PinnedHostKey
from .ldap import Directory
from .smb import SmbClient
from .ssh import LogonAttempt, SshHost, try_logon
from .zabbix import Supervision

H = TypeVar("H")
# Roles that play the same part for a check that asks a protocol (DESIGN.md, boundary 7).
ROLE_EQUIVALENTS = {"samba-dc": ("samba-dc", "windows-dc"), "windows-dc": ("windows-dc", "samba-dc"),
                    "linux-client": ("linux-client",), "zabbix": ("zabbix",),
                    # GLPI as this project's tests serve it (tests/glpi_double/): the same API, the same checks.
                    "glpi": ("glpi", "glpi-double")}


class MissingFromInventory(Exception):
    """The inventory lacks what a check needs (a machine with a role, a secret): an error, never a skip."""


class GradingSession:
    def __init__(self, inventory: Inventory, recorder: Recorder | None = None, *, trust_on_first_use: bool = False):
        self.inventory = inventory
        self.trust_on_first_use = trust_on_first_use
        self.recorder = recorder or Recorder()
        self.recorder.add_secrets(inventory.all_secrets())
        self._helpers: dict[tuple[str, str], object] = {}

    def _transport(self, host: str, kind: str):
        if host not in self.inventory.hosts:
            raise MissingFromInventory(f"l'inventaire n'a pas de machine « {host} » "
                                       f"(machines : {', '.join(self.inventory.hosts)})")
        transport = getattr(self.inventory.hosts[host].transports, kind)
        if transport is None:
            raise MissingFromInventory(f"l'inventaire ne donne pas d'accès {kind} à la machine « {host} »")
        return self.inventory.hosts[host], transport

    def _secret(self, ref, field: str) -> str | None:
        if ref is None:
            return None
        try:
            return self.inventory.secret(ref, field)
        except InputError as exc:
            raise MissingFromInventory(str(exc)) from None

    def _helper(self, host: str, kind: str, make: Callable[[], H]) -> H:
        key = (host, kind)
        if key not in self._helpers:
            self._helpers[key] = make()
        return self._helpers[key]  # type: ignore[return-value]

    def ssh(self, host: str) -> SshHost:
        def make() -> SshHost:
            entry, t = self._transport(host, "ssh")
            return SshHost(host, entry.address, user=t.user, port=t.port, key_file=t.key_file,
                           password=self._secret(t.password, f"hosts.{host}.transports.ssh.password"),
                           host_keys=self._host_keys(host), recorder=self.recorder)
        return self._helper(host, "ssh", make)

    def directory(self, host: str) -> Directory:
        def make() -> Directory:
            entry, t = self._transport(host, "ldaps")
            if self.inventory.domain is None:
                raise MissingFromInventory("un accès ldaps a besoin du champ « domain » de l'inventaire (base_dn)")
            return Directory(host, entry.address, user=t.user, port=t.port, base_dn=self.inventory.domain.base_dn,
                             password=self._secret(t.password, f"hosts.{host}.transports.ldaps.password"),
                             tls=t.tls(), recorder=self.recorder)
        return self._helper(host, "ldaps", make)

    def supervision(self, host: str) -> Supervision:
        def make() -> Supervision:
            _entry, t = self._transport(host, "zabbix_api")
            return Supervision(host, t.url, user=t.user, tls=t.tls(), recorder=self.recorder,
                               password=self._secret(t.password, f"hosts.{host}.transports.zabbix_api.password"),
                               token=self._secret(t.token, f"hosts.{host}.transports.zabbix_api.token"))
        return self._helper(host, "zabbix_api", make)

    def glpi(self, host: str) -> Glpi:
        def make() -> Glpi:
            _entry, t = self._transport(host, "glpi_api")
            where = f"hosts.{host}.transports.glpi_api"
            return Glpi(host, t.url, user=t.user, tls=t.tls(), recorder=self.recorder,
                        user_token=self._secret(t.user_token, f"{where}.user_token"),
                        app_token=self._secret(t.app_token, f"{where}.app_token"),
                        password=self._secret(t.password, f"{where}.password"))
        return self._helper(host, "glpi_api", make)

    def smb(self) -> SmbClient:
        """SMB from the grader, as a user (shares, SYSVOL)."""
        return self._helper("grader", "smb", lambda: SmbClient(self.recorder))

    def secret(self, name: str) -> str:
        """A secret of the inventory's secrets file by name, e.g. "user_password:amartin"."""
        return self._secret(SecretRef(secret=name), f"secret {name}")  # type: ignore[return-value]

    def domain(self):
        """The inventory's AD domain (realm, name, netbios, base_dn)."""
        if self.inventory.domain is None:
            raise MissingFromInventory("l'inventaire ne décrit pas le domaine (champ « domain »)")
        return self.inventory.domain

    def logon(self, host: str, user: str, password: str) -> LogonAttempt:
        """A password logon as a person would do it, on the host's SSH port."""
        entry, t = self._transport(host, "ssh")
        admin = self.ssh(host)
        if admin.failure:
            raise HostUnreachable(admin.failure)
        return try_logon(host, entry.address, user, password, port=t.port, host_keys=self._host_keys(host),
                         recorder=self.recorder)

    def _host_keys(self, host: str) -> PinnedHostKey:
        entry, t = self._transport(host, "ssh")
        return PinnedHostKey(host, t.port, pin=t.host_key, known_hosts=self.inventory.known_hosts_file(),
                             trust_on_first_use=self.trust_on_first_use)

    def hosts_with_role(self, role: str) -> list[str]:
        return [name for name, h in self.inventory.hosts.items() if h.role == role]

    def host_with_role(self, role: str) -> str:
        """The first machine playing `role` (or an equivalent one: a Windows DC for a Samba DC)."""
        roles = ROLE_EQUIVALENTS.get(role, (role,))
        for candidate in roles:
            names = self.hosts_with_role(candidate)
            if names:
                return names[0]
        raise MissingFromInventory(f"aucune machine de rôle {' ou '.join(roles)} dans l'inventaire")

    def close(self) -> None:
        for helper in self._helpers.values():
            if hasattr(helper, "close"):
                helper.close()
        self._helpers.clear()
