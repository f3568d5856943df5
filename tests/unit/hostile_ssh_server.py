"""A hostile SSH server on 127.0.0.1, for testing the grader's SSH client without a lab.

paramiko's server mode: a fresh host key, a password account, and one behaviour per test — what the "machine"
does with each command it accepts (stall, flood, close without an exit status, print escape sequences, refuse
sudo…). The server records every authentication it was offered, so a test can prove nothing was sent to a
machine whose key did not match. `stop()` releases every stalled handler, closes every connection and reports
the threads that did not end."""
from __future__ import annotations

import io
import socket
import threading
import time
from typing import Callable

import paramiko
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

SUDO_OK = "labgrader-sudo-ok"  # what the shell started by `sudo -n` prints first (see remote/ssh.py)
USER, PASSWORD = "evaluateur", "mot-de-passe-du-correcteur"

Behaviour = Callable[["HostileSshServer", paramiko.Channel, str], None]


def host_key() -> paramiko.PKey:
    """A fresh Ed25519 host key (paramiko reads one; cryptography makes it)."""
    pem = ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption())
    return paramiko.Ed25519Key.from_private_key(io.StringIO(pem.decode()))


class HostileSshServer:
    """One listening socket, a transport per connection, a worker thread per accepted command."""

    def __init__(self, behaviour: Behaviour, *, key: paramiko.PKey | None = None, stall_exec_reply: bool = False,
                 stall_auth: bool = False, window: int | None = None):
        self.behaviour, self.key = behaviour, key or host_key()
        self.stall_exec_reply, self.stall_auth, self.window = stall_exec_reply, stall_auth, window
        self.auth_offers: list[tuple[str, str]] = []  # (method, user): every authentication the client tried
        self.passwords: list[str] = []  # every password the server received
        self.commands: list[str] = []
        self.released = threading.Event()  # set by stop(): every stalled handler returns
        self._threads: list[threading.Thread] = []
        self._transports: list[paramiko.Transport] = []
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)
        self.port = self._listener.getsockname()[1]
        self._spawn(self._accept, "hostile-ssh-accept")

    def _spawn(self, target: Callable[..., None], name: str, *args: object) -> None:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        with self._lock:
            self._threads.append(thread)
        thread.start()

    def _accept(self) -> None:
        while not self.released.is_set():
            try:
                sock, _ = self._listener.accept()
            except (socket.timeout, OSError):
                continue
            kwargs = {"default_window_size": self.window} if self.window else {}
            transport = paramiko.Transport(sock, **kwargs)
            transport.add_server_key(self.key)
            with self._lock:
                self._transports.append(transport)
            try:
                transport.start_server(server=_Interface(self))
            except (paramiko.SSHException, EOFError, OSError):
                transport.close()

    def serve(self, channel: paramiko.Channel, command: str) -> None:
        # The exec request is answered once check_channel_exec_request returns: wait for the client's EOF on
        # stdin (sent after that answer) so that nothing this behaviour sends overtakes it.
        while not channel.eof_received and not channel.closed and not self.released.is_set():
            time.sleep(0.01)
        try:
            self.behaviour(self, channel, command)
        except (OSError, EOFError, paramiko.SSHException):
            pass  # the client gave up (its timeout) or the test is over: what a hostile machine sees

    def open_connections(self, wait: float = 0.0) -> int:
        """How many client connections are still open, once `wait` seconds have let closed ones end."""
        deadline = time.monotonic() + wait
        while True:
            with self._lock:
                count = sum(transport.is_active() for transport in self._transports)
            if count == 0 or time.monotonic() >= deadline:
                return count
            time.sleep(0.02)

    def stop(self, wait: float = 5.0) -> list[threading.Thread]:
        """Release, close, join; the threads still alive after `wait` seconds (none, for a clean shutdown)."""
        self.released.set()
        self._listener.close()
        with self._lock:
            transports, threads = list(self._transports), list(self._threads)
        for transport in transports:
            transport.close()
        deadline = time.monotonic() + wait
        for thread in [*threads, *transports]:
            thread.join(max(deadline - time.monotonic(), 0))
        return [thread for thread in [*threads, *transports] if thread.is_alive()]


