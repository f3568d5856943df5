"""Group Policy facts, read where each one lives: what a GPO holds is in SYSVOL (read over SMB from the grader),
what a Linux workstation applied is in sssd's cache on that workstation (read over SSH).

The parsers are pure (bytes or text in, values out) and unit-tested; the two readers only fetch.

- SYSVOL: `<gPCFileSysPath>\\Machine\\Microsoft\\Windows NT\\SecEdit\\GptTmpl.inf` holds the security
  settings ([Privilege Rights] `SeDenyRemoteInteractiveLogonRight = *S-1-5-…,*S-1-5-…`), and `GPT.INI`
  the version clients compare with theirs. Windows writes GptTmpl.inf in UTF-16 LE with a BOM; Samba tools
  and hand-written files are ASCII or UTF-8.
- sssd (AD access provider): every access check recomputes the resultant set of policy it enforces into its
  cache (`cn=gpo_result,cn=gpos,cn=ad,cn=custom,cn=<domain>,cn=sysdb`, one attribute per right) and keeps
  one `gpoGUID=…` entry per GPO it downloaded, with the version it has; the files themselves are under
  `/var/lib/sss/gpo_cache/<domain>/Policies/<GUID>/`. When no GPO applies any more, `gpo_result` is deleted
  while the downloaded files stay: only `gpo_result` says what is enforced now."""
from __future__ import annotations

import base64
import codecs
import re
import struct
from dataclasses import dataclass, field

from .base import ProtocolError, RemoteError
from .smb import SmbClient

# The client-side extension that applies a GPO's security settings (GptTmpl.inf), and its MMC snap-in.
SECURITY_CSE = "{827D319E-6EAC-11D2-A4EA-00C04F79F83A}"
SECURITY_TOOL = "{803E14A0-B4FB-11D0-A0D0-00A0C90F574B}"
SECEDIT_FILE = "Machine\\Microsoft\\Windows NT\\SecEdit\\GptTmpl.inf"
GPT_INI = "GPT.INI"
SSS_DB = "/var/lib/sss/db"
SSS_GPO_CACHE = "/var/lib/sss/gpo_cache"
LDBSEARCH = "/usr/bin/ldbsearch"


# --- pure parsers -------------------------------------------------------------------------------------------

