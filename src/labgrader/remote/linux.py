"""What a Debian machine says about itself, read over SSH: typed answers for checks to assert on.

Every query checks its command's exit status: "nothing wrong" and "could not ask" are different answers
(`CommandFailed` for the latter). System binaries by absolute path, arguments quoted by `run(cmd, *args)`.
Parsers are pure functions beside the queries, tested without a lab."""
from __future__ import annotations

import re
import socket
import time

from .base import CommandFailed, HostUnreachable, RemoteError, quote
from .ssh import CommandTimeout, SshHost

NOT_FOUND = (126, 127)  # the shell could not run the command: the tool is missing, not the fact


def _fact(host: SshHost, command: str, *args: object, ok: tuple[int, ...] = (0,)) -> tuple[int, str]:
    """(exit status, stdout) of a command whose exit statuses in `ok` are all answers."""
    result = host.run(command, *args)
    if result.exit_status not in ok:
        raise CommandFailed(host.name, result.command.removeprefix("$ "), result.exit_status, result.stderr)
    return result.exit_status, result.stdout


REBOOT_TIMEOUT_S = 180
BOOT_TIMEOUT_S = 120


def failed_units(host: SshHost) -> list[str]:
    out = host.check_output("/usr/bin/systemctl list-units --state=failed --no-legend --plain --all")
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def boot_marker(host: SshHost) -> str:
    """What changes at every start of the machine's init: its PID 1's start time (field 22 of /proc/1/stat),
    read in the machine's own PID namespace (a container's reboot restarts its init, not the kernel)."""
    return parse_proc_stat_start(host.check_output("/usr/bin/cat /proc/1/stat"))


def parse_proc_stat_start(stat: str) -> str:
    """Field 22 (starttime) of a /proc/<pid>/stat line; the command name (field 2) may hold spaces."""
    fields = stat.rsplit(")", 1)[-1].split()
    if len(fields) < 20:
        raise ValueError(f"unexpected /proc/1/stat: {stat[:120]!r}")
    return fields[19]


def reboot(host: SshHost, *, timeout: float = REBOOT_TIMEOUT_S) -> float:
    """Restart the machine once and wait (bounded) until it is back and its boot has finished.

    Returns the seconds it took. A machine that does not come back within `timeout` is HostUnreachable:
    the grader got no answer, which is not a verdict."""
    started = time.monotonic()
    before = boot_marker(host)
    # Scheduled a second ahead, so the command's own answer comes back before the machine goes down.
    host.check_output("/usr/bin/systemd-run --quiet --on-active=1 --timer-property=AccuracySec=100ms "
                      "/usr/bin/systemctl reboot")
    host.close()
    deadline = started + timeout
    while True:
        time.sleep(1)
        if time.monotonic() > deadline:
            host.recorder.record(host.name, "reboot", f"not back after {timeout:.0f} s")
            raise HostUnreachable(f"{host.name} n'est pas revenu en SSH dans les {timeout:.0f} s qui ont suivi "
                                  "son redémarrage")
        if tcp_probe(host.address, host.port, timeout=2) != "open":
            continue
        host.failure = None  # the wait for the restart is not a failure of the host
        try:
            after = boot_marker(host)
        except (HostUnreachable, CommandTimeout, CommandFailed):
            host.close()
            continue
        if after != before:
            break
        host.close()  # still the old system, not yet gone down
    status, state = _fact(host, "/usr/bin/timeout %s /usr/bin/systemctl is-system-running --wait",
                          BOOT_TIMEOUT_S, ok=(0, 1, 124))
    took = time.monotonic() - started
    host.recorder.record(host.name, "reboot", f"back in {took:.1f} s, system {state.strip() or 'still starting'}")
    return took


def package_problems(host: SshHost) -> str:
    """What `dpkg --audit` reports (half-installed or half-configured packages); empty when all is well."""
    _status, out = _fact(host, "/usr/bin/dpkg --audit", ok=(0, 1))
    return out.strip()


def broken_dependencies(host: SshHost) -> str:
    """What `apt-get check` reports about the installed packages' dependencies (a package forced in without
    what it needs); empty when all is well. Read without taking apt's lock (a daily apt run may hold it)."""
    result = host.run("/usr/bin/apt-get check -q -o Debug::NoLocking=1")
    said = (result.stdout + result.stderr).strip()
    if result.ok:
        return ""
    problems = unmet_dependencies(said)
    if not problems:  # apt could not read its own state: no answer about the dependencies
        raise CommandFailed(host.name, "apt-get check", result.exit_status, result.stderr or result.stdout)
    return problems


def unmet_dependencies(apt_check: str) -> str:
    """What `apt-get check` says from its "unmet dependencies" line on ('' when it says nothing of the kind)."""
    lines = apt_check.splitlines()
    for index, line in enumerate(lines):
        if "unmet dependencies" in line.lower():
            return "\n".join(part.strip() for part in lines[index:] if part.strip())
    return ""


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
    """Local accounts whose password field is empty, in /etc/shadow or in /etc/passwd itself (an account with
    no shadow entry): anyone may log on as them."""
    shadow = host.check_output("/usr/bin/cat /etc/shadow")
    passwd = host.check_output("/usr/bin/cat /etc/passwd")
    return empty_passwords(passwd, shadow)