class _Interface(paramiko.ServerInterface):
    def __init__(self, server: HostileSshServer):
        self.server = server

    def get_allowed_auths(self, username: str) -> str:
        return "password,publickey"

    def check_auth_none(self, username: str) -> int:
        self.server.auth_offers.append(("none", username))
        return paramiko.AUTH_FAILED

    def check_auth_publickey(self, username: str, key: paramiko.PKey) -> int:
        self.server.auth_offers.append(("publickey", username))
        return paramiko.AUTH_FAILED

    def check_auth_password(self, username: str, password: str) -> int:
        self.server.auth_offers.append(("password", username))
        self.server.passwords.append(password)
        if self.server.stall_auth:  # neither yes nor no: the client's auth timeout must decide
            self.server.released.wait()
            return paramiko.AUTH_FAILED
        return paramiko.AUTH_SUCCESSFUL if (username, password) == (USER, PASSWORD) else paramiko.AUTH_FAILED

    def check_channel_request(self, kind: str, chanid: int) -> int:
        if kind == "session":
            return paramiko.OPEN_SUCCEEDED
        return paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED

    def check_channel_exec_request(self, channel: paramiko.Channel, command: bytes) -> bool:
        text = command.decode(errors="replace")
        self.server.commands.append(text)
        if self.server.stall_exec_reply:  # the request is accepted by the socket, never answered
            self.server.released.wait()
            return False
        self.server._spawn(self.server.serve, "hostile-ssh-command", channel, text)
        return True


# Behaviours: what the machine does with a command it accepted.

def sudo_agrees(channel: paramiko.Channel, command: str) -> None:
    """The shell that `sudo -n /bin/sh -c 'echo labgrader-sudo-ok >&2; …'` starts prints its marker first."""
    if command.startswith("sudo -n ") and SUDO_OK in command:
        channel.sendall_stderr(f"{SUDO_OK}\n".encode())


def answers(stdout: bytes = b"", stderr: bytes = b"", status: int = 0) -> Behaviour:
    """A well-behaved command: its output, its exit status, then the channel closed."""
    def behaviour(server: HostileSshServer, channel: paramiko.Channel, command: str) -> None:
        sudo_agrees(channel, command)
        channel.sendall(stdout)
        channel.sendall_stderr(stderr)
        channel.send_exit_status(status)
        channel.close()
    return behaviour


def stalls(server: HostileSshServer, channel: paramiko.Channel, command: str) -> None:
    """Accepted, then nothing: no output, no exit status, the channel left open."""
    server.released.wait()


def floods(stdout_bytes: int, stderr_bytes: int) -> Behaviour:
    """Megabytes on both streams (a recognisable head and tail on each), then exit 0."""
    def stream(send: Callable[[bytes], None], size: int, name: bytes) -> None:
        head, tail = b"DEBUT-" + name + b"\n", b"\nFIN-" + name + b"\n"
        send(head)
        filler, left = b"x" * 65535 + b"\n", size - len(head) - len(tail)
        while left > 0:
            send(filler[:left])
            left -= len(filler)
        send(tail)

    def behaviour(server: HostileSshServer, channel: paramiko.Channel, command: str) -> None:
        sudo_agrees(channel, command)
        stream(channel.sendall, stdout_bytes, b"STDOUT")
        stream(channel.sendall_stderr, stderr_bytes, b"STDERR")
        channel.send_exit_status(0)
        channel.close()
    return behaviour


def floods_forever(server: HostileSshServer, channel: paramiko.Channel, command: str) -> None:
    """Output without end and no exit status: only the client's deadline can stop it."""
    chunk = b"y" * 32767 + b"\n"
    while not server.released.is_set() and not channel.closed:
        channel.sendall(chunk)


def closes_without_status(server: HostileSshServer, channel: paramiko.Channel, command: str) -> None:
    """Some output, EOF and the channel closed, but never an exit status (a crash, a killed command)."""
    sudo_agrees(channel, command)
    channel.sendall(b"partial output\n")
    channel.shutdown_write()
    channel.close()


def eof_then_silence(server: HostileSshServer, channel: paramiko.Channel, command: str) -> None:
    """Output and EOF, then nothing: the channel stays open and no exit status ever comes."""
    sudo_agrees(channel, command)
    channel.sendall(b"partial output\n")
    channel.shutdown_write()
    server.released.wait()


def drops_the_connection(server: HostileSshServer, channel: paramiko.Channel, command: str) -> None:
    """The machine goes down mid-command (a restart): the whole connection ends, no exit status."""
    sudo_agrees(channel, command)
    channel.sendall(b"partial output\n")
    channel.get_transport().close()


def sudo_refuses(server: HostileSshServer, channel: paramiko.Channel, command: str) -> None:
    """`sudo -n` when the evaluator's account may not use sudo without a password."""
    channel.sendall_stderr(b"sudo: a password is required\n")
    channel.send_exit_status(1)
    channel.close()