def decode_text(data: bytes) -> str:
    """The text of a policy file: UTF-16 (with its BOM, as Windows writes it), UTF-8 (with or without BOM), or
    a legacy 8-bit encoding."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16")
    if len(data) >= 2 and data[1:2] == b"\x00" and data[0:1] != b"\x00":  # UTF-16 LE without its BOM
        return data.decode("utf-16-le", errors="replace")
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def parse_inf(text: str) -> dict[str, dict[str, str]]:
    """An .inf / .ini file as {section (lower case): {key (lower case): value}}; `;` comments, any line ending,
    spaces around `=` ignored. A key repeated in a section keeps its last value, as secedit does."""
    sections: dict[str, dict[str, str]] = {}
    current: dict[str, str] | None = None
    for raw in text.splitlines():
        line = raw.strip().lstrip("\ufeff")
        if not line or line.startswith(";"):
            continue
        header = re.fullmatch(r"\[(.+)\]", line)
        if header:
            current = sections.setdefault(header.group(1).strip().lower(), {})
            continue
        if current is None or "=" not in line:
            continue
        key, value = line.split("=", 1)
        current[key.strip().lower()] = value.strip()
    return sections


def written_keys(text: str, section: str) -> list[str]:
    """The keys of one section as the file writes them (parse_inf lower-cases them), for messages."""
    keys: list[str] = []
    inside = False
    for raw in (text or "").splitlines():
        line = raw.strip().lstrip("\ufeff")
        header = re.fullmatch(r"\[(.+)\]", line)
        if header:
            inside = header.group(1).strip().lower() == section.lower()
        elif inside and "=" in line and not line.startswith(";"):
            keys.append(line.split("=", 1)[0].strip())
    return keys


def principals(value: str) -> list[str]:
    """The accounts of a privilege line: `*S-1-5-32-544,DURAND\\GG_Atelier` -> ['*S-1-5-32-544', 'DURAND\\GG_Atelier']."""
    return [part.strip().strip('"') for part in (value or "").split(",") if part.strip().strip('"')]


def privilege(template: dict[str, dict[str, str]], right: str) -> list[str]:
    """The accounts a GptTmpl.inf grants (or denies) `right` to, [] when the right is absent."""
    return principals(template.get("privilege rights", {}).get(right.lower(), ""))


def names_group(principal: str, *, sid: str, name: str, netbios: str = "", domain: str = "") -> bool:
    """Whether one privilege entry designates the group: its SID (`*S-1-…`, as GPMC writes it) or its name, bare
    or qualified by the domain (`DURAND\\GG_Atelier`, `durand.test\\GG_Atelier`), as Windows also resolves."""
    entry = principal.strip()
    if entry.startswith("*"):
        return entry[1:].upper() == sid.upper()
    if entry.upper() == sid.upper():
        return True
    qualifier, _, bare = entry.rpartition("\\")
    if bare.lower() != name.lower():
        return False
    return not qualifier or qualifier.lower() in {netbios.lower(), domain.lower()} - {""}


def names_group_by_sid(principal: str, sid: str) -> bool:
    entry = principal.strip().lstrip("*")
    return entry.upper() == sid.upper()


def gpt_ini_version(text: str) -> int | None:
    """The `Version=` of GPT.INI ([General] section), None when absent or not a number."""
    value = parse_inf(text).get("general", {}).get("version")
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def machine_version(version: int | str | None) -> int:
    """The computer-configuration half of a GPO version (low 16 bits; the user half is the high 16)."""
    return int(version or 0) & 0xFFFF


def extensions(value: str | None) -> list[tuple[str, ...]]:
    """gPCMachineExtensionNames `[{CSE}{tool}…][…]` as tuples of upper-case GUIDs, CSE first."""
    return [tuple(guid.upper() for guid in re.findall(r"\{[0-9A-Fa-f-]+\}", group))
            for group in re.findall(r"\[([^\]]*)\]", value or "")]


def has_security_extension(value: str | None) -> bool:
    return any(group and group[0] == SECURITY_CSE for group in extensions(value))


def sysvol_location(file_sys_path: str) -> tuple[str, str]:
    """`\\\\durand.test\\SysVol\\durand.test\\Policies\\{GUID}` -> ('SysVol', 'durand.test\\Policies\\{GUID}'):
    the share and the path inside it (the server part is the DC the grader talks to)."""
    parts = [p for p in re.split(r"[\\/]+", file_sys_path or "") if p]
    if len(parts) < 3:
        raise ProtocolError(f"chemin SYSVOL de la GPO inattendu : « {file_sys_path} »")
    return parts[1], "\\".join(parts[2:])


def sid_text(value: bytes | str | None) -> str:
    """An objectSid as `S-1-5-21-…`, from its binary form (LDAP without a schema) or its string form."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if len(value) < 8:
        raise ProtocolError("objectSid illisible (trop court)")
    revision, count = value[0], value[1]
    authority = int.from_bytes(value[2:8], "big")
    subs = struct.unpack(f"<{count}I", value[8:8 + 4 * count])
    return f"S-{revision}-{authority}" + "".join(f"-{s}" for s in subs)


def parse_ldif(text: str) -> list[dict[str, list[str]]]:
    """ldbsearch's LDIF output as entries {attribute (lower case): [values]}, with `dn`; folded lines joined,
    base64 values (`attr:: …`) decoded."""
    entries: list[dict[str, list[str]]] = []
    lines: list[str] = []
    for raw in text.splitlines():
        if raw.startswith(" ") and lines:
            lines[-1] += raw[1:]
        else:
            lines.append(raw)
    current: dict[str, list[str]] = {}
    for line in lines + [""]:
        if not line.strip():
            if current:
                entries.append(current)
                current = {}
            continue
        if line.startswith("#") or ":" not in line:
            continue
        name, _, value = line.partition(":")
        if value.startswith(":"):
            value = base64.b64decode(value[1:].strip()).decode("utf-8", errors="replace")
        else:
            value = value.strip()
        current.setdefault(name.strip().lower(), []).append(value)
    return entries


