"""SSH to a lab machine with paramiko: one connection per host, commands recorded as evidence, and a
testinfra host on that same connection for checks that read like sentences.

`run(cmd, *args)` quotes its arguments as testinfra does; it runs as root through `sudo -n` and knows
when sudo itself refused (the evaluator's account, not the candidate's work: an error, never a verdict).
`check_output` is for queries that must succeed to mean anything: a non-zero exit is `CommandFailed`.
Every wait is bounded: a command that never ends or never sends its exit status is `CommandTimeout`."""
from __future__ import annotations

import select
import socket
import threading
import time
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import paramiko
import testinfra.host
from testinfra.backend.paramiko import ParamikoBackend

from .base import CommandFailed, CommandResult, HostUnreachable, RemoteError, command_line, quote
from .evidence import Recorder
from .hostkeys import HostKeyRefused, PinnedHostKey

CONNECT_TIMEOUT_S = 10
COMMAND_TIMEOUT_S = 60
SCRIPT_TIMEOUT_S = 600
# A domain logon may take well over 10 s (Kerberos, sssd's first lookups): a slow "yes" is not a "no".
LOGON_TIMEOUT_S = 60
MAX_CAPTURE = 1 << 20  # per stream; beyond it the head and the tail are kept and the rest is counted
SUDO_OK = "labgrader-sudo-ok"  # printed on stderr by the shell sudo started: proof that sudo itself agreed

__all__ = ["SshHost", "LogonAttempt", "try_logon", "CommandResult", "HostUnreachable", "CommandFailed",
           "CommandTimeout", "quote"]


class CommandTimeout(RemoteError):
    """A command gave no exit status within its time: the grader got no answer."""


@dataclass(frozen=True)
class LogonAttempt:
    user: str
    accepted: bool
    reason: str  # why not, in the words an evaluator needs ("mot de passe refusé", …)
    identity: str = ""


def _connect(address: str, port: int, user: str, *, host_keys: PinnedHostKey, key_file: str | None = None,
             password: str | None = None, auth_timeout: float = CONNECT_TIMEOUT_S) -> paramiko.SSHClient:
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(host_keys)  # the client knows no key itself: the policy decides each time
    try:
        client.connect(address, port=port, username=user, key_filename=key_file, password=password,
                       timeout=CONNECT_TIMEOUT_S, banner_timeout=CONNECT_TIMEOUT_S, auth_timeout=auth_timeout,
                       look_for_keys=False, allow_agent=False)
    except BaseException:
        # paramiko leaves a failed connection open (key refused, password refused, no answer): sshd then counts
        # it against MaxStartups until its LoginGraceTime, and a run of refused logons gets later ones dropped.
        client.close()
        raise
    return client


class _Capped:
    """A stream's bytes, capped: the head and the tail are kept, what lies between is counted."""

    def __init__(self, limit: int = MAX_CAPTURE):
        self.head, self.tail, self.dropped, self.limit = bytearray(), bytearray(), 0, limit

    def add(self, data: bytes) -> None:
        room = self.limit // 2 - len(self.head)
        if room > 0:
            self.head += data[:room]
            data = data[room:]
        self.tail += data
        if len(self.tail) > self.limit // 2:
            cut = len(self.tail) - self.limit // 2
            self.dropped += cut
            del self.tail[:cut]

    def text(self) -> str:
        middle = f"\n[… {self.dropped} octets omis …]\n" if self.dropped else ""
        return self.head.decode(errors="replace") + middle + self.tail.decode(errors="replace")


def exec_bounded(client: paramiko.SSHClient, command: str, *, timeout: float,
                 stdin: str | None = None) -> tuple[int, str, str]:
    """Run one command on a connection; every wait ends by `timeout` (CommandTimeout)."""
    transport = client.get_transport()
    if transport is None or not transport.is_active():
        raise OSError("the SSH connection is closed")
    channel = transport.open_session(timeout=CONNECT_TIMEOUT_S)
    out, err = _Capped(), _Capped()
    deadline = time.monotonic() + timeout
    try:
        _request(transport, channel, command)
        if stdin is not None:
            _send_bounded(channel, stdin.encode(), deadline, timeout)
        channel.shutdown_write()
        while True:
            while channel.recv_ready():
                out.add(channel.recv(65536))
            while channel.recv_stderr_ready():
                err.add(channel.recv_stderr(65536))
            if channel.exit_status_ready():
                while channel.recv_ready():
                    out.add(channel.recv(65536))
                while channel.recv_stderr_ready():
                    err.add(channel.recv_stderr(65536))
                status = channel.recv_exit_status()
                if status == -1:
                    # paramiko's value for a channel closed without any exit status (the wire's is unsigned): a
                    # crash, a killed command (exit-signal), a machine gone. No answer, not an exit code to judge.
                    if not transport.is_active():
                        raise OSError("the SSH connection ended before the command's exit status")
                    raise CommandTimeout("la machine a fermé la session sans rendre de code de sortie")
                return status, out.text(), err.text()
            if time.monotonic() > deadline:
                raise CommandTimeout(f"la commande n'a rendu aucun code de sortie en {timeout:.0f} s")
            select.select([channel], [], [], 0.2)
    finally:
        try:
            channel.close()
        except (OSError, EOFError, paramiko.SSHException):
            # The connection died under the closing (a server flooding output when the deadline came: broken
            # pipe): the outcome above stands, a timeout is not turned into "unreachable".
            pass


