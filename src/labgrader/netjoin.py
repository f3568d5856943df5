"""Joining a lab's network namespace, the grader's way into an embedded lab (check side).

The build side (netns.py) creates namespaces; the check side only joins one that exists: the plugin moves
its main thread in (`enter`), and code that must not move the caller runs in a thread that has (`run_inside`).
"""
from __future__ import annotations

import ctypes
import os
import threading
from pathlib import Path
from typing import Callable, TypeVar

from .errors import LabError

CLONE_NEWNET = 0x40000000
NETNS_DIR = Path("/run/netns")
T = TypeVar("T")


def exists(namespace: str) -> bool:
    return (NETNS_DIR / namespace).exists()


def run_inside(namespace: str, work: Callable[[], T]) -> T:
    """Run `work` in a thread that has joined the lab's network namespace; its sockets live there."""
    outcome: dict[str, object] = {}

    def target() -> None:
        try:
            enter(namespace)
            outcome["value"] = work()
        except BaseException as exc:  # handed back to the caller's thread below
            outcome["error"] = exc

    thread = threading.Thread(target=target, name=f"netns-{namespace}", daemon=True)
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["value"]  # type: ignore[return-value]


def enter(namespace: str) -> None:
    """Move the calling thread into the namespace (setns(2)); needs root."""
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(NETNS_DIR / namespace, os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise LabError(f"cannot enter network namespace {namespace}: {os.strerror(err)}")
    finally:
        os.close(fd)
