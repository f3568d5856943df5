"""A restic repository read from the grader, as an administrator restoring a file would: the grader's own restic,
over SFTP to the backup machine through OpenSSH with the inventory's key and pinned host key, `sudo -n` to read a
repository its owner keeps private. The repository password goes in restic's environment, never in argv."""
from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from .base import CommandFailed, HostUnreachable, RemoteError
from .evidence import Recorder

TIMEOUT_S = 120
MAX_RESTORE = 64 << 20  # a lab file is small: a bounded read, whatever the repository holds
SFTP_SERVER = "/usr/lib/openssh/sftp-server"


class NotInSnapshot(Exception):
    """restic answered: the snapshot does not hold that file. A fact about the backup, not a failure to read it."""


class NoRepository(Exception):
    """restic answered: there is no repository at that path. A fact about the backup, not a failure to read it."""


# What restic 0.14 says when a path holds no repository, and when a snapshot does not hold a file as a file.
NO_REPOSITORY = ("unable to open config file", "Is there a repository at the following location?")
NOT_A_FILE = ("not found in snapshot", "should be a dir, but is a", "cannot dump file")


def parse_repository(setting: str) -> tuple[str, str] | None:
    """'sftp:restic@bkp1:/srv/restic/srv1' → ('bkp1', '/srv/restic/srv1'); None when not an SFTP repository."""
    rest = setting.strip().strip("'\"").removeprefix("sftp:")
    if rest == setting.strip().strip("'\"") or ":" not in rest:
        return None
    host, _, path = rest.partition(":")
    return host.rpartition("@")[2], path


@dataclass(frozen=True)
class Snapshot:
    id: str
    time: str  # RFC 3339, as restic writes it
    paths: tuple[str, ...]
    hostname: str


def parse_snapshots(text: str) -> list[Snapshot]:
    """`restic snapshots --json` → snapshots, oldest first."""
    try:
        raw = json.loads(text or "[]")
    except ValueError:
        raise RemoteError("restic snapshots --json n'a pas rendu du JSON") from None
    found = [Snapshot(str(s.get("short_id") or s.get("id", ""))[:64], str(s.get("time", "")),
                      tuple(s.get("paths") or ()), str(s.get("hostname", ""))) for s in raw if isinstance(s, dict)]
    return sorted(found, key=lambda s: s.time)


def snapshot_epoch(rfc3339: str) -> float:
    """restic's snapshot time ('2026-12-01T10:05:00.123456789+01:00', nanoseconds) as seconds since the epoch."""
    text = rfc3339.strip().replace("Z", "+00:00")
    head, dot, rest = text.partition(".")
    if dot:  # Python reads at most microseconds: keep six digits of the fraction, then the zone
        digits = rest[:len(rest) - len(rest.lstrip("0123456789"))]
        text = f"{head}.{digits[:6]}{rest[len(digits):]}"
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        raise RemoteError(f"date d'instantané restic illisible : {rfc3339[:60]}") from None


def sftp_command(address: str, port: int, user: str, key_file: str, known_hosts: Path) -> str:
    """restic's `-o sftp.command`: OpenSSH, batch mode (never a prompt), strict host key, root's sftp-server."""
    argv = ["ssh", "-p", str(port), "-i", key_file, "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes",
            "-o", "StrictHostKeyChecking=yes", "-o", f"UserKnownHostsFile={known_hosts}", "-o", "ConnectTimeout=10",
            f"{user}@{address}", "sudo", "-n", SFTP_SERVER]
    return shlex.join(argv)


class ResticRepository:
    def __init__(self, name: str, *, address: str, port: int, user: str, key_file: str | None, host_key_line: str | None,
                 known_hosts: Path | None, path: str, password: str, recorder: Recorder):
        self.name, self.path, self.recorder = name, path, recorder
        self._ssh = (address, port, user, key_file)
        self._host_key_line, self._known_hosts, self._password = host_key_line, known_hosts, password

    def _run(self, *args: str, binary: bool = False) -> subprocess.CompletedProcess:
        if not shutil.which("restic"):
            raise RemoteError("restic n'est pas installé sur le poste du correcteur (paquet Debian restic)")
        address, port, user, key_file = self._ssh
        if not key_file:
            raise RemoteError(f"{self.name} : lire la sauvegarde demande une clé SSH (transports.ssh.key_file)")
        with tempfile.TemporaryDirectory(prefix="lg-restic-") as tmp:
            known = Path(tmp) / "known_hosts"
            if self._host_key_line and not self._host_key_line.startswith("SHA256:"):
                entry = address if port == 22 else f"[{address}]:{port}"
                known.write_text(f"{entry} {self._host_key_line}\n")
            elif self._known_hosts and self._known_hosts.is_file():
                shutil.copyfile(self._known_hosts, known)
            else:
                raise RemoteError(f"{self.name} : la clé d'hôte SSH de la machine de sauvegarde n'est pas connue "
                                  "sous forme de ligne de clé publique (host_key ou known_hosts)")
            command = ["restic", "-r", f"sftp:{user}@{address}:{self.path}", "--no-lock", "--no-cache",
                       "-o", f"sftp.command={sftp_command(address, port, user, key_file, known)}", *args]
            env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": tmp, "RESTIC_PASSWORD": self._password}
            try:
                done = subprocess.run(command, capture_output=True, timeout=TIMEOUT_S, env=env, stdin=subprocess.DEVNULL)
            except subprocess.TimeoutExpired:
                raise HostUnreachable(f"{self.name} : restic n'a pas répondu en {TIMEOUT_S} s") from None
        shown = f"restic {' '.join(args)} (sftp:{user}@{address}:{self.path})"
        stderr = done.stderr.decode(errors="replace")
        self.recorder.record(self.name, shown, f"exit {done.returncode}; {stderr[-2000:]}")
        if done.returncode != 0:
            if "ssh" in stderr.lower() and ("connection" in stderr.lower() or "host key" in stderr.lower()):
                raise HostUnreachable(f"{self.name} : la sauvegarde n'est pas joignable en SFTP : {stderr[-300:]}")
            raise CommandFailed(self.name, shown, done.returncode, stderr)
        return done

    def snapshots(self) -> list[Snapshot]:
        try:
            return parse_snapshots(self._run("snapshots", "--json").stdout.decode(errors="replace"))
        except CommandFailed as exc:
            if any(sign in exc.stderr for sign in NO_REPOSITORY):
                raise NoRepository(self.path) from None
            raise

    def dump(self, snapshot: str, path: str) -> bytes:
        """One file of a snapshot, restored to memory on the grader (bounded)."""
        try:
            content = self._run("dump", snapshot, path).stdout
        except CommandFailed as exc:
            if any(sign in exc.stderr for sign in NOT_A_FILE):
                raise NotInSnapshot(path) from None
            raise
        if len(content) > MAX_RESTORE:
            raise RemoteError(f"{path} restauré dépasse {MAX_RESTORE >> 20} Mo : ce n'est pas un fichier du lab")
        return content
