"""`labgrader grade`: a folder of candidates graded into one folder each plus the jury's index. Here every
machine is on this host's loopback on a closed port: the candidates' checks are errors (machines that do
not answer), a candidate with a bad inventory is listed as not graded, and the session always completes."""
from __future__ import annotations

import csv
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml

from labgrader import batch

from .test_grading_semantics import INVENTORY, SECRETS


def candidate(folder: Path, document: dict | str) -> None:
    folder.mkdir(parents=True)
    text = document if isinstance(document, str) else yaml.safe_dump(document)
    (folder / "inventory.yml").write_text(text)
    (folder / "secrets.yml").write_text(yaml.safe_dump(SECRETS))


def test_a_session_is_graded_into_reports_and_a_jury_index(tmp_path):
    session = tmp_path / "session"
    candidate(session / "cand-001", INVENTORY)
    candidate(session / "cand-002", {**INVENTORY, "candidate": "cand-0002b"})
    candidate(session / "cand-003", "hosts: [not, a, mapping\n")
    out = tmp_path / "out"
    result = subprocess.run([sys.executable, "-m", "labgrader.cli", "grade", str(session), "--out", str(out),
                             "--jobs", "2"], capture_output=True, text=True, timeout=600)
    assert result.returncode == 3, result.stderr  # some candidates could not be (fully) graded
    index = json.loads((out / "index.json").read_text())
    rows = {row["candidate"]: row for row in index["candidates"]}
    assert set(rows) == {"cand-001", "cand-0002b", "cand-003"}
    assert rows["cand-003"]["graded"] is False and "not valid YAML" in rows["cand-003"]["problem"]
    for name in ("cand-001", "cand-0002b"):
        assert rows[name]["graded"] and rows[name]["exit_code"] == 3
        assert set(rows[name]["statuses"].values()) == {"error", "evaluator"}
        assert (out / name / "report.html").is_file() and (out / name / "report.json").is_file()
    assert index["criteria"][:2] == ["A1.1/CE.1", "A1.1/CE.2"]
    table = list(csv.reader((out / "index.csv").open()))
    assert table[0][:5] == ["candidat", "scenario", "note", "code_sortie", "rapport"] and len(table) == 4
    page = (out / "index.html").read_text()
    assert 'lang="fr"' in page and 'href="cand-001/report.html"' in page and "non noté" in page
    assert "candidats notés" in result.stderr


def test_a_folder_without_inventories_is_one_line(tmp_path):
    (tmp_path / "empty").mkdir()
    result = subprocess.run([sys.executable, "-m", "labgrader.cli", "grade", str(tmp_path / "empty")],
                            capture_output=True, text=True)
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert "no inventory.yml nor *.inventory.yml beneath this folder" in result.stderr


def test_two_candidates_sharing_a_machine_are_never_graded_at_the_same_time():
    # A restart or a logon of one candidate's run would otherwise land in the middle of the other's.
    running, overlaps, lock = set(), [], threading.Lock()
    items = [("a", frozenset({"ns/10.0.0.5"})), ("b", frozenset({"ns/10.0.0.5"})), ("c", frozenset({"ns/10.0.0.6"})),
             ("d", frozenset({"ns/10.0.0.5", "ns/10.0.0.6"})), ("e", frozenset({"other/10.0.0.5"}))]

    def work(item):
        with lock:
            overlaps.extend(other for other in running if other[1] & item[1])
            running.add(item)
        time.sleep(0.05)
        with lock:
            running.discard(item)
        return item[0]

    done = list(batch.run_disjoint(items, lambda item: item[1], work, jobs=4))
    assert sorted(done) == ["a", "b", "c", "d", "e"], f"every candidate is graded once: {done}"
    assert overlaps == [], f"runs that shared a machine overlapped: {overlaps}"


def test_candidates_on_distinct_machines_run_side_by_side():
    started = time.monotonic()
    items = [(str(n), frozenset({f"ns/10.0.0.{n}"})) for n in range(8)]
    assert len(list(batch.run_disjoint(items, lambda item: item[1], lambda item: time.sleep(0.2), jobs=4))) == 8, \
        "every item ran"
    assert time.monotonic() - started < 1.2, "four at a time: two rounds of 0.2 s, not eight"


def test_a_run_that_raises_is_handed_to_the_caller_not_lost():
    def work(item):
        raise RuntimeError("boom")
    with pytest.raises(RuntimeError, match="boom"):
        list(batch.run_disjoint([1, 2], lambda item: frozenset(), work, jobs=2))
