"""Helpers shared by the test directories that need a real lab."""
from __future__ import annotations

import os
import shutil
import sys

import pytest

LABGRADER = [sys.executable, "-m", "labgrader.cli"]


def require_host() -> None:
    """Skip (or, where LABGRADER_REQUIRE_LAB is set, as in CI, fail) when this host cannot run a lab."""
    if os.geteuid() == 0 and shutil.which("lxc-start") and shutil.which("vagrant"):
        return
    reason = "the embedded lab needs root, lxc and vagrant (run scripts/install)"
    if os.environ.get("LABGRADER_REQUIRE_LAB"):
        pytest.fail(reason)
    pytest.skip(reason)


def lab_args(the_lab) -> list[str]:
    """How the CLI names a lab instance: `SCENARIO --name NAME`."""
    return [the_lab.scenario.id, "--name", the_lab.name]
