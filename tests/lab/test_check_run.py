"""Checking the real lab: the grid of a fresh lab, the same checks through plain pytest, an unreachable
machine, and no secret in any artefact."""
from __future__ import annotations

import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import yaml


from labgrader import lab as lablib, netns, paths, scenario

from .conftest import INSTANCE

SCENARIO = scenario.load("bloc1-integration")
ROOT = Path(__file__).resolve().parents[2]
# On the lab as the supplier delivered it, every automated criterion is the candidate's work still to do.
FRESH_LAB = {**{f"A1.1/CE.{n}": "not_met" for n in range(1, 6)}, **{f"A1.1/CE.{n}": "evaluator" for n in (6, 7, 8)}}


def check(*args: str, out: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "labgrader.cli", "check", "bloc1-integration", "--name", INSTANCE,
                           "--out", str(out), *args], capture_output=True, text=True)


def statuses(report: dict) -> dict[str, str]:
    return {c["id"]: c["status"] for c in report["criteria"]}


def test_check_grades_the_fresh_lab_criterion_by_criterion(embedded_lab, tmp_path):
    result = check("--candidate", "cand-0042", out=tmp_path)
    assert result.returncode == 1, result.stderr  # some criteria not met: the candidate has work to do
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["scenario"] == "bloc1-integration" and report["candidate"] == "cand-0042"
    assert [c["id"] for c in report["criteria"]] == [f"A1.1/CE.{n}" for n in range(1, 9)]
    assert statuses(report) == FRESH_LAB
    by_id = {c["id"]: c for c in report["criteria"]}
    logon = next(c for c in by_id["A1.1/CE.4"]["checks"] if "ouvre une session" in c["title"])
    assert logon["outcome"] == "failed", logon
    assert any(e["action"].startswith("ssh logon amartin") for e in logon["evidence"])
    assert by_id["A1.1/CE.6"]["guidance"] and by_id["A1.1/CE.6"]["checks"] == []
    checks = sum(len(c["checks"]) for c in report["criteria"])
    suite = ET.parse(tmp_path / "junit.xml").getroot().find("testsuite")
    assert suite.get("tests") == str(checks) and suite.get("failures") == str(checks)
    assert 'lang="fr"' in (tmp_path / "report.html").read_text()