def _send_bounded(channel: paramiko.Channel, data: bytes, deadline: float, timeout: float) -> None:
    """channel.sendall, bounded: paramiko waits for the server's SSH window without a timeout, and a machine that
    never reads its standard input (a script larger than its window) would hold the grader forever."""
    while data:
        left = deadline - time.monotonic()
        if left <= 0:
            raise CommandTimeout(f"la machine n'a pas lu son entrée standard en {timeout:.0f} s")
        channel.settimeout(left)  # each wait for the window; the loop keeps the whole send within the deadline
        try:
            data = data[channel.send(data):]
        except socket.timeout:
            raise CommandTimeout(f"la machine n'a pas lu son entrée standard en {timeout:.0f} s") from None
    channel.settimeout(None)


def _request(transport: paramiko.Transport, channel: paramiko.Channel, command: str) -> None:
    """channel.exec_command, bounded: paramiko waits for the server's reply without any timeout, and a machine
    that goes down (a restart) right after accepting the connection would hold the grader forever."""
    outcome: dict[str, BaseException] = {}

    def request() -> None:
        try:
            channel.exec_command(command)
        except BaseException as exc:  # handed back to the caller's thread below
            outcome["error"] = exc

    worker = threading.Thread(target=request, name="ssh-exec-request", daemon=True)
    worker.start()
    worker.join(CONNECT_TIMEOUT_S)
    if worker.is_alive():
        transport.close()
        raise OSError(f"the SSH server did not answer the command request within {CONNECT_TIMEOUT_S} s")
    if "error" in outcome:
        raise outcome["error"]


class SshHost:
    def __init__(self, name: str, address: str, *, user: str, port: int = 22, key_file: str | None = None,
                 password: str | None = None, host_keys: PinnedHostKey, recorder: Recorder):
        self.name, self.address, self.port, self.user = name, address, port, user
        self._key_file, self._password, self.recorder = key_file, password, recorder
        self.host_keys = host_keys
        self.failure: str | None = None  # once a host has not answered, its other checks need not wait again

    @cached_property
    def client(self) -> paramiko.SSHClient:
        if self.failure:
            raise HostUnreachable(self.failure)
        try:
            client = _connect(self.address, self.port, self.user, host_keys=self.host_keys, key_file=self._key_file,
                              password=self._password)
        except HostKeyRefused as exc:
            self.recorder.record(self.name, f"ssh {self.user}@{self.address}:{self.port}", f"host key refused: {exc}")
            self.failure = str(exc)
            raise
        except (OSError, paramiko.SSHException, socket.timeout, EOFError) as exc:
            self.recorder.record(self.name, f"ssh {self.user}@{self.address}:{self.port}", f"unreachable: {exc}")
            self.failure = f"{self.name} ({self.address}:{self.port}) ne répond pas en SSH : {exc}"
            raise HostUnreachable(self.failure) from None
        self.recorder.opened(self.name, "ssh")
        return client

    def run(self, command: str, *args: object, sudo: bool = True, timeout: float = COMMAND_TIMEOUT_S) -> CommandResult:
        """Run `command` (each `%s` replaced by a quoted argument) as root by default, and record it.

        A refusal of `sudo -n` raises CommandFailed: what the evaluator's account may do is not the lab's state."""
        line = command_line(command, *args)
        if not sudo:
            return self._exec(line, shown=f"$ {line}", timeout=timeout)
        result = self._exec(f"sudo -n /bin/sh -c {quote(f'echo {SUDO_OK} >&2; {line}')}", shown=f"$ {line}",
                            timeout=timeout)
        return self._after_sudo(result, line)

    def check_output(self, command: str, *args: object, timeout: float = COMMAND_TIMEOUT_S) -> str:
        """The output of a query that must succeed to mean anything (CommandFailed otherwise)."""
        result = self.run(command, *args, timeout=timeout)
        if not result.ok:
            raise CommandFailed(self.name, result.command.removeprefix("$ "), result.exit_status, result.stderr)
        return result.stdout

    def run_script(self, title: str, script: str, env: dict[str, str] | None = None,
                   timeout: float = SCRIPT_TIMEOUT_S) -> CommandResult:
        """Run a shell script as root, sent on standard input with its environment (secrets never in argv)."""
        exports = "".join(f"export {name}={quote(value)}\n" for name, value in (env or {}).items())
        result = self._exec(f"sudo -n /bin/sh -c {quote(f'echo {SUDO_OK} >&2; exec /bin/sh -s')}",
                            shown=f"script: {title}", stdin=exports + script, timeout=timeout)
        return self._after_sudo(result, f"script: {title}")

    def _after_sudo(self, result: CommandResult, shown: str) -> CommandResult:
        if SUDO_OK not in result.stderr.split("\n", 1)[0]:
            raise CommandFailed(self.name, shown, result.exit_status, result.stderr,
                                why=f"sudo -n refusé au compte {self.user} de l'évaluateur")
        return CommandResult(result.command, result.exit_status, result.stdout, result.stderr.split("\n", 1)[1]
                             if "\n" in result.stderr else "")

    def _exec(self, command: str, *, shown: str, timeout: float, stdin: str | None = None) -> CommandResult:
        try:
            status, out, err = exec_bounded(self.client, command, timeout=timeout, stdin=stdin)
        except CommandTimeout as exc:
            self.recorder.record(self.name, shown, f"timeout: {exc}")
            raise CommandTimeout(f"{self.name} : « {shown.removeprefix('$ ')} » : {exc}") from None
        except (OSError, paramiko.SSHException, EOFError) as exc:
            raise HostUnreachable(f"{self.name} : la connexion SSH a échoué : {exc}") from None
        shown_err = err.split("\n", 1)[1] if err.startswith(SUDO_OK) and "\n" in err else err
        self.recorder.record(self.name, shown, f"exit {status}\n{out}{'' if shown_err == SUDO_OK else shown_err}".strip())
        return CommandResult(shown, status, out, err)

    @cached_property
    def testinfra(self) -> testinfra.host.Host:
        """A testinfra host (`host.service("ssh").is_running` …) over this same connection, as root."""
        backend = _BoundedBackend(f"paramiko://{self.user}@{self.address}:{self.port}")
        backend.ssh_host = self
        return testinfra.host.Host(backend)

    def close(self) -> None:
        if "client" in self.__dict__:
            self.client.close()
            del self.__dict__["client"]


