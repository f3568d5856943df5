"""The evaluator's own analysers, run on the grader over a copy of the candidate's file.

ShellCheck is the evaluator's, not the candidate's: it runs here with `--norc` (no `.shellcheckrc` of anyone
applies) on a copy in which every `# shellcheck …` directive is neutralised (a `disable=` line would hide the
very remarks the brief forbids). The directives found are reported as evidence. Line numbers are kept: a
directive line is rewritten in place, never removed."""
from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass

from .base import RemoteError
from .evidence import Recorder

SHELLCHECK = "/usr/bin/shellcheck"
TIMEOUT_S = 60
# A directive is a comment whose first word is `shellcheck` (`# shellcheck disable=SC2086,SC2034`).
DIRECTIVE = re.compile(r"(#\s*)(shellcheck)(\s+[A-Za-z-]+=)", re.IGNORECASE)
NEUTRALISED = "directive-ignoree-par-le-correcteur"
# Remarks about the analysis itself, not the script: a copy analysed alone cannot follow its `source`d files.
NOT_ABOUT_THE_SCRIPT = {1091}
LEVELS_FR = {"error": "erreur", "warning": "avertissement", "info": "info", "style": "style"}


@dataclass(frozen=True)
class Finding:
    line: int
    column: int
    level: str
    code: int
    message: str

    def french(self) -> str:
        return (f"ligne {self.line} SC{self.code} ({LEVELS_FR.get(self.level, self.level)}) : "
                f"{self.message.rstrip('.')}")


@dataclass(frozen=True)
class ShellcheckReport:
    findings: tuple[Finding, ...]
    directives: tuple[tuple[int, str], ...]  # (line number, the directive as the candidate wrote it)


def neutralise_directives(text: str) -> tuple[str, tuple[tuple[int, str], ...]]:
    """The script with every `# shellcheck …` directive made an ordinary comment, and the directives found."""
    found: list[tuple[int, str]] = []
    lines = text.split("\n")
    for index, line in enumerate(lines):
        if DIRECTIVE.search(line):
            found.append((index + 1, line.strip()))
            lines[index] = DIRECTIVE.sub(lambda m: m.group(1) + NEUTRALISED + m.group(3), line)
    return "\n".join(lines), tuple(found)


def parse_json1(output: str) -> tuple[Finding, ...]:
    """ShellCheck's `--format=json1` output -> findings, in line order; remarks about the analysis dropped."""
    try:
        comments = json.loads(output or "{}").get("comments", [])
    except (json.JSONDecodeError, AttributeError) as exc:
        raise RemoteError(f"sortie de ShellCheck illisible : {exc}") from None
    findings = [Finding(int(c.get("line", 0)), int(c.get("column", 0)), str(c.get("level", "")),
                        int(c.get("code", 0)), str(c.get("message", ""))) for c in comments]
    return tuple(sorted((f for f in findings if f.code not in NOT_ABOUT_THE_SCRIPT), key=lambda f: (f.line, f.column)))


def shellcheck(text: str, *, shown_as: str, host: str, recorder: Recorder) -> ShellcheckReport:
    """Run the grader's ShellCheck on a copy of a script (its text), ignoring rc files and directives."""
    copy, directives = neutralise_directives(text)
    recorder.record(host, f"directives « # shellcheck » neutralisées dans {shown_as}",
                    "\n".join(f"ligne {n} : {d}" for n, d in directives) or "aucune")
    argv = [SHELLCHECK, "--norc", "--format=json1", "-"]
    try:
        done = subprocess.run(argv, input=copy, capture_output=True, text=True, errors="replace", timeout=TIMEOUT_S,
                              env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": "/nonexistent"})
    except FileNotFoundError:
        raise RemoteError(f"l'outil {SHELLCHECK} manque sur le poste de l'évaluateur (scripts/install)") from None
    except subprocess.TimeoutExpired:
        raise RemoteError(f"ShellCheck n'a pas terminé en {TIMEOUT_S} s sur {shown_as}") from None
    if done.returncode not in (0, 1):  # 0: nothing to say, 1: remarks; anything else: ShellCheck itself failed
        raise RemoteError(f"ShellCheck a échoué sur {shown_as} (code {done.returncode}) : "
                          f"{done.stderr.strip()[:300]}")
    findings = parse_json1(done.stdout)
    recorder.record("grader", f"shellcheck --norc --format=json1 (copie de {host}:{shown_as})",
                    "\n".join(f.french() for f in findings) or "aucune remarque")
    return ShellcheckReport(findings, directives)