@dataclass(frozen=True)
class ClientPolicy:
    """What sssd on a workstation enforces and holds: the resultant rights, and the GPOs it downloaded."""
    applied: dict[str, list[str]]            # right (lower case) -> accounts, from gpo_result (empty: none applies)
    downloaded: dict[str, int]               # GPO GUID (upper case) -> version sssd holds
    cached_files: dict[str, str] = field(default_factory=dict)  # GPO GUID -> its cached GptTmpl.inf text

    def applied_right(self, right: str) -> list[str]:
        return [p for value in self.applied.get(right.lower(), []) for p in principals(value)]


def client_policy(entries: list[dict[str, list[str]]]) -> ClientPolicy:
    """sssd's cache entries (parse_ldif of its cache ldb) -> ClientPolicy."""
    applied: dict[str, list[str]] = {}
    downloaded: dict[str, int] = {}
    for entry in entries:
        classes = {c.lower() for c in entry.get("objectclass", [])}
        if "gpo_result" in classes:
            for name, values in entry.items():
                if name not in ("dn", "objectclass", "distinguishedname"):
                    applied.setdefault(name, []).extend(values)
        elif "gpo" in classes and entry.get("gpoguid"):
            try:
                downloaded[entry["gpoguid"][0].upper()] = int(entry.get("gpoversion", ["0"])[0])
            except ValueError:
                downloaded[entry["gpoguid"][0].upper()] = -1
    return ClientPolicy(applied, downloaded)


# --- readers ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SysvolGpo:
    """A GPO's files as a computer would fetch them from SYSVOL (None: the file is absent or refused)."""
    guid: str
    share: str
    path: str
    template_text: str | None
    gpt_ini_text: str | None

    @property
    def template(self) -> dict[str, dict[str, str]]:
        return parse_inf(self.template_text or "")

    @property
    def version(self) -> int | None:
        return gpt_ini_version(self.gpt_ini_text) if self.gpt_ini_text is not None else None


def read_sysvol(smb: SmbClient, address: str, guid: str, file_sys_path: str, *, user: str, password: str,
                domain: str) -> SysvolGpo:
    """Fetch a GPO's GptTmpl.inf and GPT.INI over SMB from the DC at `address`."""
    share, path = sysvol_location(file_sys_path)
    template = smb.fetch(address, share, f"{path}\\{SECEDIT_FILE}", user, password, domain=domain)
    gpt = smb.fetch(address, share, f"{path}\\{GPT_INI}", user, password, domain=domain)
    return SysvolGpo(guid.upper(), share, path, None if template is None else decode_text(template),
                     None if gpt is None else decode_text(gpt))


def read_client_policy(host, guids: tuple[str, ...] = ()) -> ClientPolicy:
    """sssd's GPO state on a Linux workstation (an SshHost): its resultant rights, the GPOs it downloaded and,
    for `guids`, the GptTmpl.inf it keeps. Needs ldb-tools (ldbsearch) there; reads every sssd domain cache."""
    listing = host.run("ls -1 %s", SSS_DB)
    if not listing.ok:
        raise RemoteError(f"{host.name} : le cache de sssd ({SSS_DB}) est illisible : sssd n'est pas installé ?")
    caches = [name for name in listing.stdout.split() if name.startswith("cache_") and name.endswith(".ldb")]
    entries: list[dict[str, list[str]]] = []
    for cache in caches:
        out = host.check_output(f"{LDBSEARCH} -H %s -b cn=sysdb %s", f"{SSS_DB}/{cache}",
                                "(|(objectClass=gpo)(objectClass=gpo_result))")
        entries += parse_ldif(out)
    policy = client_policy(entries)
    files: dict[str, str] = {}
    for guid in guids:
        found = host.check_output("find %s -ipath %s -type f", SSS_GPO_CACHE,
                                  f"*/Policies/{guid}/{SECEDIT_FILE.replace(chr(92), '/')}") \
            if host.run("test -d %s", SSS_GPO_CACHE).ok else ""
        for path in found.splitlines()[:1]:
            files[guid.upper()] = decode_text(base64.b64decode(host.check_output("base64 -w0 -- %s", path)))
    return ClientPolicy(policy.applied, policy.downloaded, files)


__all__ = ["SECURITY_CSE", "SysvolGpo", "ClientPolicy", "decode_text", "parse_inf",
           "written_keys", "principals", "privilege", "names_group", "names_group_by_sid", "gpt_ini_version", "machine_version",
           "extensions", "has_security_extension", "sysvol_location", "sid_text", "parse_ldif", "client_policy",
           "read_sysvol", "read_client_policy"]
