"""Scenario, role and référentiel files: whatever their bytes, loading gives the object or one error line
naming the file, never a traceback (the property is checked on generated documents)."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings, strategies as st

from labgrader import referentiel, roles, scenario
from labgrader.errors import LabgraderError

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = st.one_of(
    st.binary(max_size=400),
    st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                 lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=5),
                 max_leaves=25).map(lambda doc: yaml.safe_dump(doc).encode()),
    # Real files with one line spoiled: near the schema, where loaders are most likely to trip.
    st.tuples(st.sampled_from(["bloc1-integration", "bloc1-configuration"]), st.integers(0, 90),
              st.text(max_size=30)).map(lambda t: _spoiled(*t)),
)


def _spoiled(scenario_id: str, line: int, text: str) -> bytes:
    lines = (ROOT / "scenarios" / f"{scenario_id}.yaml").read_text().splitlines()
    lines[line % len(lines)] = text
    return "\n".join(lines).encode()


def one_line(exc: LabgraderError) -> bool:
    return "\n" not in str(exc) and "Traceback" not in str(exc)


SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@SETTINGS
@given(DOCUMENTS)
def test_any_scenario_file_gives_a_scenario_or_one_line(tmp_path, data):
    path = tmp_path / "bloc1-integration.yaml"
    path.write_bytes(data)
    try:
        scenario.load_file(path)
    except LabgraderError as exc:
        assert one_line(exc), str(exc)


@SETTINGS
@given(DOCUMENTS)
def test_any_referentiel_file_gives_a_referentiel_or_one_line(tmp_path, data):
    path = tmp_path / "referentiel.yaml"
    path.write_bytes(data)
    try:
        referentiel.load(path)
    except LabgraderError as exc:
        assert one_line(exc), str(exc)


@pytest.fixture
def project(tmp_path, monkeypatch):
    for name in ("scenarios", "labs"):
        shutil.copytree(ROOT / name, tmp_path / name)
    shutil.copy(ROOT / "Vagrantfile", tmp_path / "Vagrantfile")
    monkeypatch.setenv("LABGRADER_ROOT", str(tmp_path))
    roles.load.cache_clear()
    yield tmp_path
    roles.load.cache_clear()


@pytest.mark.parametrize("data", [b"\xff\xfe", b"- a\n- b\n", b"description: x\ndescription: y\n", b"[" * 3000,
                                  b"scripts: 5\n", b"42\n", b""])
def test_a_broken_role_file_is_one_line_naming_it(project, data):
    (project / "labs" / "roles" / "zabbix" / "role.yaml").write_bytes(data)
    with pytest.raises(LabgraderError) as caught:
        roles.load("zabbix")
    assert one_line(caught.value) and "labs/roles/zabbix/role.yaml" in str(caught.value)
