"""Bounded time for a check run: a check that outlives its deadline is an `error` (never a verdict), a run
that outlives its own stops and is reported incomplete, and SIGTERM or SIGHUP interrupt a run the way
Ctrl-C does (an incomplete report, never a complete-looking one).

Deadlines use SIGALRM, so they hold in the main thread, where pytest runs every check."""
from __future__ import annotations

import contextlib
import signal
import threading
from typing import Iterator

from .remote.base import RemoteError

CHECK_TIMEOUT_S = 300  # the longest checks wait up to 2 min for Zabbix values or a reboot, plus their queries
RUN_TIMEOUT_S = 1800   # a whole activity: a stalled candidate machine must not hold the evaluator for hours


class CheckDeadline(RemoteError):
    """The check did not finish within its time: no answer to judge."""


@contextlib.contextmanager
def deadline(seconds: float, message: str) -> Iterator[None]:
    """Raise CheckDeadline(message) in the main thread if the block lasts longer than `seconds`."""
    if seconds <= 0 or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expired(_signum, _frame):
        raise CheckDeadline(message)

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def interrupt_on_termination() -> None:
    """SIGTERM and SIGHUP become KeyboardInterrupt: pytest then ends the run as interrupted."""
    if threading.current_thread() is not threading.main_thread():
        return

    def interrupted(signum, _frame):
        raise KeyboardInterrupt(f"signal {signal.Signals(signum).name}")

    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, interrupted)
