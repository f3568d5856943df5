"""From an inventory to remote helpers: one helper (so one connection) per host and protocol for a whole run."""
from __future__ import annotations

from functools import cache

from ..errors import InputError
from ..inventory import Inventory, SecretRef
from .evidence import Recorder
from .ldap import Directory
from .ssh import HostUnreachable, LogonAttempt, SshHost, try_logon
from .zabbix import Supervision


class LabSession:
    def __init__(self, inventory: Inventory, recorder: Recorder | None = None):
        self.inventory = inventory
        self.recorder = recorder or Recorder()
        self.recorder.add_secrets(inventory.all_secrets())
        self._opened: list = []

    def _transport(self, host: str, kind: str):
        if host not in self.inventory.hosts:
            raise InputError(f"no host '{host}' (hosts: {', '.join(self.inventory.hosts)})",
                             path=self.inventory.source, field="hosts")
        transport = getattr(self.inventory.hosts[host].transports, kind)
        if transport is None:
            raise InputError(f"host '{host}' has no {kind} transport", path=self.inventory.source,
                             field=f"hosts.{host}.transports")
        return self.inventory.hosts[host], transport

    def _secret(self, ref, field: str) -> str | None:
        return None if ref is None else self.inventory.secret(ref, field)

    @cache
    def ssh(self, host: str) -> SshHost:
        entry, t = self._transport(host, "ssh")
        helper = SshHost(host, entry.address, user=t.user, port=t.port, key_file=t.key_file,
                         password=self._secret(t.password, f"hosts.{host}.transports.ssh.password"),
                         recorder=self.recorder)
        self._opened.append(helper)
        return helper

    @cache
    def directory(self, host: str) -> Directory:
        entry, t = self._transport(host, "ldaps")
        if self.inventory.domain is None:
            raise InputError("an ldaps transport needs the inventory's 'domain' (base_dn)", path=self.inventory.source,
                             field="domain")
        helper = Directory(host, entry.address, user=t.user, port=t.port, base_dn=self.inventory.domain.base_dn,
                           password=self._secret(t.password, f"hosts.{host}.transports.ldaps.password"),
                           tls_verify=t.tls_verify, ca_file=t.ca_file, recorder=self.recorder)
        self._opened.append(helper)
        return helper

    @cache
    def supervision(self, host: str) -> Supervision:
        _entry, t = self._transport(host, "zabbix_api")
        helper = Supervision(host, t.url, user=t.user, tls_verify=t.tls_verify, recorder=self.recorder,
                             password=self._secret(t.password, f"hosts.{host}.transports.zabbix_api.password"),
                             token=self._secret(t.token, f"hosts.{host}.transports.zabbix_api.token"))
        self._opened.append(helper)
        return helper

    def secret(self, name: str) -> str:
        """A secret of the inventory's secrets file by name, e.g. "user_password:amartin"."""
        return self.inventory.secret(SecretRef(secret=name), f"secret {name}")

    def logon(self, host: str, user: str, password: str) -> LogonAttempt:
        """A password logon as a person would do it, on the host's SSH port."""
        entry, t = self._transport(host, "ssh")
        admin = self.ssh(host)
        if admin.failure:
            raise HostUnreachable(admin.failure)
        try:
            return try_logon(host, entry.address, user, password, port=t.port, recorder=self.recorder)
        except HostUnreachable as exc:
            admin.failure = str(exc)
            raise

    def hosts_with_role(self, role: str) -> list[str]:
        return [name for name, h in self.inventory.hosts.items() if h.role == role]

    def close(self) -> None:
        for helper in self._opened:
            helper.close()
        self._opened.clear()
