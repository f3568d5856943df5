"""Two sides, one contract (DESIGN.md, boundary 5): the check side meets the build side only at the inventory
file. Importing any check-side module must not bring in a build-side one."""
from __future__ import annotations

import subprocess
import sys

import pytest

CHECK_SIDE = ["labgrader.inventory", "labgrader.plugin", "labgrader.grading", "labgrader.preflight",
              "labgrader.report", "labgrader.remote.session", "labgrader.remote.linux", "labgrader.remote.ldap",
              "labgrader.remote.zabbix", "labgrader.remote.smb", "labgrader.netjoin", "labgrader.deadlines"]
BUILD_SIDE = ["labgrader.lab", "labgrader.box", "labgrader.steps", "labgrader.solving", "labgrader.netns",
              "labgrader.lab_inventory", "labgrader.roles", "vagrant"]


@pytest.mark.parametrize("module", CHECK_SIDE)
def test_the_check_side_imports_nothing_of_the_build_side(module):
    probe = (f"import sys, {module}\n"
             f"print(' '.join(m for m in {BUILD_SIDE!r} if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"{module} imports the build side: {result.stdout.strip()}"