def test_the_same_checks_run_unchanged_through_pytest(embedded_lab, tmp_path):
    inventory = embedded_lab.dir / "inventory.yml"
    result = subprocess.run([sys.executable, "-m", "pytest", "checks/bloc1", "--lab-inventory", str(inventory),
                             "--lab-report", str(tmp_path), "-p", "no:cacheprovider", "-q"],
                            capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 1, result.stdout[-2000:]
    report = json.loads((tmp_path / "report.json").read_text())
    assert f"{sum(len(c['checks']) for c in report['criteria'])} failed" in result.stdout
    assert statuses(report) == FRESH_LAB
    assert re.search(r"labgrader: connections opened: client1/ssh=\d, dc1/ldaps=1, (.*, )?zbx1/zabbix_api=1",
                     result.stdout), result.stdout[-500:]


def test_a_stopped_machine_makes_its_checks_errors_and_the_rest_is_still_graded(embedded_lab, tmp_path):
    client = embedded_lab.container("client1")
    subprocess.run(netns.argv(embedded_lab.namespace, ["lxc-stop", "-k", "-n", client]), check=True)
    try:
        result = check(out=tmp_path)
    finally:
        lablib.up(embedded_lab, lambda _: None)  # start it again for the tests that follow
    assert result.returncode == 3, result.stderr
    for name in ("report.json", "junit.xml", "report.html", "checks.log"):
        assert (tmp_path / name).is_file(), f"{name} missing"
    report = json.loads((tmp_path / "report.json").read_text())
    by_id = {c["id"]: c for c in report["criteria"]}
    assert by_id["A1.1/CE.1"]["status"] == "error"
    assert "client1 (192.168.56.50:22) ne répond pas en SSH" in by_id["A1.1/CE.1"]["checks"][0]["message"]
    assert by_id["A1.1/CE.3"]["status"] == "not_met"  # graded through dc1, which still answers
    assert report["summary"]["exit_code"] == 3


LEAKY_CHECK = '''
import pytest

@pytest.mark.criterion("A1.1/CE.4", title="Un contrôle maladroit qui affiche un mot de passe")
def test_a_careless_check_prints_a_password(lab):
    password = lab.secret("user_password:amartin")
    print("trying", password)
    assert password == "something else", f"the password was {password}"
'''


def test_no_password_or_token_appears_in_any_artefact(embedded_lab, tmp_path):
    secrets = [s for s in SCENARIO.secrets().values()]
    outputs = []
    result = check(out=tmp_path / "cli")
    outputs += [result.stdout, result.stderr]
    leaky = tmp_path / "leaky" / "test_a1_1_leaky.py"
    leaky.parent.mkdir()
    leaky.write_text(LEAKY_CHECK)
    run = subprocess.run([sys.executable, "-m", "pytest", str(leaky), "--lab-inventory",
                          str(embedded_lab.dir / "inventory.yml"), "--lab-report", str(tmp_path / "leaky-report"),
                          "--junitxml", str(tmp_path / "leaky-report" / "pytest-junit.xml"), "-p", "no:cacheprovider",
                          "-rA"], capture_output=True, text=True, cwd=tmp_path)
    assert run.returncode == 1, run.stdout[-2000:]
    assert "the password was «redacted»" in run.stdout
    outputs += [run.stdout, run.stderr]
    artefacts = [p for p in tmp_path.rglob("*") if p.is_file() and p.suffix != ".py"]
    artefacts += [p for p in (paths.state_dir() / "logs").rglob("*") if p.is_file()]
    artefacts += [embedded_lab.dir / "inventory.yml", embedded_lab.dir / "plan.json"]
    assert len(artefacts) >= 10
    for secret in secrets:
        for text in outputs:
            assert secret not in text
        for artefact in artefacts:
            assert secret not in artefact.read_text(errors="replace"), f"a secret leaked into {artefact}"


def test_an_evaluator_account_whose_sudo_asks_a_password_stops_the_run_before_any_verdict(embedded_lab, tmp_path):
    """The preflight: `sudo -n` refused to the evaluator's account is one line, exit 2, no report at all —
    never "no failed unit" read from a command that did not run."""
    password = "Evaluateur-sans-sudo-1!"
    setup = ("id evalpw >/dev/null 2>&1 || useradd -m -s /bin/bash evalpw; "
             f"echo 'evalpw:{password}' | chpasswd; echo 'evalpw ALL=(ALL) ALL' > /etc/sudoers.d/evalpw")
    run = subprocess.run([sys.executable, "-m", "labgrader.cli", "ssh", "bloc1-integration", "--name", INSTANCE,
                          "client1", "--",
                          "sudo", "sh", "-c", setup], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    source = yaml.safe_load((embedded_lab.dir / "inventory.yml").read_text())
    ssh = source["hosts"]["client1"]["transports"]["ssh"]  # the machine's pinned host key is kept
    ssh.pop("key_file")
    ssh.update(user="evalpw", password={"secret": "evaluator_ssh"})
    source["secrets_file"] = "evaluator-secrets.yml"
    secrets = yaml.safe_load((embedded_lab.dir / "secrets.yml").read_text())
    # Beside the lab's own inventory: only an inventory in labgrader's state may name the lab's namespace.
    inventory, secrets_file = embedded_lab.dir / "evaluator-inventory.yml", embedded_lab.dir / "evaluator-secrets.yml"
    secrets_file.write_text(yaml.safe_dump({**secrets, "evaluator_ssh": password}))
    inventory.write_text(yaml.safe_dump(source))
    try:
        result = check("--inventory", str(inventory), out=tmp_path / "out")
    finally:
        inventory.unlink()
        secrets_file.unlink()
    assert result.returncode == 2, result.stdout + result.stderr
    assert "sudo -n refusé au compte evalpw" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "out" / "report.json").exists()