class _BoundedBackend(ParamikoBackend):
    """testinfra's modules, run through SshHost.run: quoted, as root, bounded, recorded, sudo refusals known."""
    ssh_host: SshHost

    def run(self, command: str, *args: str, **kwargs: Any):
        result = self.ssh_host.run(command, *args)
        return self.result(result.exit_status, self.encode(result.command), result.stdout, result.stderr)


def try_logon(name: str, address: str, user: str, password: str, *, port: int = 22, host_keys: PinnedHostKey,
              recorder: Recorder) -> LogonAttempt:
    """Log on with a password, as a person would: a separate connection that runs `id` and closes.

    Refused is a fact about the lab; no answer within LOGON_TIMEOUT_S is not (HostUnreachable)."""
    try:
        client = _connect(address, port, user, host_keys=host_keys, password=password, auth_timeout=LOGON_TIMEOUT_S)
    except paramiko.AuthenticationException as exc:
        if "timeout" in str(exc).lower():
            recorder.record(name, f"ssh logon {user} (password)", f"no answer: {exc}")
            raise HostUnreachable(f"{name} : l'ouverture de session de {user} n'a reçu aucune réponse "
                                  f"en {LOGON_TIMEOUT_S} s (ni acceptée ni refusée)") from None
        recorder.record(name, f"ssh logon {user} (password)", f"refused: {exc}")
        return LogonAttempt(user, False, f"mot de passe refusé ({exc})")
    except (OSError, paramiko.SSHException, EOFError) as exc:
        recorder.record(name, f"ssh logon {user} (password)", f"unreachable: {exc}")
        raise HostUnreachable(f"{name} ({address}:{port}) ne répond pas en SSH : {exc}") from None
    recorder.opened(name, "ssh-logon")
    try:
        status, identity, _err = exec_bounded(client, "id", timeout=COMMAND_TIMEOUT_S)
    except (OSError, paramiko.SSHException, EOFError) as exc:
        raise HostUnreachable(f"{name} : la session de {user} s'est interrompue : {exc}") from None
    finally:
        client.close()
    identity = identity.strip()
    recorder.record(name, f"ssh logon {user} (password); id", f"exit {status}\n{identity}")
    if status != 0:
        return LogonAttempt(user, False, f"session acceptée mais inutilisable (code {status})", identity)
    return LogonAttempt(user, True, "session ouverte", identity)
