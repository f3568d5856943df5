"""A scenario's full cycle: `labgrader test` (fresh lab: every check fails; solved: every check passes), then
partial states on the solved lab: one thing broken, the grid must change exactly there."""
from __future__ import annotations

import json
import shlex
import subprocess
from contextlib import contextmanager
from pathlib import Path

import pytest

from labgrader import grading, lab as lablib

from ..support import LABGRADER, require_host


class SolvedLab:
    def __init__(self, scenario_id: str, reports: Path, self_test: subprocess.CompletedProcess):
        self.id, self.reports, self.self_test = scenario_id, reports, self_test

    def assert_self_test_passed(self, checks: int) -> None:
        assert self.self_test.returncode == 0, self.self_test.stdout + self.self_test.stderr
        assert f"{self.id}: {checks} of {checks} checks flipped from failed to passed" in self.self_test.stdout

    @contextmanager
    def broken(self, machine: str, breaking: str, restoring: str):
        """One thing broken on a solved lab for the time of the block, then put back."""
        self.run(machine, breaking)
        try:
            yield
        finally:
            self.run(machine, restoring)

    def only_not_met(self, criterion: str, automated: tuple[str, ...]) -> dict[str, str]:
        return {c: "not_met" if c == criterion else "met" for c in automated}

    def run(self, machine: str, command: str) -> None:
        result = subprocess.run([*LABGRADER, "ssh", self.id, machine, "--", "sudo", "sh", "-c", command],
                                capture_output=True, text=True)
        assert result.returncode == 0, f"{machine}: {command}: {result.stdout}{result.stderr}"

    def grid(self, name: str, only: str | None = None) -> dict[str, str]:
        """The grid of a check run; `only`, a pytest -k expression, runs just the checks a near miss is about
        (a probe that must stay silent waits its whole bound)."""
        out = self.reports / name
        if only:
            grading.run_checks(self.id, lablib.open_lab(self.id).dir / "inventory.yml", "anonyme", out,
                               extra=("-k", only))
        else:
            result = subprocess.run([*LABGRADER, "check", self.id, "--out", str(out)], capture_output=True, text=True)
            assert result.returncode in (0, 1, 3), result.stderr
        report = json.loads((out / "report.json").read_text())
        return {c["id"]: c["status"] for c in report["criteria"] if c["assessment"] == "automated"}

    def outcomes(self, name: str) -> dict[str, str]:
        """Check outcomes of the grid `name` (run first with `grid`), by check function name: a near miss is
        asserted on the check it must fail, not only on its criterion."""
        report = json.loads((self.reports / name / "report.json").read_text())
        return {k["id"].split("::")[-1]: k["outcome"] for c in report["criteria"] for k in c["checks"]}

    def messages(self, name: str) -> dict[str, str]:
        report = json.loads((self.reports / name / "report.json").read_text())
        return {k["id"].split("::")[-1]: k["message"] for c in report["criteria"] for k in c["checks"]}

    def evidence(self, name: str, criterion: str) -> list[dict]:
        report = json.loads((self.reports / name / "report.json").read_text())
        return [e for c in report["criteria"] if c["id"] == criterion for k in c["checks"] for e in k["evidence"]]


def solved_lab_fixture(scenario_id: str, profile: str | None = None):
    """A module fixture: the scenario's self-test must pass, and it leaves the solved lab up for the module."""

    @pytest.fixture(scope="module")
    def solved(tmp_path_factory):
        require_host()
        reports = tmp_path_factory.mktemp(scenario_id)
        result = subprocess.run([*LABGRADER, "test", scenario_id, "--keep", *(("--profile", profile) if profile else ())],
                                capture_output=True, text=True)
        yield SolvedLab(scenario_id, reports, result)
        lablib.down(lablib.open_lab(scenario_id), lambda _: None)

    return solved


def zabbix_on_server(password: str, code: str) -> str:
    """A shell command, run on the Zabbix machine, that runs `code` with `api(method, params)` logged in as Admin
    (lab_zabbix is the client the zabbix role installs there)."""
    program = (f"import json\nfrom lab_zabbix import call, login\ntoken = login({json.dumps(password)})\n"
               f"api = lambda method, params: call(method, params, token)\n{code}\n")
    return f"python3 -c {shlex.quote(program)}"


def glpi_on_server(user_token: str, code: str) -> str:
    """A shell command, run on the GLPI machine, that runs `code` with `api(method, path, body=None)` in an API
    session (the glpi role's lab_glpi, as the seed and the solution use it)."""
    program = f"import json\nfrom lab_glpi import session\napi = session({json.dumps(user_token)})\n{code}\n"
    return f"python3 -c {shlex.quote(program)}"