def empty_passwords(passwd: str, shadow: str) -> list[str]:
    found = [f[0] for f in (line.split(":") for line in shadow.splitlines()) if len(f) > 1 and f[1] == ""]
    for fields in (line.split(":") for line in passwd.splitlines()):
        if len(fields) > 1 and fields[1] == "" and fields[0] not in found:
            found.append(fields[0])
    return found


def local_account(host: SshHost, key: str | int) -> str:
    """The line of /etc/passwd (NSS `files` only) for a user name or uid; '' when there is none."""
    _status, out = _fact(host, "/usr/bin/getent -s files passwd %s", key, ok=(0, 2))
    return out.strip()


def directory_account(host: SshHost, name: str) -> str:
    """The passwd line sssd gives for a user ('' when sssd knows no such user)."""
    _status, out = _fact(host, "/usr/bin/getent -s sss passwd %s", name, ok=(0, 2))
    return out.strip()


def uid_of(identity: str) -> int | None:
    """The uid in `id`'s output (uid=1988001106(amartin@durand.test) gid=…), None when absent."""
    found = re.search(r"\buid=(\d+)", identity)
    return int(found.group(1)) if found else None


def passwd_uid(line: str) -> int | None:
    fields = line.split(":")
    return int(fields[2]) if len(fields) > 2 and fields[2].isdigit() else None


def package_installed(host: SshHost, package: str) -> bool:
    status, out = _fact(host, "/usr/bin/dpkg-query -W -f=%s %s", "${db:Status-Status}", package, ok=(0, 1))
    return status == 0 and out.strip() == "installed"


def periodic_enabled(value: str) -> bool:
    """Whether an APT::Periodic interval turns the job on ('1', '7', 'always', '12h'; not '', '0')."""
    value = value.strip().lower()
    found = re.fullmatch(r"(\d+)[smhd]?", value)
    return value == "always" or bool(found and int(found.group(1)) > 0)


def apt_list(dump: str, key: str) -> list[str]:
    """The values of a list in `apt-config dump` (`Key:: "value";` lines)."""
    return re.findall(rf'^{re.escape(key)}:: "([^"]*)";', dump, re.MULTILINE)


def security_origins(dump: str) -> list[str]:
    """unattended-upgrades' allowed origins that name the security archive."""
    return [origin for key in ("Unattended-Upgrade::Origins-Pattern", "Unattended-Upgrade::Allowed-Origins")
            for origin in apt_list(dump, key) if "security" in origin.lower()]


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


def sshd_settings(host: SshHost, *, user: str, addr: str, remote_host: str | None = None) -> dict[str, str]:
    """What sshd really applies (`sshd -T -C`: its Match blocks included) to a connection of `user` from
    `addr`; keys in lower case as sshd prints them."""
    connection = f"user={user},host={remote_host or addr},addr={addr}"
    return parse_sshd_t(host.check_output("/usr/sbin/sshd -T -C %s", connection))


def parse_sshd_t(out: str) -> dict[str, str]:
    settings: dict[str, str] = {}
    for line in out.splitlines():
        name, _, value = line.strip().partition(" ")
        if name:
            settings.setdefault(name.lower(), value.strip())
    return settings


ROOT_WITHOUT_PASSWORD = ("no", "prohibit-password", "without-password", "forced-commands-only")


def root_password_logon_allowed(settings: dict[str, str]) -> bool:
    """Whether sshd, with these settings, would let root log on with a password (or keyboard-interactive)."""
    if settings.get("permitrootlogin", "") in ROOT_WITHOUT_PASSWORD:
        return False
    return settings.get("passwordauthentication") == "yes" or settings.get("kbdinteractiveauthentication") == "yes"


def sshd_setting(host: SshHost, key: str, connection: str = "user=root,host=client,addr=192.0.2.1") -> str:
    """One value sshd really applies (`sshd -T -C`: with its Match blocks) to a given connection."""
    return parse_sshd_t(host.check_output("/usr/sbin/sshd -T -C %s", connection)).get(key.lower(), "")


def grader_address(host: SshHost) -> str:
    """The address this grader's connection to the machine comes from (what the machine's rules see)."""
    transport = host.client.get_transport()
    if transport is None or transport.sock is None:
        raise HostUnreachable(f"{host.name} : la connexion SSH de l'évaluateur est fermée")
    return transport.sock.getsockname()[0]


def tcp_probe(address: str, port: int, *, timeout: float = 3) -> str:
    """A TCP connection attempt from the grader: 'open', 'refused' (a reset or an ICMP refusal came back) or
    'silent' (nothing came back: dropped)."""
    try:
        with socket.create_connection((address, port), timeout=timeout):
            return "open"
    except ConnectionRefusedError:
        return "refused"
    except (socket.timeout, TimeoutError):
        return "silent"
    except OSError:  # no route, host unreachable (ICMP): the packet did not get in either
        return "refused"


