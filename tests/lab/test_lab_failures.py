"""A lab that cannot be built fails with one line and leaves nothing behind; a host without lxc is told so."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def test_up_on_a_host_without_lxc_is_a_one_line_error(tmp_path, embedded_lab):
    env = dict(os.environ, PATH=str(tmp_path))  # nothing on PATH: no lxc-start, no vagrant
    result = subprocess.run([sys.executable, "-m", "labgrader.cli", "up", "bloc1-integration"],
                            capture_output=True, text=True, env=env)
    assert result.returncode == 2
    assert result.stderr.strip() == ("labgrader: error: lxc is not installed on this host (lxc-start not found); "
                                     "run the README's set-up command (scripts/install)")


def test_a_failed_up_removes_what_it_built_and_keeps_its_logs(tmp_path, embedded_lab):
    project = tmp_path / "project"
    for name in ("scenarios", "labs"):
        shutil.copytree(ROOT / name, project / name)
    shutil.copy(ROOT / "Vagrantfile", project / "Vagrantfile")
    role = project / "labs" / "roles" / "broken"
    role.mkdir()
    (role / "role.yaml").write_text("description: fails on purpose\nscripts: [fail.sh]\ntransports: {ssh: {}}\n")
    (role / "fail.sh").write_text("#!/bin/sh\necho 'provisioning fails here on purpose' >&2\nexit 1\n")
    data = yaml.safe_load((project / "scenarios" / "bloc1-integration.yaml").read_text())
    data["id"] = "bloc1-broken"
    for steps_of_another_lab in ("setup", "solution"):
        data.pop(steps_of_another_lab, None)
    data["profiles"]["embedded"]["machines"] = [{"name": "ws1", "role": "broken", "address": "192.168.56.60"}]
    (project / "scenarios" / "bloc1-broken.yaml").write_text(yaml.safe_dump(data, allow_unicode=True))
    env = dict(os.environ, LABGRADER_ROOT=str(project), LABGRADER_STATE=str(tmp_path / "state"))

    result = subprocess.run([sys.executable, "-m", "labgrader.cli", "up", "bloc1-broken"], capture_output=True,
                            text=True, env=env, cwd=project)

    assert result.returncode == 3, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("labgrader: error: vagrant up ws1 failed (log: ") and "Traceback" not in result.stderr
    log = tmp_path / "state" / "logs" / "bloc1-broken" / "ws1.log"
    assert "provisioning fails here on purpose" in log.read_text()
    assert not list(Path("/var/lib/lxc").glob("lg-bloc1-broken-*"))
    assert not Path("/run/netns/lg-bloc1-broken").exists()
    assert not (tmp_path / "state" / "labs" / "bloc1-broken").exists()
    down = subprocess.run([sys.executable, "-m", "labgrader.cli", "down", "bloc1-broken"], capture_output=True,
                          text=True, env=env, cwd=project)
    assert down.returncode == 0, down.stderr
