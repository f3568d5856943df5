"""SMB as a person would use it, from the grader: `smbclient` run here (inside the lab's network when the
plugin has joined it), as a given user, against a server's address and a share name.

Passwords reach smbclient through its environment (PASSWD), never its argv. NTLM, not Kerberos: the grader
is not in the candidate's realm. The server's NT_STATUS words are facts about the lab (access denied, bad
password, no such share); a server that does not answer is a RemoteError, never "access refused"."""
from __future__ import annotations

import os
import re
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

from .base import HostUnreachable, RemoteError
from .evidence import Recorder

SMBCLIENT = "/usr/bin/smbclient"
TIMEOUT_S = 30
# What the server said, and what it means for the person trying.
REFUSALS = {"NT_STATUS_ACCESS_DENIED": "accès refusé", "NT_STATUS_LOGON_FAILURE": "identifiants refusés",
            "NT_STATUS_ACCOUNT_DISABLED": "compte désactivé", "NT_STATUS_ACCOUNT_LOCKED_OUT": "compte verrouillé",
            "NT_STATUS_BAD_NETWORK_NAME": "partage inexistant", "NT_STATUS_PASSWORD_MUST_CHANGE":
            "mot de passe à changer", "NT_STATUS_OBJECT_NAME_NOT_FOUND": "fichier inexistant",
            "NT_STATUS_OBJECT_PATH_NOT_FOUND": "chemin inexistant", "NT_STATUS_MEDIA_WRITE_PROTECTED":
            "partage en lecture seule", "NT_STATUS_NETWORK_ACCESS_DENIED": "accès réseau refusé"}
NO_ANSWER = ("NT_STATUS_IO_TIMEOUT", "NT_STATUS_CONNECTION_REFUSED", "NT_STATUS_HOST_UNREACHABLE",
             "NT_STATUS_NETWORK_UNREACHABLE", "NT_STATUS_CONNECTION_RESET", "NT_STATUS_CONNECTION_DISCONNECTED",
             "NT_STATUS_UNSUCCESSFUL", "NT_STATUS_INVALID_NETWORK_RESPONSE")


@dataclass(frozen=True)
class ShareAccess:
    """What a user could do on a share: list it, and (when asked) write to it."""
    user: str
    share: str
    listed: bool
    wrote: bool | None  # None: writing was not tried
    refusal: str  # the server's word when refused ("accès refusé", …), '' otherwise


def status_words(output: str) -> list[str]:
    return re.findall(r"NT_STATUS_[A-Z_]+", output)


class SmbClient:
    def __init__(self, recorder: Recorder, *, name: str = "grader"):
        self.recorder, self.name = recorder, name

    def _smbclient(self, address: str, share: str, user: str, password: str, commands: str,
                   domain: str | None) -> tuple[int, str]:
        # An empty user is an anonymous (null) session: what anyone on the network gets without an account.
        who = ["-U", user] if user else ["-N"]
        argv = [SMBCLIENT, f"//{address}/{share}", *who, "--use-kerberos=off", "-c", commands]
        if domain and user:
            argv += ["-W", domain]
        env = {"PATH": "/usr/bin:/bin", "PASSWD": password, "LANG": "C"}
        shown = f"smbclient //{address}/{share} as {user or '(anonymous)'}: {commands}"
        try:
            done = subprocess.run(argv, env=env, capture_output=True, text=True, errors="replace",
                                  timeout=TIMEOUT_S, stdin=subprocess.DEVNULL)
        except FileNotFoundError:
            raise RemoteError(f"l'outil {SMBCLIENT} manque sur le poste de l'évaluateur (scripts/install)") from None
        except subprocess.TimeoutExpired:
            self.recorder.record(address, shown, f"timeout after {TIMEOUT_S} s")
            raise HostUnreachable(f"{address} : le partage {share} n'a pas répondu en {TIMEOUT_S} s") from None
        output = (done.stdout + done.stderr).strip()
        self.recorder.record(address, shown, f"exit {done.returncode}\n{output}")
        words = status_words(output)
        if any(word in NO_ANSWER for word in words):
            raise HostUnreachable(f"{address} : le serveur SMB n'a pas répondu ({', '.join(words)})")
        return done.returncode, output

    def access(self, address: str, share: str, user: str, password: str, *, domain: str | None = None,
               write: bool = False) -> ShareAccess:
        """List the share as `user` ('' for an anonymous session); with write, also create and remove a
        uniquely named file."""
        status, output = self._smbclient(address, share, user, password, "ls", domain)
        if status != 0:
            return ShareAccess(user, share, False, None, _refusal(output))
        if not write:
            return ShareAccess(user, share, True, None, "")
        probe = f"labgrader-essai-{uuid.uuid4().hex[:8]}.txt"
        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as local:
            local.write("écrit par le correcteur labgrader, puis effacé\n")
        try:
            status, output = self._smbclient(address, share, user, password,
                                             f'put "{local.name}" "{probe}"; del "{probe}"', domain)
        finally:
            os.unlink(local.name)
        wrote = status == 0 and not any(w in REFUSALS for w in status_words(output))
        return ShareAccess(user, share, True, wrote, "" if wrote else _refusal(output))

    def fetch(self, address: str, share: str, path: str, user: str, password: str, *,
              domain: str | None = None) -> bytes | None:
        """A file's bytes read over SMB as `user` (None when the server says it does not exist or refuses)."""
        with tempfile.TemporaryDirectory() as tmp:
            target = Path(tmp) / "copy"
            status, output = self._smbclient(address, share, user, password,
                                             f'get "{path}" "{target}"', domain)
            if status != 0 or not target.is_file():
                return None
            return target.read_bytes()


def _refusal(output: str) -> str:
    words = status_words(output)
    for word in words:
        if word in REFUSALS:
            return REFUSALS[word]
    return words[0] if words else (output.splitlines()[-1] if output else "refus sans motif")
