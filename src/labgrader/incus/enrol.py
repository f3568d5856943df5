"""`labgrader cluster enrol TOKEN`: make this host a trusted client of an Incus cluster, from a trust token.

The token is what `incus config trust add NAME` prints on a member: base64 of the JSON of Incus's
CertificateAddToken (shared/api/certificate.go: client_name, fingerprint, addresses, secret, expires_at).
Enrolling is what `incus remote add NAME TOKEN` does (cmd/incus/remote.go, addRemoteFromToken): connect to one of
the token's addresses with the token's fingerprint pinned, then POST /1.0/certificates with
`{"trust_token": TOKEN}` over TLS carrying this host's client certificate. The server decodes the token itself,
matches its secret against its pending token operations (single use), and trusts the certificate the TLS
handshake presented (cmd/incusd/certificates.go, certificatesPost; the same in Incus 6.0.4).

The secret is only ever sent inside that request, to a server whose certificate is the pinned one: it is never
printed, logged, or written to disk (the enrolment file holds this host's own key instead).
"""
from __future__ import annotations

import base64
import binascii
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import yaml

from .. import netjoin, paths
from ..errors import HostSetupError, InputError, LabError
from ..remote.tls import FINGERPRINT
from . import remote
from .client import Client, IncusError

TOKEN = "trust token"          # the `path` part of a bad token's one-line error
ENROL_TIMEOUT_S = 10           # per request: an address that does not answer is given up quickly for the next
CERT_DAYS = 3650               # what the incus client gives its own certificate
CERT_FILE, KEY_FILE = "client.crt", "client.key"
NEW_TOKEN_ADVICE = "ask a cluster member for a new one: `incus config trust add NAME`"


@dataclass(frozen=True)
class TrustToken:
    client_name: str
    fingerprint: str                     # SHA-256 of the cluster certificate, as Incus prints it
    addresses: tuple[str, ...]
    expires_at: datetime | None          # None: the cluster sets no expiry (core.remote_token_expiry unset)
    secret: str = field(repr=False)
    encoded: str = field(repr=False)     # what is posted: Incus decodes the token itself


@dataclass(frozen=True)
class Enrolment:
    path: Path
    address: str
    members: list[str]


def parse_token(text: str, now: datetime | None = None) -> TrustToken:
    """The token as `incus config trust add` prints it → TrustToken; InputError naming the field otherwise."""
    encoded = "".join(text.split())  # a token pasted across lines
    try:
        doc = json.loads(base64.b64decode(encoded, validate=True))
    except (binascii.Error, ValueError):
        raise InputError("not an Incus trust token (base64 of JSON); copy the whole line "
                         "`incus config trust add NAME` printed", path=TOKEN) from None
    if not isinstance(doc, dict):
        raise InputError("not an Incus trust token (its JSON is not an object)", path=TOKEN)

    def text_field(name: str) -> str:
        value = doc.get(name)
        if not isinstance(value, str) or not value.strip():
            raise InputError("missing or not a string (is this a trust token, not a cluster join token?)",
                             path=TOKEN, field=name)
        return value.strip()

    client_name, secret = text_field("client_name"), text_field("secret")
    fingerprint = text_field("fingerprint")
    if not re.match(FINGERPRINT, fingerprint):
        raise InputError("not a SHA-256 fingerprint", path=TOKEN, field="fingerprint")
    addresses = doc.get("addresses")
    if not isinstance(addresses, list) or not addresses:
        raise InputError("missing or empty", path=TOKEN, field="addresses")
    for address in addresses:
        remote.check_address(address, path=TOKEN, field="addresses")
    expires_at = parse_expiry(doc.get("expires_at"))
    if expires_at is not None and expires_at <= (now or datetime.now(timezone.utc)):
        raise InputError(f"the token expired at {expires_at.isoformat(timespec='seconds')}; {NEW_TOKEN_ADVICE}",
                         path=TOKEN, field="expires_at")
    return TrustToken(client_name, fingerprint, tuple(addresses), expires_at, secret, encoded)


def parse_expiry(value: object) -> datetime | None:
    """RFC 3339 (nanoseconds allowed) → aware datetime; absent, or Go's zero time (no expiry) → None."""
    if value is None:
        return None
    try:
        when = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        when = None
    if when is None:
        raise InputError(f"{str(value)[:40]!r} is not an RFC 3339 date", path=TOKEN, field="expires_at")
    when = when if when.tzinfo else when.replace(tzinfo=timezone.utc)
    return None if when.year <= 1 else when


# --- this host's client certificate ------------------------------------------------------------------------------

def make_client_certificate(directory: Path) -> tuple[Path, Path]:
    """A fresh EC P-256 key (0600) and self-signed certificate in `directory`: (certificate, key)."""
    if shutil.which("openssl") is None:
        raise HostSetupError("openssl is needed to make this host's client certificate (apt install openssl)")
    cert, key = directory / CERT_FILE, directory / KEY_FILE
    # Created 0600 before openssl writes into it: the key is never readable by others, not even for a moment.
    os.close(os.open(key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600))
    argv = ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-days", str(CERT_DAYS), "-subj", f"/CN=labgrader@{socket.gethostname()}",
            "-keyout", str(key), "-out", str(cert)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise LabError(f"openssl could not make the client certificate: {last}")
    key.chmod(0o600)
    return cert, key


