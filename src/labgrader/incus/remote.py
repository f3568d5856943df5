"""The Incus cluster this host is enrolled with (`labgrader cluster enrol`): where its API is, how it is trusted,
and how this host reaches it — one root-only YAML file under the state directory.

    address: 10.250.0.11:8443     # any member's API (HTTPS); or `socket: /var/lib/incus/unix.socket`
    fingerprint: 5f3a…            # SHA-256 of the cluster's certificate, pinned
    client_cert: client.crt       # this host's certificate, trusted by the cluster (relative to this file)
    client_key: client.key
    namespace: lgit-grader        # optional: the network namespace from which this host reaches the cluster
    tunnel_local: 10.250.1.1      # this host's address as the members reach it (the labs' tunnels end here)
    owner: 3fa9c1                 # this host's labs on the cluster are named lg-<owner>-<lab>; kept on re-enrolment

Build side only: the check side never needs the cluster (a cluster lab is graded over its lab network).
"""
from __future__ import annotations

import ipaddress
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from .. import paths
from ..errors import HostSetupError, InputError
from ..yamlfile import read_yaml
from .client import Client

OWNER = re.compile(r"^[a-z0-9]{1,12}$")
ENROL_ADVICE = "enrol this host first: `labgrader cluster enrol TOKEN --tunnel-local IP` (see docs/scale.md)"


def config_path() -> Path:
    """LABGRADER_INCUS_CONFIG, else `incus/cluster.yml` under the state directory."""
    return Path(os.environ.get("LABGRADER_INCUS_CONFIG") or paths.state_dir() / "incus" / "cluster.yml")


@dataclass(frozen=True)
class Remote:
    path: Path
    address: str = ""
    socket: str = ""
    fingerprint: str = ""
    client_cert: Path | None = None
    client_key: Path | None = None
    namespace: str | None = None
    tunnel_local: str = ""
    owner: str = "local"

    def client(self) -> Client:
        if self.socket:
            return Client.unix(self.socket)
        return Client.https(self.address, cert=str(self.client_cert), key=str(self.client_key),
                            fingerprint=self.fingerprint, namespace=self.namespace)


def load(path: Path | None = None) -> Remote:
    """The enrolled cluster; HostSetupError when none is, InputError (`path: field: message`) when the file is bad."""
    path = path or config_path()
    if not path.is_file():
        raise HostSetupError(f"no Incus cluster is enrolled ({paths.display(path)} is missing); {ENROL_ADVICE}")
    shown = paths.display(path)
    doc = read_yaml(path, shown)
    if not isinstance(doc, dict):
        raise InputError("not a mapping", path=shown)

    def text(field: str, required: bool = True) -> str:
        value = doc.get(field)
        if value is None and not required:
            return ""
        if not isinstance(value, str) or not value.strip():
            raise InputError("missing or not a string", path=shown, field=field)
        return value.strip()

    def file(field: str) -> Path:
        found = path.parent / text(field)
        if not found.is_file():
            raise InputError(f"{found} does not exist", path=shown, field=field)
        return found

    tunnel_local = check_ipv4(text("tunnel_local"), path=shown, field="tunnel_local")
    namespace = text("namespace", required=False) or None
    owner = text("owner", required=False) or "local"
    if not OWNER.match(owner):
        raise InputError(f"'{owner}' is not 1 to 12 lower-case letters or digits", path=shown, field="owner")
    if doc.get("socket"):
        return Remote(path, socket=text("socket"), namespace=namespace, tunnel_local=tunnel_local, owner=owner)
    address = check_address(text("address"), path=shown, field="address")
    return Remote(path, address=address, fingerprint=text("fingerprint"), client_cert=file("client_cert"),
                  client_key=file("client_key"), namespace=namespace, tunnel_local=tunnel_local, owner=owner)


def check_address(address: object, *, path: str | None = None, field: str) -> str:
    """host:port, as the enrolment file, the token and `--address` give a member's API."""
    if not isinstance(address, str) or not address.rpartition(":")[0] or not address.rpartition(":")[2].isdigit():
        raise InputError(f"{str(address)[:60]!r} is not host:port", path=path, field=field)
    return address


def check_ipv4(address: str, *, path: str | None = None, field: str) -> str:
    try:
        return str(ipaddress.IPv4Address(address))
    except ValueError:
        raise InputError(f"'{address}' is not an IPv4 address", path=path, field=field) from None


def owner_of(path: Path) -> str:
    """The owner an enrolment file names, so that a new enrolment (a renewed certificate) keeps the names of the
    labs already on the cluster; a new random one for a first enrolment."""
    try:
        existing = load(path).owner if path.is_file() else ""
    except (InputError, HostSetupError):
        existing = ""
    return existing if existing and existing != "local" else secrets.token_hex(3)
