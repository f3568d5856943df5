"""Lab instances: two labs of one scenario up at once (`up SCENARIO --name NAME`), each with its own namespace,
containers, state and inventory, graded independently."""
from __future__ import annotations

import json
import subprocess

from labgrader import lab as lablib, netns

from ..support import LABGRADER, lab_args

SECOND = "labtests-b"


def _hostname_check(report: dict) -> str:
    """The outcome of the A1.1/CE.3 check on the workstation's name (found by its French title)."""
    checks = [k for c in report["criteria"] if c["id"] == "A1.1/CE.3" for k in c["checks"]]
    return next(k["outcome"] for k in checks if "nom d'hôte" in k["title"])


def test_two_instances_of_a_scenario_run_side_by_side_and_are_graded_independently(embedded_lab, tmp_path):
    second = lablib.open_lab(embedded_lab.scenario.id, name=SECOND)
    try:
        up = subprocess.run([*LABGRADER, "up", *lab_args(second)], capture_output=True, text=True)
        assert up.returncode == 0, up.stderr[-2000:]
        assert second.namespace != embedded_lab.namespace and netns.exists(second.namespace)
        assert second.dir != embedded_lab.dir and (second.dir / "inventory.yml").is_file()
        # The work done on one lab is seen on that lab only.
        name = embedded_lab.scenario.expect("workstation_hostname")
        done = subprocess.run([*LABGRADER, "ssh", *lab_args(second), "client1", "--", "sudo", "hostnamectl",
                               "set-hostname", name], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        reports = {}
        for the_lab in (embedded_lab, second):
            out = tmp_path / the_lab.name
            run = subprocess.run([*LABGRADER, "check", *lab_args(the_lab), "--out", str(out)], capture_output=True,
                                 text=True)
            assert run.returncode in (1, 3), run.stderr
            reports[the_lab.name] = json.loads((out / "report.json").read_text())
        assert _hostname_check(reports[SECOND]) == "passed"
        assert _hostname_check(reports[embedded_lab.name]) == "failed"
        listed = subprocess.run([*LABGRADER, "list", "--running"], capture_output=True, text=True)
        assert embedded_lab.name in listed.stdout and SECOND in listed.stdout
    finally:
        subprocess.run([*LABGRADER, "down", *lab_args(second)], capture_output=True, text=True)
    assert not netns.exists(second.namespace) and not second.dir.exists()
    assert netns.exists(embedded_lab.namespace), "taking one instance down leaves the other up"


def test_a_lab_name_is_checked_and_tied_to_its_scenario(embedded_lab):
    bad = subprocess.run([*LABGRADER, "status", "bloc1-integration", "--name", "Bad Name"], capture_output=True,
                         text=True)
    assert bad.returncode == 2 and "--name: 'Bad Name' is not a lab name" in bad.stderr
    other = subprocess.run([*LABGRADER, "status", "bloc1-configuration", "--name", embedded_lab.name],
                           capture_output=True, text=True)
    assert other.returncode == 2 and f"the lab {embedded_lab.name} runs scenario bloc1-integration" in other.stderr
