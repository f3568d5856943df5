"""SSH host authentication: the grader talks only to the machines the inventory names.

A machine's key is pinned by the inventory (`transports.ssh.host_key`: an OpenSSH public key line or its
`SHA256:` fingerprint) or found in the inventory's known_hosts file. An unknown key is refused unless the
evaluator asked to trust on first use, which records it in that file; a key that differs from the one
recorded is always refused (a man in the middle, or a machine rebuilt: the evaluator decides, not the tool).
"""
from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import paramiko

from .base import RemoteError


class HostKeyRefused(RemoteError):
    """The machine did not prove it is the one the inventory names: nothing was sent to it."""


def fingerprint(key: paramiko.PKey) -> str:
    """OpenSSH's SHA256 fingerprint of a public key (as `ssh-keygen -lf` prints it)."""
    return "SHA256:" + base64.b64encode(hashlib.sha256(key.asbytes()).digest()).decode().rstrip("=")


def pinned_fingerprint(pin: str) -> str:
    """A pin as written in an inventory (a public key line or a fingerprint), as a fingerprint."""
    pin = pin.strip()
    if pin.startswith("SHA256:"):
        return pin.rstrip("=")
    parts = pin.split()
    if len(parts) < 2:
        raise ValueError("expected an OpenSSH public key line ('ssh-ed25519 AAAA…') or a 'SHA256:…' fingerprint")
    try:
        blob = base64.b64decode(parts[1], validate=True)
    except ValueError:
        raise ValueError("the public key is not valid base64") from None
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


def _entry_name(hostname: str, port: int) -> str:
    return hostname if port == 22 else f"[{hostname}]:{port}"


class PinnedHostKey(paramiko.MissingHostKeyPolicy):
    """paramiko asks this policy about every key (the client holds none of its own)."""

    def __init__(self, host: str, port: int, *, pin: str | None, known_hosts: Path | None, trust_on_first_use: bool):
        self.host, self.port, self.known_hosts, self.trust_on_first_use = host, port, known_hosts, trust_on_first_use
        self.expected = pinned_fingerprint(pin) if pin else None

    def _recorded(self, hostname: str) -> paramiko.HostKeys:
        keys = paramiko.HostKeys()
        if self.known_hosts and self.known_hosts.is_file():
            keys.load(str(self.known_hosts))
        return keys

    def missing_host_key(self, client, hostname: str, key: paramiko.PKey) -> None:
        seen = fingerprint(key)
        if self.expected is not None:
            if seen == self.expected:
                return
            raise HostKeyRefused(f"{self.host} : la clé d'hôte SSH présentée ({seen}) n'est pas celle de l'inventaire "
                                 f"({self.expected}) : rien n'a été envoyé à cette machine")
        name = _entry_name(hostname, self.port)
        recorded = self._recorded(hostname).lookup(name) or {}
        if recorded:
            if any(fingerprint(k) == seen for k in recorded.values()):
                return
            raise HostKeyRefused(f"{self.host} : la clé d'hôte SSH présentée ({seen}) diffère de celle enregistrée "
                                 f"dans {self.known_hosts} : rien n'a été envoyé à cette machine")
        if self.trust_on_first_use and self.known_hosts is not None:
            self.known_hosts.parent.mkdir(parents=True, exist_ok=True)
            with self.known_hosts.open("a") as handle:
                handle.write(f"{name} {key.get_name()} {key.get_base64()}\n")
            return
        raise HostKeyRefused(f"{self.host} : clé d'hôte SSH inconnue ({seen}) : donnez-la dans l'inventaire "
                             "(transports.ssh.host_key) ou acceptez-la à la première connexion "
                             "(--trust-on-first-use)")
