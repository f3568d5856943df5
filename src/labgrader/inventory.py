"""The inventory: how to reach each machine of a running lab. Checks know the lab only through it.

`labgrader up` writes one (`.labgrader/labs/<scenario>/inventory.yml`, lab_inventory.py: the build side); an
evaluator writes one by hand for a candidate's own VMs (see docs/inventory.md). This module only reads them:
the inventory file is the one contract between the build side and the check side. Credentials are never inline: a field holds a reference,
`{secret: NAME}` (looked up in `secrets_file`) or `{env: VARIABLE}`.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterator

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, ValidationError, model_validator

from . import paths
from .errors import InputError
from .remote.tls import FINGERPRINT, TlsPolicy
from .yamlfile import StringsLoader, read_yaml

SECRETS_FILE = "secrets.yml"
# `{env: NAME}` may only name variables meant for labgrader: an inventory the candidate wrote must not be able to
# send any of the evaluator's environment (tokens, keys) to the candidate's machine as a password.
ENV_PREFIX = "LABGRADER_"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SecretRef(Strict):
    secret: str | None = Field(default=None, min_length=1)
    env: str | None = Field(default=None, pattern=rf"^{ENV_PREFIX}[A-Z0-9_]+$")

    @model_validator(mode="after")
    def _exactly_one(self) -> "SecretRef":
        if (self.secret is None) == (self.env is None):
            raise ValueError("give exactly one of 'secret' (a name in secrets_file) or 'env' (a variable)")
        return self


HOST_KEY = r"^(SHA256:[A-Za-z0-9+/]{43}=?|(ssh|ecdsa)-[a-z0-9-]+ [A-Za-z0-9+/]+={0,2}( [^\n]*)?)$"


class SshTransport(Strict):
    port: StrictInt = Field(default=22, ge=1, le=65535)
    user: str
    key_file: str | None = None
    password: SecretRef | None = None
    host_key: str | None = Field(default=None, pattern=HOST_KEY,
                                 description="the machine's SSH host key (public key line or SHA256 fingerprint)")


class TlsTransport(Strict):
    """How the grader trusts the service's certificate: a pinned SHA-256 fingerprint (works with an IP address
    and a self-signed certificate), else a CA file with the name checked; tls_verify: false trusts anything."""
    tls_verify: StrictBool = True
    ca_file: str | None = None
    tls_fingerprint: str | None = Field(default=None, pattern=FINGERPRINT)

    @model_validator(mode="after")
    def _one_trust(self) -> "TlsTransport":
        if self.tls_fingerprint and not self.tls_verify:
            raise ValueError("tls_verify: false would ignore tls_fingerprint: remove one of them")
        return self

    def tls(self) -> TlsPolicy:
        return TlsPolicy(verify=self.tls_verify, ca_file=self.ca_file, fingerprint=self.tls_fingerprint)


class LdapsTransport(TlsTransport):
    port: StrictInt = Field(default=636, ge=1, le=65535)
    user: str
    password: SecretRef


class ApiTransport(TlsTransport):
    """A web API the grader logs in to: over HTTPS unless the inventory says the network is trusted."""
    url: str = Field(pattern=r"^https?://[^\s]+$")
    allow_plain_http: StrictBool = False

    @model_validator(mode="after")
    def _encrypted(self) -> "ApiTransport":
        if self.url.lower().startswith("http://") and not self.allow_plain_http:
            raise ValueError("http:// would send the evaluator's credentials in clear: use https:// "
                             "(or set allow_plain_http: true on a network you trust)")
        return self


class ZabbixTransport(ApiTransport):
    user: str
    password: SecretRef | None = None
    token: SecretRef | None = None


class GlpiTransport(ApiTransport):
    """GLPI's REST API (`…/apirest.php`): a user token (or a login and password) and the API client's app token."""
    user_token: SecretRef | None = None
    app_token: SecretRef | None = None
    user: str | None = None
    password: SecretRef | None = None

    @model_validator(mode="after")
    def _credentials(self) -> "GlpiTransport":
        if self.user_token is None and (self.user is None or self.password is None):
            raise ValueError("GLPI needs user_token, or user and password")
        return self


class Transports(Strict):
    ssh: SshTransport | None = None
    ldaps: LdapsTransport | None = None
    zabbix_api: ZabbixTransport | None = None
    glpi_api: GlpiTransport | None = None


class Host(Strict):
    address: str = Field(min_length=1, pattern=r"^[A-Za-z0-9.:_-]+$")
    role: str | None = None
    transports: Transports


class DomainInfo(Strict):
    realm: str
    name: str
    netbios: str
    base_dn: str


class Inventory(Strict):
    candidate: str | None = Field(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$",
                                  description="the candidate's pseudonymous id (never a name or an e-mail)")
    scenario: str | None = None
    profile: str | None = None
    network_namespace: str | None = None
    secrets_file: str | None = None
    known_hosts: str | None = Field(default=None, description="SSH host keys (OpenSSH format), beside the inventory; "
                                                              "default: known_hosts beside it")
    domain: DomainInfo | None = None
    hosts: dict[str, Host] = Field(min_length=1)

    # Set by `load`, not read from the file.
    source: str = Field(default="", exclude=True)

    def secret(self, ref: SecretRef, field: str) -> str:
        """Resolve a credential reference; the value is never echoed in an error."""
        if ref.env is not None:
            value = os.environ.get(ref.env)
            if value is None:
                raise InputError(f"environment variable {ref.env} is not set", path=self.source, field=field)
            return value
        values = self._secrets(field)
        if ref.secret not in values:
            raise InputError(f"secret '{ref.secret}' is not in {self.secrets_file}", path=self.source, field=field)
        return str(values[ref.secret])

    def known_hosts_file(self) -> Path:
        """Where the SSH host keys of this inventory's machines are recorded (beside the inventory)."""
        return Path(self.source).parent / (self.known_hosts or "known_hosts")

    def credential_refs(self) -> Iterator[tuple[str, SecretRef]]:
        """(field, reference) of every credential a transport names, e.g. hosts.dc1.transports.ldaps.password."""
        for name, host in self.hosts.items():
            for kind in Transports.model_fields:
                transport = getattr(host.transports, kind)
                for attr in ("password", "token", "user_token", "app_token"):
                    ref = getattr(transport, attr, None) if transport else None
                    if ref is not None:
                        yield f"hosts.{name}.transports.{kind}.{attr}", ref

    def all_secrets(self) -> list[str]:
        """Every secret value this inventory can reach: what reports must never contain."""
        found = [str(v) for v in self._secrets("secrets_file").values()] if self.secrets_file else []
        found += [os.environ[ref.env] for _field, ref in self.credential_refs() if ref.env and os.environ.get(ref.env)]
        return [value for value in found if value]

    def _secrets(self, field: str) -> dict[str, Any]:
        if not self.secrets_file:
            raise InputError("a {secret: …} reference needs 'secrets_file'", path=self.source, field=field)
        path = Path(self.source).parent / self.secrets_file
        values = read_yaml(path, paths.display(path), loader=StringsLoader) or {}
        if not isinstance(values, dict) or not all(isinstance(v, str) for v in values.values()):
            raise InputError("expected a mapping of secret names to values", path=paths.display(path))
        return values


