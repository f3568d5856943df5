"""What a Debian machine says about itself, read over SSH: typed answers for checks to assert on.

Every query checks its command's exit status: "nothing wrong" and "could not ask" are different answers
(`CommandFailed` for the latter). System binaries by absolute path, arguments quoted by `run(cmd, *args)`.
Parsers are pure functions beside the queries, tested without a lab."""
from __future__ import annotations

import re

from .base import CommandFailed, quote
from .ssh import SshHost

NOT_FOUND = (126, 127)  # the shell could not run the command: the tool is missing, not the fact


def _fact(host: SshHost, command: str, *args: object, ok: tuple[int, ...] = (0,)) -> tuple[int, str]:
    """(exit status, stdout) of a command whose exit statuses in `ok` are all answers."""
    result = host.run(command, *args)
    if result.exit_status not in ok:
        raise CommandFailed(host.name, result.command.removeprefix("$ "), result.exit_status, result.stderr)
    return result.exit_status, result.stdout


def failed_units(host: SshHost) -> list[str]:
    out = host.check_output("/usr/bin/systemctl list-units --state=failed --no-legend --plain --all")
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def package_problems(host: SshHost) -> str:
    """What `dpkg --audit` reports (half-installed or half-configured packages); empty when all is well."""
    _status, out = _fact(host, "/usr/bin/dpkg --audit", ok=(0, 1))
    return out.strip()


def hostname(host: SshHost) -> str:
    return host.check_output("/usr/bin/hostname").strip()


def static_hostname(host: SshHost) -> str:
    """The name the machine keeps across a reboot (/etc/hostname), not only the running one."""
    return host.check_output("/usr/bin/cat /etc/hostname").strip()


def timezone(host: SshHost) -> str:
    return host.check_output("/usr/bin/timedatectl show --property=Timezone --value").strip()


def apt_config(host: SshHost) -> str:
    return host.check_output("/usr/bin/apt-config dump")


def apt_setting(dump: str, key: str) -> str:
    found = re.search(rf'^{re.escape(key)} "([^"]*)";', dump, re.MULTILINE)
    return found.group(1) if found else ""


def accounts_without_password(host: SshHost) -> list[str]:
    """Local accounts whose password field is empty: anyone may log on as them."""
    return host.check_output("/usr/bin/awk -F: %s /etc/shadow", '$2 == "" {print $1}').split()


def unit_state(host: SshHost, unit: str) -> tuple[str, str]:
    """(is-enabled, is-active) of a unit, as systemctl words them ('enabled', 'active', 'disabled', …)."""
    _s, enabled = _fact(host, "/usr/bin/systemctl is-enabled %s", unit, ok=(0, 1, 4))
    _s, active = _fact(host, "/usr/bin/systemctl is-active %s", unit, ok=(0, 1, 3, 4))
    return enabled.strip() or "not-found", active.strip()


def domain_join(host: SshHost, domain: str) -> tuple[bool, str]:
    """Whether the machine's own account authenticates to the domain (`adcli testjoin`, keytab against the DC):
    proof of a real join, not only of configuration files."""
    result = host.run("/usr/sbin/adcli testjoin --domain=%s", domain)
    if result.exit_status in NOT_FOUND:
        raise CommandFailed(host.name, "adcli testjoin", result.exit_status, result.stderr)
    return result.ok, (result.stdout + result.stderr).strip()


def resolves_srv(host: SshHost, record: str) -> list[str]:
    """Targets of an SRV record as this machine's resolver sees them ([] when it has none: an answer)."""
    status, out = _fact(host, "/usr/bin/host -W 3 -t SRV %s", record, ok=(0, 1))
    return [line.split()[-1].rstrip(".") for line in out.splitlines() if "has SRV record" in line]


def time_source(host: SshHost) -> str:
    """The address chrony follows ('^*' in `chronyc sources`), '' when it follows none."""
    for line in host.check_output("/usr/bin/chronyc -n sources").splitlines():
        if line.startswith("^*"):
            return line.split()[1]
    return ""


def user_setting(host: SshHost, user: str, schema: str, key: str) -> str:
    """A GSettings value of a user's own session profile (dconf), read as that user."""
    inner = f"dbus-run-session -- gsettings get {quote(schema)} {quote(key)}"
    return host.check_output("/usr/bin/timeout 30 /usr/bin/su - %s -s /bin/sh -c %s", user, inner).strip()


def sshd_setting(host: SshHost, key: str, connection: str = "user=root,host=client,addr=192.0.2.1") -> str:
    """The value sshd really applies (`sshd -T -C`: with its Match blocks) to a given connection."""
    for line in host.check_output("/usr/sbin/sshd -T -C %s", connection).splitlines():
        name, _, value = line.partition(" ")
        if name == key.lower():
            return value.strip()
    return ""


def firewall_ruleset(host: SshHost) -> str:
    return host.check_output("/usr/sbin/nft list ruleset")


def input_policy(ruleset: str) -> str:
    """The policy of the chain hooked on input ('' when no such chain): 'drop' means closed by default."""
    found = re.search(r"type filter hook input priority [^;]+; policy (\w+);", ruleset)
    return found.group(1) if found else ""


def accepted_tcp_ports(ruleset: str) -> set[int]:
    ports: set[int] = set()
    for spec in re.findall(r"tcp dport (\{[^}]*\}|\d+)[^\n]*accept", ruleset):
        ports |= {int(p) for p in re.findall(r"\d+", spec)}
    return ports


def smb_listing(host: SshHost, share: str, user: str, password: str) -> tuple[bool, str]:
    """List a share from this machine as a domain user (`smbclient`, password in its environment, not argv)."""
    script = 'timeout 30 smbclient "$SHARE" -U "$SMB_USER" --use-kerberos=off -c ls 2>&1\n'
    result = host.run_script(f"smbclient ls {share} as {user}", script,
                             {"SHARE": share, "SMB_USER": user, "PASSWD": password})
    return result.ok, result.stdout.strip()