def probe_from_grader(host: SshHost, port: int, *, timeout: float = 3) -> str:
    outcome = tcp_probe(host.address, port, timeout=timeout)
    host.recorder.record(host.name, f"tcp connect from the grader to {host.address}:{port}", outcome)
    return outcome


def probe_from(origin: SshHost, address: str, port: int, *, timeout: int = 5) -> str:
    """A TCP connection attempt made from another machine of the lab (bash's /dev/tcp): 'open', 'refused' or
    'silent'."""
    status, _out = _fact(origin, "/usr/bin/timeout %s /bin/bash -c %s probe %s %s", timeout,
                         'exec 3<>"/dev/tcp/$1/$2"', address, port, ok=(0, 1, 124))
    return {0: "open", 1: "refused", 124: "silent"}[status]


def listening_tcp_ports(host: SshHost) -> set[int]:
    """TCP ports something listens on, on an address other than loopback (`ss -Hltn`)."""
    return parse_listening(host.check_output("/usr/bin/ss -Hltn"))


def parse_listening(ss: str) -> set[int]:
    ports: set[int] = set()
    for line in ss.splitlines():
        fields = line.split()
        if len(fields) < 4:
            continue
        address, _, port = fields[3].rpartition(":")
        address = address.strip("[]").split("%")[0]
        if port.isdigit() and not (address.startswith("127.") or address == "::1"):
            ports.add(int(port))
    return ports


def agent_hostname(host: SshHost) -> str:
    """The host name the Zabbix agent of this machine announces for its active checks (`agent.hostname`)."""
    out = host.check_output("/usr/sbin/zabbix_agentd -t agent.hostname")
    found = re.search(r"\[s\|([^\]]*)\]", out)
    return found.group(1) if found else ""


def firewall_ruleset(host: SshHost) -> str:
    return host.check_output("/usr/sbin/nft list ruleset")


def input_policy(ruleset: str) -> str:
    """'drop' when a base chain hooked on input drops by default (a packet must pass every input base chain),
    else the policy of the first such chain ('' when there is none): 'drop' means closed by default."""
    policies = re.findall(r"type filter hook input priority [^;]+; policy (\w+);", ruleset)
    return "drop" if "drop" in policies else (policies[0] if policies else "")


def smb_listing(host: SshHost, share: str, user: str, password: str) -> tuple[bool, str]:
    """List a share from this machine as a domain user (`smbclient`, password in its environment, not argv)."""
    script = 'timeout 30 smbclient "$SHARE" -U "$SMB_USER" --use-kerberos=off -c ls 2>&1\n'
    result = host.run_script(f"smbclient ls {share} as {user}", script,
                             {"SHARE": share, "SMB_USER": user, "PASSWD": password})
    return result.ok, result.stdout.strip()


def listening_pids(ss: str, port: int) -> set[int]:
    """PIDs of the processes listening on a TCP port, from `ss -Hltnp` ('users:(("python3",pid=812,fd=3))')."""
    found: set[int] = set()
    for line in ss.splitlines():
        fields = line.split()
        if len(fields) >= 4 and fields[3].rpartition(":")[2] == str(port):
            found.update(int(pid) for pid in re.findall(r"pid=(\d+)", line))
    return found


def environment_value(environ: str, name: str) -> str | None:
    """A variable of a process's environment as /proc/PID/environ holds it (NUL-separated), None when unset."""
    for entry in environ.split("\0"):
        key, sep, value = entry.partition("=")
        if sep and key == name:
            return value
    return None


def service_process(host: SshHost, unit: str) -> tuple[int, str | None]:
    """(MainPID, its environment) of a running unit; (0, None) when it runs no process."""
    pid = int(host.check_output("/usr/bin/systemctl show -P MainPID %s", unit).strip() or 0)
    if pid <= 0:
        return 0, None
    environ = host.run("/usr/bin/cat %s", f"/proc/{pid}/environ")
    return pid, environ.stdout if environ.ok else None


def open_deleted_files(host: SshHost, under: str) -> list[str]:
    """Files under a path that were deleted while a process holds them open: their space is not given back."""
    found = host.run("/usr/bin/find /proc -mindepth 3 -maxdepth 3 -path '/proc/[0-9]*/fd/*' -lname %s -printf '%%l\\n'",
                     f"{under.rstrip('/')}/* (deleted)")
    return sorted(set(found.stdout.split("\n")) - {""})


def shell_setting(text: str, name: str) -> str | None:
    """NAME's value in a shell-style settings file (/etc/default/…, an EnvironmentFile): the last one wins, as
    when the shell reads it; None when unset."""
    found = None
    for line in text.splitlines():
        key, sep, value = line.strip().removeprefix("export ").partition("=")
        if sep and key.strip() == name:
            found = value.strip().strip("'\"")
    return found
