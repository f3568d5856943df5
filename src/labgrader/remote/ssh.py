"""SSH to a lab machine with paramiko: one connection per host, commands recorded as evidence, and a
testinfra host on that same connection for checks that read like sentences."""
from __future__ import annotations

import socket
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import paramiko
import testinfra.host
from testinfra.backend.paramiko import ParamikoBackend

from .evidence import Recorder

TIMEOUT_S = 10


class HostUnreachable(Exception):
    """The machine did not answer on this transport; its checks are errors, not failures."""


@dataclass(frozen=True)
class CommandResult:
    command: str
    exit_status: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.exit_status == 0


@dataclass(frozen=True)
class LogonAttempt:
    user: str
    accepted: bool
    reason: str  # why not, in the words an evaluator needs ("password refused", "denied by policy" …)
    identity: str = ""


def _connect(address: str, port: int, user: str, *, key_file: str | None = None,
             password: str | None = None) -> paramiko.SSHClient:
    client = paramiko.SSHClient()
    # Lab machines get fresh host keys at every build: there is nothing to pin them to.
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    client.connect(address, port=port, username=user, key_filename=key_file, password=password,
                   timeout=TIMEOUT_S, banner_timeout=TIMEOUT_S, auth_timeout=TIMEOUT_S,
                   look_for_keys=False, allow_agent=False)
    return client


class SshHost:
    def __init__(self, name: str, address: str, *, user: str, port: int = 22, key_file: str | None = None,
                 password: str | None = None, recorder: Recorder):
        self.name, self.address, self.port, self.user = name, address, port, user
        self._key_file, self._password, self.recorder = key_file, password, recorder
        self.failure: str | None = None  # once a host has not answered, its other checks need not wait again

    @cached_property
    def client(self) -> paramiko.SSHClient:
        if self.failure:
            raise HostUnreachable(self.failure)
        try:
            client = _connect(self.address, self.port, self.user, key_file=self._key_file, password=self._password)
        except (OSError, paramiko.SSHException, socket.timeout) as exc:
            self.recorder.record(self.name, f"ssh {self.user}@{self.address}:{self.port}", f"unreachable: {exc}")
            self.failure = f"{self.name} ({self.address}:{self.port}) does not answer over SSH: {exc}"
            raise HostUnreachable(self.failure) from None
        self.recorder.opened(self.name, "ssh")
        return client

    def run(self, command: str, *, sudo: bool = True) -> CommandResult:
        """Run a shell command (as root by default: checks read system state) and record it."""
        full = f"sudo -n sh -c {_quote(command)}" if sudo else command
        return self._exec(full, shown=f"$ {command}", timeout=60)

    def run_script(self, title: str, script: str, env: dict[str, str] | None = None) -> CommandResult:
        """Run a shell script as root, sent on standard input with its environment (secrets never in argv)."""
        exports = "".join(f"export {name}={_quote(value)}\n" for name, value in (env or {}).items())
        return self._exec("sudo -n sh -s", shown=f"script: {title}", stdin=exports + script, timeout=600)

    def _exec(self, command: str, *, shown: str, timeout: int, stdin: str | None = None) -> CommandResult:
        try:
            channel_in, stdout, stderr = self.client.exec_command(command, timeout=timeout)
            if stdin is not None:
                channel_in.write(stdin)
                channel_in.channel.shutdown_write()
            out = stdout.read().decode(errors="replace")
            err = stderr.read().decode(errors="replace")
            status = stdout.channel.recv_exit_status()
        except (OSError, paramiko.SSHException) as exc:
            raise HostUnreachable(f"{self.name}: the SSH connection failed: {exc}") from None
        self.recorder.record(self.name, shown, f"exit {status}\n{out}{err}".strip())
        return CommandResult(shown, status, out, err)

    @cached_property
    def testinfra(self) -> testinfra.host.Host:
        """A testinfra host (`host.service("ssh").is_running` …) over this same connection, as root."""
        backend = _RecordingBackend(f"paramiko://{self.user}@{self.address}:{self.port}", sudo=True)
        backend.__dict__["client"] = self.client  # reuse ours: one connection per host
        backend.recorder, backend.host_name = self.recorder, self.name
        return testinfra.host.Host(backend)

    def close(self) -> None:
        if "client" in self.__dict__:
            self.client.close()
            del self.__dict__["client"]


class _RecordingBackend(ParamikoBackend):
    recorder: Recorder
    host_name: str

    def run(self, command: str, *args: str, **kwargs: Any):
        result = super().run(command, *args, **kwargs)
        self.recorder.record(self.host_name, f"$ {self.get_command(command, *args)}",
                             f"exit {result.rc}\n{result.stdout}{result.stderr}".strip())
        return result


def try_logon(name: str, address: str, user: str, password: str, *, port: int = 22,
              recorder: Recorder) -> LogonAttempt:
    """Log on with a password, as a person would: a separate connection that runs `id` and closes."""
    try:
        client = _connect(address, port, user, password=password)
    except paramiko.AuthenticationException as exc:
        recorder.record(name, f"ssh logon {user} (password)", f"refused: {exc}")
        return LogonAttempt(user, False, f"password logon refused ({exc})")
    except (OSError, paramiko.SSHException) as exc:
        recorder.record(name, f"ssh logon {user} (password)", f"unreachable: {exc}")
        raise HostUnreachable(f"{name} ({address}:{port}) does not answer over SSH: {exc}") from None
    recorder.opened(name, "ssh-logon")
    try:
        _stdin, stdout, _stderr = client.exec_command("id", timeout=30)
        identity = stdout.read().decode(errors="replace").strip()
        status = stdout.channel.recv_exit_status()
    finally:
        client.close()
    recorder.record(name, f"ssh logon {user} (password); id", f"exit {status}\n{identity}")
    if status != 0:
        return LogonAttempt(user, False, f"logon accepted but the session failed (exit {status})", identity)
    return LogonAttempt(user, True, "logged on", identity)


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"
