"""What a Debian machine says about itself, read over SSH: typed answers for checks to assert on."""
from __future__ import annotations

import re

from .ssh import SshHost


def failed_units(host: SshHost) -> list[str]:
    out = host.run("systemctl list-units --state=failed --no-legend --plain").stdout
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def package_problems(host: SshHost) -> str:
    """What `dpkg --audit` reports (half-installed or half-configured packages); empty when all is well."""
    return host.run("dpkg --audit").stdout.strip()


def hostname(host: SshHost) -> str:
    return host.run("hostname").stdout.strip()


def timezone(host: SshHost) -> str:
    return host.run("timedatectl show --property=Timezone --value").stdout.strip()


def sshd_setting(host: SshHost, key: str) -> str:
    """The value sshd really applies (`sshd -T`), whatever file set it."""
    for line in host.run("sshd -T").stdout.splitlines():
        name, _, value = line.partition(" ")
        if name == key.lower():
            return value.strip()
    return ""


def apt_setting(host: SshHost, key: str) -> str:
    found = re.search(rf'^{re.escape(key)} "([^"]*)";', host.run("apt-config dump").stdout, re.MULTILINE)
    return found.group(1) if found else ""


def accounts_without_password(host: SshHost) -> list[str]:
    """Local accounts whose password field is empty: anyone may log on as them."""
    return host.run("awk -F: '$2 == \"\" {print $1}' /etc/shadow").stdout.split()


def firewall_ruleset(host: SshHost) -> str:
    return host.run("nft list ruleset").stdout


def input_policy(ruleset: str) -> str:
    """The policy of the chain hooked on input ('' when no such chain): 'drop' means closed by default."""
    found = re.search(r"type filter hook input priority [^;]+; policy (\w+);", ruleset)
    return found.group(1) if found else ""


def accepted_tcp_ports(ruleset: str) -> set[int]:
    ports: set[int] = set()
    for spec in re.findall(r"tcp dport (\{[^}]*\}|\d+)[^\n]*accept", ruleset):
        ports |= {int(p) for p in re.findall(r"\d+", spec)}
    return ports


def domain_join(host: SshHost, domain: str) -> tuple[bool, str]:
    """Whether the machine's own account authenticates to the domain (`adcli testjoin`, keytab against the DC):
    proof of a real join, not only of configuration files."""
    result = host.run(f"adcli testjoin --domain={domain}")
    return result.ok, (result.stdout + result.stderr).strip()


def smb_listing(host: SshHost, share: str, user: str, password: str) -> tuple[bool, str]:
    """List a share from this machine as a domain user (`smbclient`, password in its environment, not argv).

    NTLM, not Kerberos: a workstation whose resolver is wrong would otherwise wait minutes for a KDC."""
    script = 'timeout 30 smbclient "$SHARE" -U "$SMB_USER" --use-kerberos=off -c ls 2>&1\n'
    result = host.run_script(f"smbclient ls {share} as {user}", script,
                             {"SHARE": share, "SMB_USER": user, "PASSWD": password})
    return result.ok, result.stdout.strip()


def resolves_srv(host: SshHost, record: str) -> list[str]:
    """Targets of an SRV record as this machine's resolver sees them."""
    out = host.run(f"host -W 3 -t SRV {record}").stdout
    return [line.split()[-1].rstrip(".") for line in out.splitlines() if "has SRV record" in line]


def time_source(host: SshHost) -> str:
    """The address chrony follows ('^*' in `chronyc sources`), '' when it follows none."""
    for line in host.run("chronyc -n sources").stdout.splitlines():
        if line.startswith("^*"):
            return line.split()[1]
    return ""


def user_setting(host: SshHost, user: str, schema: str, key: str) -> str:
    """A GSettings value of a user's own session profile (dconf), read as that user."""
    command = f"timeout 30 su - {user} -s /bin/sh -c 'dbus-run-session -- gsettings get {schema} {key}'"
    result = host.run(command)
    return result.stdout.strip() if result.ok else ""