def load(path: Path) -> Inventory:
    shown = paths.display(path)
    raw = read_yaml(path, shown)
    if not isinstance(raw, dict):
        raise InputError("expected a mapping with a 'hosts' field at the top level", path=shown)
    try:
        parsed = Inventory.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        field = ".".join(str(p) for p in first["loc"])
        message = {"extra_forbidden": "unknown field", "missing": "required field is missing"}.get(
            first["type"], first["msg"].removeprefix("Value error, "))
        if first["type"] == "extra_forbidden" and first["loc"][-2:-1] == ("transports",):
            message = f"unknown transport (known: {', '.join(Transports.model_fields)})"
        if first["loc"][-1:] == ("env",) and first["type"] == "string_pattern_mismatch":
            message = f"only variables named {ENV_PREFIX}… may be referenced"
        if first["loc"][-1:] == ("tls_fingerprint",) and first["type"] == "string_pattern_mismatch":
            message = "expected the certificate's SHA-256 fingerprint (SHA256:AB:CD:…, 64 hex digits)"
        raise InputError(message, path=shown, field=field) from None
    except (RecursionError, ValueError):
        raise InputError("not an inventory labgrader can read", path=shown) from None
    source = Path(path).resolve()
    _stays_beside(parsed.secrets_file, source, shown)
    _stays_beside(parsed.known_hosts, source, shown, field="known_hosts")
    if parsed.network_namespace and not source.is_relative_to(paths.state_dir().resolve()):
        raise InputError("only an inventory `labgrader up` wrote may name a network namespace", path=shown,
                         field="network_namespace")
    hosts = {name: host.model_copy(update={"transports": _files_beside(host.transports, source)})
             for name, host in parsed.hosts.items()}
    return parsed.model_copy(update={"source": str(source), "hosts": hosts})


def _stays_beside(name: str | None, source: Path, shown: str, field: str = "secrets_file") -> None:
    """Files an inventory names live beside it: a candidate's inventory must not read (or write) any file."""
    if name and (Path(name).is_absolute() or ".." in Path(name).parts):
        raise InputError("must be a file beside the inventory (no absolute path, no '..')", path=shown, field=field)


def _files_beside(transports: Transports, source: Path) -> Transports:
    """`~` expanded; a relative key_file or ca_file is read beside the inventory that names it, not from the cwd."""
    def beside(transport: Strict | None, field: str) -> Strict | None:
        name = getattr(transport, field, None)
        if not name:
            return transport
        found = Path(name).expanduser()
        return transport.model_copy(update={field: str(found if found.is_absolute() else source.parent / found)})
    return transports.model_copy(update={"ssh": beside(transports.ssh, "key_file"),
                                         "ldaps": beside(transports.ldaps, "ca_file"),
                                         "zabbix_api": beside(transports.zabbix_api, "ca_file")})
