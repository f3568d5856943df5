"""Evidence of what was asked of which host, and the redaction every piece of it goes through."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable

# Control characters (escape sequences, NUL, BEL…) but newline and tab, shown escaped: candidate text is inert.
_CONTROL = {c: f"\\x{c:02x}" for c in (*range(0x00, 0x09), *range(0x0b, 0x20), 0x7f)}
_CONTROL.update({c: f"\\x{c:02x}" for c in range(0x80, 0xa0)})


def inert(text: str) -> str:
    """Text from a candidate's machine, safe for a terminal, a log or a report: control characters escaped."""
    return text.translate(_CONTROL)


MAX_DETAIL = 12000  # head and tail kept: the values that justify a verdict must reach the grid
REDACTED = "«redacted»"


@dataclass(frozen=True)
class Evidence:
    host: str
    action: str
    detail: str


@dataclass
class Recorder:
    """Collects evidence in call order; `mark()`/`since()` let a caller take one check's share."""
    secrets: tuple[str, ...] = ()
    entries: list[Evidence] = field(default_factory=list)
    connections: Counter = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self.add_secrets(())

    def add_secrets(self, values: Iterable[str]) -> None:
        # Longest first, so a secret containing another is masked whole.
        self.secrets = tuple(sorted({v for v in (*self.secrets, *values) if v}, key=len, reverse=True))

    def redact(self, text: object) -> str:
        text = str(text)
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        return text

    def record(self, host: str, action: str, detail: object) -> Evidence:
        detail = inert(self.redact(detail))
        if len(detail) > MAX_DETAIL:
            half = MAX_DETAIL // 2
            detail = f"{detail[:half]}\n[… {len(detail) - MAX_DETAIL} caractères omis …]\n{detail[-half:]}"
        entry = Evidence(host, inert(self.redact(action)), detail)
        self.entries.append(entry)
        return entry

    def opened(self, host: str, protocol: str) -> None:
        self.connections[(host, protocol)] += 1

    def mark(self) -> int:
        return len(self.entries)

    def since(self, mark: int) -> tuple[Evidence, ...]:
        return tuple(self.entries[mark:])
