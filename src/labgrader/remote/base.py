"""What every remote helper shares: a command's result, and the errors that mean "could not ask".

The line these types draw is the grading rule (DESIGN.md, boundary 6): an answer about the lab is asserted
on by a check (a failure is a verdict); a `RemoteError` means the grader got no usable answer, and the check
becomes `error`, never `failed` and never `passed`."""
from __future__ import annotations

from dataclasses import dataclass


class RemoteError(Exception):
    """The grader could not get an answer it can judge. Its message is one line, in French, for the grid."""


class HostUnreachable(RemoteError):
    """The machine did not answer on this transport; its other checks need not wait again."""


class CommandFailed(RemoteError):
    """A command that must succeed to give an answer did not (missing binary, refused sudo, crash)."""

    def __init__(self, host: str, command: str, exit_status: int, stderr: str, why: str = ""):
        self.host, self.command, self.exit_status, self.stderr = host, command, exit_status, stderr
        last = next((line for line in reversed(stderr.strip().splitlines()) if line.strip()), "")
        reason = why or f"code de sortie {exit_status}"
        super().__init__(f"{host} : la commande « {command} » n'a pas pu s'exécuter ({reason})"
                         + (f" : {last[:300]}" if last else ""))


class ProtocolError(RemoteError):
    """A service answered, but not as its protocol says it should (a non-LDAP answer on 636, a broken API)."""


@dataclass(frozen=True)
class CommandResult:
    command: str
    exit_status: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.exit_status == 0


def quote(text: str) -> str:
    """POSIX shell quoting: the argument reaches the command as one word, whatever it holds."""
    return "'" + str(text).replace("'", "'\\''") + "'"


def command_line(command: str, *args: object) -> str:
    """`command` with each `%s` replaced by a quoted argument, as testinfra's `run(cmd, *args)` does."""
    return command % tuple(quote(str(arg)) for arg in args) if args else command
