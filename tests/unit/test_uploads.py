"""Software a role needs that labgrader cannot download (GLPI's archive): asked for in one line before anything is
built, and refused unless its SHA-256 is pinned or vouched for (uploads.py)."""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys

import pytest

from labgrader import lab as lablib
from labgrader import netns, uploads
from labgrader.errors import InputError

LABGRADER = [sys.executable, "-m", "labgrader.cli"]


def _archive(tmp_path, content: bytes = b"not really glpi") -> tuple:
    path = tmp_path / "glpi-10.0.99.tgz"
    path.write_bytes(content)
    return path, hashlib.sha256(content).hexdigest()


def test_up_without_the_glpi_archive_says_how_to_provide_it_in_one_line_and_builds_nothing(tmp_path):
    state, name = tmp_path / "state", "glpi-missing-test"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LABGRADER_GLPI")}
    result = subprocess.run([*LABGRADER, "up", "bloc2-inventaire", "--name", name], capture_output=True, text=True,
                            env={**env, "LABGRADER_STATE": str(state)})
    assert result.returncode == 2, result.stderr
    assert result.stdout == "" and result.stderr.count("\n") == 1, result.stderr
    assert "glpi1 (role glpi) needs GLPI 10.0's release archive" in result.stderr
    assert "--archive glpi=FILE" in result.stderr and "LABGRADER_GLPI_ARCHIVE=FILE" in result.stderr
    assert "https://github.com/glpi-project/glpi/releases" in result.stderr
    assert not state.exists() or not any(p for p in state.rglob("*") if not p.name.endswith(".lock"))
    assert not netns.exists(f"lg-{name}")


def test_an_archive_that_no_role_pins_is_refused_with_its_digest(tmp_path, monkeypatch):
    path, digest = _archive(tmp_path)
    monkeypatch.delenv("LABGRADER_GLPI_ARCHIVE_SHA256", raising=False)
    machines = lablib.open_lab("bloc2-inventaire").machines
    with pytest.raises(InputError) as caught:
        uploads.for_machines("bloc2-inventaire", machines, {"glpi": path}, with_archives=True)
    assert digest in str(caught.value) and "LABGRADER_GLPI_ARCHIVE_SHA256" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_an_archive_vouched_for_by_its_digest_is_uploaded_to_the_glpi_machine_only(tmp_path, monkeypatch):
    path, digest = _archive(tmp_path)
    monkeypatch.setenv("LABGRADER_GLPI_ARCHIVE_SHA256", digest.upper())
    machines = lablib.open_lab("bloc2-inventaire").machines
    found = uploads.for_machines("bloc2-inventaire", machines, {"glpi": path}, with_archives=True)
    assert found["glpi1"][-1] == {"source": str(path.resolve()), "destination": "/var/tmp/labgrader/glpi.tgz"}
    assert found["pc1"] == [] and found["pc2"] == []


def test_the_environment_variable_names_the_archive_and_a_built_lab_needs_none(tmp_path, monkeypatch):
    path, digest = _archive(tmp_path)
    monkeypatch.setenv("LABGRADER_GLPI_ARCHIVE", str(path))
    monkeypatch.setenv("LABGRADER_GLPI_ARCHIVE_SHA256", digest)
    machines = lablib.open_lab("bloc2-inventaire").machines
    assert uploads.for_machines("bloc2-inventaire", machines, {}, with_archives=True)["glpi1"][-1]["source"] == str(
        path.resolve())
    monkeypatch.delenv("LABGRADER_GLPI_ARCHIVE")
    assert [f["destination"] for f in uploads.for_machines("bloc2-inventaire", machines, {}, with_archives=False)[
        "glpi1"]] == ["/var/tmp/labgrader/lab_glpi.py"]


def test_the_double_profile_uploads_the_tests_double_and_needs_no_archive(monkeypatch):
    monkeypatch.delenv("LABGRADER_GLPI_ARCHIVE", raising=False)
    machines = lablib.open_lab("bloc2-inventaire", "double").machines
    found = uploads.for_machines("bloc2-inventaire", machines, {}, with_archives=True)
    assert [f["destination"] for f in found["glpi1"]] == ["/var/tmp/labgrader/glpi-double",
                                                          "/var/tmp/labgrader/lab_glpi.py"]
    assert found["glpi1"][0]["source"].endswith("tests/glpi_double")


@pytest.mark.parametrize("value", ["glpi", "=file", "glpi="])
def test_a_malformed_archive_option_is_one_line(value):
    with pytest.raises(InputError, match="is not ROLE=FILE"):
        uploads.parse_given([value])


def test_an_archive_for_a_role_the_lab_lacks_is_refused(tmp_path):
    path, _ = _archive(tmp_path)
    machines = lablib.open_lab("bloc2-supervision").machines
    with pytest.raises(InputError, match="no machine of this lab needs an archive for role glpi"):
        uploads.for_machines("bloc2-supervision", machines, {"glpi": path}, with_archives=True)
