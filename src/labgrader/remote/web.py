"""Plain HTTP from the grader, for the services a lab runs (an intranet, a package repository): what a user's
browser or apt sees. Bounded in time and size; no answer is HostUnreachable, an HTTP error status is an answer."""
from __future__ import annotations

import urllib.error
import urllib.request
from dataclasses import dataclass

from .base import HostUnreachable

TIMEOUT_S = 10
MAX_BODY = 1 << 20


@dataclass(frozen=True)
class Answer:
    status: int
    body: str


def get(url: str, *, timeout: float = TIMEOUT_S, limit: int = MAX_BODY) -> Answer:
    status, body = get_bytes(url, timeout=timeout, limit=limit)
    return Answer(status, body.decode("utf-8", errors="replace"))


def get_bytes(url: str, *, timeout: float = TIMEOUT_S, limit: int = MAX_BODY) -> tuple[int, bytes]:
    """(status, at most `limit` bytes of the body): for what is not text (a .gz index)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:  # noqa: S310 — a lab URL built by a check
            return answer.status, answer.read(limit)
    except urllib.error.HTTPError as exc:  # the service answered, with an error status: an answer to judge
        return exc.code, exc.read(limit) if exc.fp else b""
    except OSError as exc:
        raise HostUnreachable(f"{url} n'a pas répondu : {exc}") from None
