"""Active Directory over LDAPS with ldap3: users, computers, groups (nested membership), OUs, GPOs and links.

Simple bind over LDAPS (636): Samba refuses simple binds on 389 without TLS, and ldap3's NTLM bind is refused
by Samba; Windows AD accepts the same LDAPS bind."""
from __future__ import annotations

import re
import ssl
import warnings
from dataclasses import dataclass
from functools import cached_property

with warnings.catch_warnings():  # ldap3 2.9 imports names pyasn1 0.6 deprecates; nothing of ours to fix
    warnings.simplefilter("ignore", DeprecationWarning)
    import ldap3
    from ldap3.core.exceptions import LDAPBindError

from .base import HostUnreachable, ProtocolError, RemoteError
from .evidence import Recorder
from .tls import TlsPolicy, check_pinned

# AD's "in chain" matching rule: membership through any depth of nested groups.
IN_CHAIN = "1.2.840.113556.1.4.1941"
ACCOUNTDISABLE = 0x2
TIMEOUT_S = 10
INVALID_CREDENTIALS = 49  # LDAP result code: the bind was refused (wrong password, disabled or locked account)
# Result codes of a search the server refused to an anonymous caller: the directory said no.
REFUSED_TO_ANONYMOUS = {1, 48, 49, 50, 53}  # operationsError, inappropriateAuth, invalidCredentials, …


# What AD says about a refused bind ("…AcceptSecurityContext error, data 52e…"): the reason, in the grid's words.
BIND_REASONS = {"52e": "mot de passe refusé", "525": "compte inconnu", "530": "connexion interdite à cette heure",
                "531": "connexion interdite depuis ce poste", "532": "mot de passe expiré",
                "533": "compte désactivé", "701": "compte expiré", "773": "mot de passe à changer à la première "
                "connexion", "775": "compte verrouillé"}
# The password given was the right one, the account must only change it: the initial password works.
MUST_CHANGE = "773"
SECURITY_GROUP = 0x80000000
GLOBAL_SCOPE, DOMAIN_LOCAL_SCOPE, UNIVERSAL_SCOPE = 0x2, 0x4, 0x8


@dataclass(frozen=True)
class BindAnswer:
    """The directory's answer to a bind: accepted, or refused with AD's reason code (`data 52e` …)."""
    accepted: bool
    code: str = ""  # AD's sub-code of invalidCredentials ('' when accepted or not given)

    @property
    def reason(self) -> str:
        if self.accepted:
            return "accepté"
        return BIND_REASONS.get(self.code, f"refusé (code {self.code})" if self.code else "refusé")

    @property
    def password_right(self) -> bool:
        """The password is the account's: accepted, or refused only because it must be changed now."""
        return self.accepted or self.code == MUST_CHANGE


def bind_code(message: str) -> str:
    """AD's reason code of a refused bind, from its diagnostic message ('' when there is none)."""
    found = re.search(r"\bdata ([0-9a-f]{3,4})\b", message or "", flags=re.IGNORECASE)
    return found.group(1).lower() if found else ""


def group_kind(group_type: int) -> tuple[bool, str]:
    """(security group?, scope) of an AD groupType value: scope is 'global', 'domain local' or 'universal'."""
    value = int(group_type or 0)
    scope = ("global" if value & GLOBAL_SCOPE else "domain local" if value & DOMAIN_LOCAL_SCOPE
             else "universal" if value & UNIVERSAL_SCOPE else "")
    return bool(value & SECURITY_GROUP), scope


@dataclass(frozen=True)
class Entry:
    dn: str
    attributes: dict

    def first(self, name: str, default=None):
        value = self.attributes.get(name)
        if isinstance(value, list):
            return value[0] if value else default
        return default if value in (None, "") else value


def ou_dn(path: str, base_dn: str) -> str:
    """'Durand/Postes' -> 'OU=Postes,OU=Durand,<base>': the scenario's notation to LDAP's."""
    return ",".join([f"OU={part}" for part in reversed(path.split("/"))] + [base_dn])


def escape(value: str) -> str:
    return ldap3.utils.conv.escape_filter_chars(value)


class _PinnedTls(ldap3.Tls):
    """ldap3's TLS with the peer's certificate checked against the inventory's fingerprint right after the
    handshake, before the bind sends any password."""

    def __init__(self, fingerprint: str):
        super().__init__(validate=ssl.CERT_NONE)
        self.fingerprint = fingerprint

    def wrap_socket(self, connection, do_handshake=False):  # noqa: ANN001 — ldap3's signature
        super().wrap_socket(connection, do_handshake=True)
        check_pinned(connection.socket, self.fingerprint)


