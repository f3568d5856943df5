"""The facts A1.2's network services need: what the workstation's resolver answers and who answered, what
chrony follows and whether it starts at boot, a user's GNOME settings, and the DC's time service as the
network (the grader, inside the lab's network) sees it.

Every query checks its command's exit status ("nothing found" and "could not ask" are different answers:
`CommandFailed` for the latter); system binaries by absolute path, arguments quoted by `run(cmd, *args)`.
Parsers are pure functions beside the queries, tested without a lab."""
from __future__ import annotations

import ipaddress
import re
import socket
import struct
from dataclasses import dataclass

from .base import CommandFailed, HostUnreachable, RemoteError, quote
from .evidence import Recorder
from .ssh import SshHost

HOST = "/usr/bin/host"
SYSTEMCTL = "/usr/bin/systemctl"
CHRONYC = "/usr/bin/chronyc"
NTP_PORT = 123
NTP_TIMEOUT_S = 2
NTP_TRIES = 2


def _fact(host: SshHost, command: str, *args: object, ok: tuple[int, ...] = (0,)) -> tuple[int, str]:
    """(exit status, stdout) of a command whose exit statuses in `ok` are all answers."""
    result = host.run(command, *args)
    if result.exit_status not in ok:
        raise CommandFailed(host.name, result.command.removeprefix("$ "), result.exit_status, result.stderr)
    return result.exit_status, result.stdout


# --- DNS ------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SrvAnswer:
    record: str
    targets: tuple[str, ...]  # the SRV targets, '' when none
    server: str  # the address of the DNS server that answered ('' when none answered)
    no_server: bool  # no DNS server of the workstation answered at all


def parse_host_srv(record: str, output: str) -> SrvAnswer:
    """`host -v -t SRV` output -> targets and the server that answered."""
    targets = tuple(line.split()[-1].rstrip(".") for line in output.splitlines()
                    if re.search(r"\sIN\s+SRV\s+\d+\s+\d+\s+\d+\s+\S+", line) and not line.startswith(";"))
    servers = re.findall(r"^Received \d+ bytes from ([0-9a-fA-F.:]+)#\d+", output, flags=re.MULTILINE)
    no_server = "no servers could be reached" in output
    return SrvAnswer(record, targets, servers[-1] if servers else "", no_server and not servers)


def srv_answer(host: SshHost, record: str) -> SrvAnswer:
    """How the machine's own resolver answers an SRV query (exit 1: no record or no server, both answers)."""
    _status, out = _fact(host, f"{HOST} -v -W 3 -t SRV %s", record, ok=(0, 1))
    return parse_host_srv(record, out)


def parse_nameservers(resolv_conf: str) -> list[str]:
    return [line.split()[1] for line in resolv_conf.splitlines()
            if line.strip().startswith("nameserver") and len(line.split()) > 1]


def nameservers(host: SshHost) -> list[str]:
    return parse_nameservers(host.check_output("/bin/cat /etc/resolv.conf"))


# --- time -------------------------------------------------------------------------------------------------------

def unit_states(host: SshHost, unit: str) -> tuple[str, str]:
    """(`systemctl is-active`, `systemctl is-enabled`) words of a unit: 'inactive', 'disabled', 'not-found'…
    are answers; a systemctl that cannot run is CommandFailed."""
    _s, active = _fact(host, f"{SYSTEMCTL} is-active %s", unit, ok=(0, 1, 2, 3, 4))
    _s, enabled = _fact(host, f"{SYSTEMCTL} is-enabled %s", unit, ok=(0, 1, 2, 3, 4))
    # is-enabled prints nothing on stdout for an unknown unit (its complaint is on stderr)
    return (active.strip().splitlines() or ["unknown"])[-1], (enabled.strip().splitlines() or ["not-found"])[-1]


def parse_chrony_sources(output: str) -> tuple[str, list[str]]:
    """(the address chrony follows — its '^*' line —, every source it knows) of `chronyc -n sources`."""
    followed, known = "", []
    for line in output.splitlines():
        if re.match(r"^[\^=#][*+\-?x~ ]\s", line):
            address = line.split()[1]
            known.append(address)
            if line.startswith("^*") or line.startswith("#*"):
                followed = address
    return followed, known