# --- talking to the cluster --------------------------------------------------------------------------------------

def first_answering(token: TrustToken, addresses: list[str], cert: Path, key: Path,
                    namespace: str | None) -> tuple[str, Client]:
    """The first address whose server answers GET /1.0 with the pinned certificate (nothing secret is sent)."""
    failures = []
    for address in addresses:
        client = Client.https(address, cert=str(cert), key=str(key), fingerprint=token.fingerprint,
                              namespace=namespace, timeout=ENROL_TIMEOUT_S)
        try:
            client.get("/1.0")
            return address, client
        except IncusError as exc:
            failures.append(str(exc))
    where = f" from network namespace {namespace}" if namespace else ""
    raise LabError(f"no cluster member answered{where} with the certificate the token pins "
                   f"({token.fingerprint[:16]}…), the token was not sent: {'; '.join(failures)}")


def trust(client: Client, token: TrustToken, address: str) -> None:
    """POST the token: the cluster then trusts the certificate this TLS connection presents."""
    try:
        client.call("POST", "/1.0/certificates", {"trust_token": token.encoded})
    except IncusError as exc:
        # 403: no pending token with this secret (used already, revoked); an expired one is a 500 in Incus 6.0
        if exc.status == 403 or "Token has expired" in str(exc):
            raise InputError(f"refused by the cluster at {address} (used already, revoked or expired; "
                             f"{NEW_TOKEN_ADVICE}): {exc}", path=TOKEN) from None
        raise
    auth = (client.get("/1.0") or {}).get("auth")
    if auth != "trusted":
        raise LabError(f"the cluster at {address} accepted the token but says auth: {auth}, not trusted")


def member_names(client: Client) -> list[str]:
    """The cluster's members (a lone server: its own name)."""
    urls = client.get("/1.0/cluster/members") or []
    names = [url.rstrip("/").rpartition("/")[2] for url in urls]
    return names or [(client.get("/1.0").get("environment") or {}).get("server_name", "?")]


# --- the enrolment file ------------------------------------------------------------------------------------------

def enrolment_document(address: str, fingerprint: str, namespace: str | None, tunnel_local: str,
                       owner: str) -> dict:
    """remote.py's format (client_cert/client_key relative to the file)."""
    doc = {"address": address, "fingerprint": fingerprint, "client_cert": CERT_FILE, "client_key": KEY_FILE}
    if namespace:
        doc["namespace"] = namespace
    doc["tunnel_local"] = tunnel_local
    doc["owner"] = owner
    return doc


def private_directory(directory: Path) -> None:
    """Make the enrolment's directory (0700). An existing one is tightened only where it is labgrader's own:
    LABGRADER_INCUS_CONFIG may point into a shared directory whose mode is not ours to change."""
    if not directory.is_dir():
        directory.mkdir(mode=0o700, parents=True)
        directory.chmod(0o700)  # mkdir's mode goes through the umask
    elif not os.environ.get("LABGRADER_INCUS_CONFIG"):  # the state directory's own incus/
        directory.chmod(0o700)


def install(staging: Path, config: Path, doc: dict) -> None:
    """Move the new key and certificate beside the file, then replace the file itself in one rename."""
    for name in (KEY_FILE, CERT_FILE):
        os.replace(staging / name, config.parent / name)
    text = "# written by `labgrader cluster enrol`; the key beside it is this host's identity\n"
    paths.write_private(staging / "cluster.yml", text + yaml.safe_dump(doc, sort_keys=False))
    os.replace(staging / "cluster.yml", config)


def enrol(token_text: str, *, tunnel_local: str, address: str | None = None, namespace: str | None = None,
          config: Path | None = None) -> Enrolment:
    """Trust this host on the token's cluster and write the enrolment file; an old one is replaced only on
    success (the new key is made aside)."""
    tunnel_local = remote.check_ipv4(tunnel_local, field="--tunnel-local")
    addresses = [remote.check_address(address, field="--address")] if address else None
    if namespace and not netjoin.exists(namespace):
        raise InputError(f"no network namespace '{namespace}' (see `ip netns list`)", field="--namespace")
    token = parse_token(token_text)
    config = config or remote.config_path()
    private_directory(config.parent)
    staging = Path(tempfile.mkdtemp(prefix=".enrol-", dir=config.parent))  # 0700, beside the file: renames work
    try:
        cert, key = make_client_certificate(staging)
        used, client = first_answering(token, addresses or list(token.addresses), cert, key, namespace)
        trust(client, token, used)
        members = member_names(client)
        install(staging, config, enrolment_document(used, token.fingerprint, namespace, tunnel_local,
                                                    remote.owner_of(config)))
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return Enrolment(config, used, members)