class Directory:
    def __init__(self, name: str, address: str, *, user: str, password: str, base_dn: str, port: int = 636,
                 tls: TlsPolicy = TlsPolicy(), recorder: Recorder):
        self.name, self.address, self.port, self.bind_user, self.base_dn = name, address, port, user, base_dn
        self._password, self._tls, self.recorder = password, tls, recorder
        self.failure: str | None = None  # once the DC has not answered, its other checks need not wait again

    def _server(self) -> ldap3.Server:
        if self._tls.fingerprint:
            tls: ldap3.Tls = _PinnedTls(self._tls.fingerprint)
        else:
            tls = ldap3.Tls(validate=ssl.CERT_REQUIRED if self._tls.verify else ssl.CERT_NONE,
                            ca_certs_file=self._tls.ca_file)
        return ldap3.Server(self.address, port=self.port, use_ssl=True, tls=tls, get_info=ldap3.NONE,
                            connect_timeout=TIMEOUT_S)

    @cached_property
    def connection(self) -> ldap3.Connection:
        if self.failure:
            raise HostUnreachable(self.failure)
        try:
            conn = ldap3.Connection(self._server(), user=self.bind_user, password=self._password, auto_bind=True,
                                    receive_timeout=TIMEOUT_S, raise_exceptions=False)
        except LDAPBindError as exc:
            self.recorder.record(self.name, f"ldaps bind {self.bind_user}", f"refused: {exc}")
            self.failure = (f"{self.name} : le compte de l'évaluateur {self.bind_user} est refusé par l'annuaire "
                            f"({exc}) : vérifiez l'inventaire")
            raise HostUnreachable(self.failure) from None
        except Exception as exc:  # ldap3 lets socket, TLS and parsing errors (KeyError…) escape: no answer
            self.recorder.record(self.name, f"ldaps bind {self.bind_user}", f"unreachable: {exc!r}")
            self.failure = f"{self.name} ({self.address}:{self.port}) ne répond pas en LDAPS : {_why(exc)}"
            raise HostUnreachable(self.failure) from None
        self.recorder.opened(self.name, "ldaps")
        self.recorder.record(self.name, f"ldaps bind {self.bind_user}", "bound")
        return conn

    def bind_as(self, user: str, password: str) -> bool:
        """Whether the directory accepts these credentials (a separate, short-lived connection).

        False only when the directory answered "invalid credentials"; no answer is a RemoteError."""
        return self.bind_answer(user, password).accepted

    def bind_answer(self, user: str, password: str) -> BindAnswer:
        """The directory's answer to these credentials, with AD's reason when it refuses them (wrong password,
        disabled, locked, must change…). A refusal is an answer; no answer is a RemoteError."""
        conn = ldap3.Connection(self._server(), user=user or None, password=password or None,
                                receive_timeout=TIMEOUT_S, raise_exceptions=False)
        shown = f"ldaps bind {user or '(anonymous)'}"
        try:
            accepted = bool(conn.bind())
        except Exception as exc:
            self.recorder.record(self.name, shown, f"no answer: {exc!r}")
            raise HostUnreachable(f"{self.name} : la connexion LDAPS pour {user} a échoué : {_why(exc)}") from None
        finally:
            _unbind(conn)
        code = (conn.result or {}).get("result")
        self.recorder.record(self.name, shown, "accepted" if accepted else
                             f"refused: {(conn.result or {}).get('description')} {(conn.result or {}).get('message', '')}")
        if not accepted and code != INVALID_CREDENTIALS:
            raise ProtocolError(f"{self.name} : réponse inattendue à la connexion de {user} : "
                                f"{(conn.result or {}).get('description')} (code {code})")
        return BindAnswer(accepted, "" if accepted else bind_code((conn.result or {}).get("message", "")))

    def anonymous_entries(self) -> int:
        """How many user objects an anonymous bind can read (0 when the directory refuses anonymous reads).

        A refusal is an answer; no answer (or a broken one) is a RemoteError, never "0 readable"."""
        conn = ldap3.Connection(self._server(), receive_timeout=TIMEOUT_S, raise_exceptions=False)
        try:
            if not conn.bind():
                self.recorder.record(self.name, "ldaps anonymous bind", f"refused: {conn.result.get('description')}")
                if conn.result.get("result") in REFUSED_TO_ANONYMOUS:
                    return 0
                raise ProtocolError(f"{self.name} : réponse inattendue à une connexion anonyme : {conn.result}")
            conn.search(self.base_dn, "(objectClass=user)", attributes=["sAMAccountName"])
            code = conn.result.get("result")
            found = len(conn.entries)
            self.recorder.record(self.name, "ldaps anonymous bind; search (objectClass=user)",
                                 f"{found} entries, result {conn.result.get('description')}")
            if code not in (0, *REFUSED_TO_ANONYMOUS):
                raise ProtocolError(f"{self.name} : réponse inattendue à une recherche anonyme : {conn.result}")
            return found
        except RemoteError:
            raise
        except Exception as exc:
            self.recorder.record(self.name, "ldaps anonymous bind", f"no answer: {exc!r}")
            raise HostUnreachable(f"{self.name} : la recherche anonyme n'a pas eu de réponse : {_why(exc)}") from None
        finally:
            _unbind(conn)

    def password_policy(self) -> dict[str, int]:
        """The domain's password and lockout policy; durations in minutes (AD stores negative 100 ns units)."""
        found = self.search("(objectClass=domain)", ["minPwdLength", "pwdProperties", "pwdHistoryLength",
                                                     "lockoutThreshold", "lockoutDuration"],
                            base=self.base_dn, scope=ldap3.BASE)
        entry = found[0] if found else Entry(self.base_dn, {})

        def minutes(value) -> int:
            value = value.total_seconds() if hasattr(value, "total_seconds") else -int(value or 0) / 1e7
            return int(abs(value) // 60)

        return {"min_length": int(entry.first("minPwdLength", 0)),
                "complexity": int(entry.first("pwdProperties", 0)) & 1,
                "history": int(entry.first("pwdHistoryLength", 0)),
                "lockout_threshold": int(entry.first("lockoutThreshold", 0)),
                "lockout_minutes": minutes(entry.first("lockoutDuration", 0))}

    def search(self, ldap_filter: str, attributes: list[str], *, base: str | None = None,
               scope: str = ldap3.SUBTREE) -> list[Entry]:
        conn = self.connection
        try:
            conn.search(base or self.base_dn, ldap_filter, search_scope=scope, attributes=attributes)
        except Exception as exc:
            raise HostUnreachable(f"{self.name} : la recherche LDAP {ldap_filter} a échoué : {_why(exc)}") from None
        code = (conn.result or {}).get("result")
        if code not in (0, 32):  # success, or noSuchObject (an absent base: nothing found is an answer)
            raise ProtocolError(f"{self.name} : la recherche LDAP {ldap_filter} a été refusée : "
                                f"{(conn.result or {}).get('description')} (code {code})")
        entries = [Entry(e.entry_dn, dict(e.entry_attributes_as_dict)) for e in conn.entries]
        shown = "; ".join(e.dn for e in entries[:20]) or "no entry"
        self.recorder.record(self.name, f"ldap search {ldap_filter} under {base or self.base_dn}",
                             f"{len(entries)} found: {shown}")
        return entries

    def _one(self, ldap_filter: str, attributes: list[str]) -> Entry | None:
        found = self.search(ldap_filter, attributes)
        return found[0] if found else None

    def user(self, sam: str) -> Entry | None:
        return self._one(f"(&(objectCategory=person)(objectClass=user)(sAMAccountName={escape(sam)}))",
                         ["sAMAccountName", "userAccountControl", "memberOf", "displayName", "lockoutTime"])

    def user_enabled(self, sam: str) -> bool | None:
        found = self.user(sam)
        return None if found is None else not int(found.first("userAccountControl", 0)) & ACCOUNTDISABLE

    def computer(self, name: str) -> Entry | None:
        return self._one(f"(&(objectClass=computer)(sAMAccountName={escape(name.upper())}$))",
                         ["sAMAccountName", "dNSHostName", "operatingSystem", "whenCreated"])

    def group(self, name: str) -> Entry | None:
        return self._one(f"(&(objectClass=group)(sAMAccountName={escape(name)}))",
                         ["sAMAccountName", "member", "groupType"])

    def ous(self) -> list[str]:
        return [e.dn for e in self.search("(objectClass=organizationalUnit)", ["ou"])]

    def ou_exists(self, path: str) -> bool:
        return bool(self.search("(objectClass=organizationalUnit)", ["ou"], base=ou_dn(path, self.base_dn),
                                scope=ldap3.BASE))

    def members(self, group: str, *, nested: bool = True) -> set[str]:
        """sAMAccountNames of a group's members; with nested, through any depth of groups."""
        found = self.group(group)
        if found is None:
            return set()
        if not nested:
            direct = self.search(f"(memberOf={escape(found.dn)})", ["sAMAccountName"])
        else:
            direct = self.search(f"(memberOf:{IN_CHAIN}:={escape(found.dn)})", ["sAMAccountName"])
        return {e.first("sAMAccountName") for e in direct}

    def in_ou(self, dn: str, path: str) -> bool:
        return dn.lower().endswith("," + ou_dn(path, self.base_dn).lower())

    def gpos(self) -> list[Entry]:
        return self.search("(objectClass=groupPolicyContainer)", ["displayName", "cn", "flags", "versionNumber",
                                                                   "gPCFileSysPath", "gPCMachineExtensionNames"],
                           base=f"CN=Policies,CN=System,{self.base_dn}")

    def gpo_links(self, container_dn: str) -> list[tuple[str, int]]:
        """(GPO GUID, link options) linked on a container, in gPLink order; options 1 = disabled, 2 = enforced."""
        found = self.search("(objectClass=*)", ["gPLink"], base=container_dn, scope=ldap3.BASE)
        raw = found[0].first("gPLink", "") if found else ""
        return [(guid.upper(), int(options)) for guid, options in
                re.findall(r"\[LDAP://cn=(\{[0-9A-Fa-f-]+\}),[^;]*;(\d+)\]", raw or "", flags=re.IGNORECASE)]

    def close(self) -> None:
        if "connection" in self.__dict__:
            _unbind(self.connection)
            del self.__dict__["connection"]


def _unbind(conn: ldap3.Connection) -> None:
    try:
        conn.unbind()
    except Exception:  # closing a connection that never answered: nothing more to learn
        pass


def _why(exc: Exception) -> str:
    return str(exc) or type(exc).__name__