def chrony_sources(host: SshHost) -> tuple[str, list[str]]:
    return parse_chrony_sources(host.check_output(f"{CHRONYC} -n sources"))


@dataclass(frozen=True)
class NtpAnswer:
    server: str
    source: str  # the grader's own address the question came from
    answered: bool
    stratum: int = 0
    leap: int = 3  # 3: the server says its clock is not synchronised (it gives no usable time)

    @property
    def serves_time(self) -> bool:
        return self.answered and self.leap != 3 and 1 <= self.stratum <= 15


def parse_ntp_reply(data: bytes) -> tuple[int, int, int]:
    """(leap indicator, mode, stratum) of an NTP reply."""
    if len(data) < 48:
        raise ValueError(f"a {len(data)}-byte reply is not NTP")
    first, stratum = struct.unpack("!BB", data[:2])
    return first >> 6, first & 7, stratum


def ntp_probe(address: str, recorder: Recorder, *, name: str = "grader") -> NtpAnswer:
    """Ask `address` for the time from here (the grader, inside the lab's network) with an NTP client
    packet. Silence is an answer (the server does not serve this address); a local socket failure is not."""
    question = b"\x23" + b"\0" * 47  # LI 0, version 4, mode 3 (client)
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(NTP_TIMEOUT_S)
            sock.connect((address, NTP_PORT))
            source = sock.getsockname()[0]
            for _ in range(NTP_TRIES):
                sock.send(question)
                try:
                    data = sock.recv(512)
                except socket.timeout:
                    continue
                except ConnectionRefusedError:  # ICMP port unreachable: nothing listens there, an answer
                    recorder.record(name, f"ntp query {address}:{NTP_PORT} from {source}", "port closed (ICMP)")
                    return NtpAnswer(address, source, False)
                try:
                    leap, mode, stratum = parse_ntp_reply(data)
                except ValueError as exc:
                    raise RemoteError(f"{address} : réponse illisible sur le port NTP ({exc})") from None
                recorder.record(name, f"ntp query {address}:{NTP_PORT} from {source}",
                                f"answer: leap {leap}, mode {mode}, stratum {stratum}")
                return NtpAnswer(address, source, True, stratum, leap)
    except OSError as exc:
        if isinstance(exc, ConnectionRefusedError):
            recorder.record(name, f"ntp query {address}:{NTP_PORT}", "port closed (ICMP)")
            return NtpAnswer(address, "", False)
        raise HostUnreachable(f"le correcteur n'a pas pu interroger {address} en NTP : {exc}") from None
    recorder.record(name, f"ntp query {address}:{NTP_PORT} from {source}",
                    f"no answer in {NTP_TRIES} x {NTP_TIMEOUT_S} s")
    return NtpAnswer(address, source, False)


def in_network(address: str, cidr: str) -> bool:
    try:
        return ipaddress.ip_address(address) in ipaddress.ip_network(str(cidr), strict=False)
    except ValueError:
        return False


# --- a user's session -------------------------------------------------------------------------------------------

def account_known(host: SshHost, user: str) -> bool:
    """Whether the machine knows the account (`getent passwd`: exit 2 is "no such account", an answer)."""
    status, _out = _fact(host, "/usr/bin/getent passwd %s", user, ok=(0, 2))
    return status == 0


def user_setting(host: SshHost, user: str, schema: str, key: str) -> str:
    """A GSettings value as the user's own session reads it (their dconf profile, then the system's
    defaults), read as that user."""
    inner = f"dbus-run-session -- gsettings get {quote(schema)} {quote(key)}"
    return host.check_output("/usr/bin/timeout 30 /usr/bin/su - %s -s /bin/sh -c %s", user, inner).strip()


def as_number(value: str) -> float | None:
    """A GSettings number as printed ('1.5', 'double 1.5', "'1.5'"), None when it is not one."""
    found = re.fullmatch(r"(?:double\s+)?'?\s*([-+]?\d+(?:[.,]\d+)?)\s*'?", value.strip())
    return float(found.group(1).replace(",", ".")) if found else None
