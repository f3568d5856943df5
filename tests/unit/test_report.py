"""The report layer: status truth table, exit codes, report.json contract, JUnit and HTML renderings."""
from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import pytest

from labgrader.report import (
    CheckResult,
    CriterionInfo,
    Evidence,
    automated_without_checks,
    build_report,
    criterion_status,
    render_html,
    write_reports,
)

SCRIPT = "checks/bloc1/test_a1_1_integration.py"
HOSTILE = 'dc1 a répondu <script>alert("x")</script> & fini'


def check(criterion: str, outcome: str, name: str = "t", message: str = "", evidence=()) -> CheckResult:
    return CheckResult(f"{SCRIPT}::test_{name}", criterion, f"Titre {name}", 1.0, outcome, message,
                       tuple(evidence), 0.25)


def crit(cid: str, assessment: str = "automated", guidance: str = "") -> CriterionInfo:
    return CriterionInfo(cid, f"Texte du critère {cid}", "Groupe", assessment, guidance)


def report(criteria, results) -> dict:
    return build_report("bloc1-integration", "A1.1", "Intégrer un serveur", "cand-01", criteria, results,
                        "2025-11-29T09:00:00+01:00", "2025-11-29T09:10:00+01:00")


@pytest.fixture
def full() -> dict:
    """One criterion per status, plus an automated criterion that no check covers."""
    criteria = [crit("A1.1/CE.1"), crit("A1.1/CE.2"), crit("A1.1/CE.3"),
                crit("A1.1/CE.4", "evaluator", "Lire le dossier d'exploitation."), crit("A1.1/CE.5")]
    results = [
        check("A1.1/CE.1", "passed", "ok", evidence=[Evidence("dc1", "ldap: bind", "bind ok")]),
        check("A1.1/CE.2", "failed", "ko", HOSTILE, [Evidence("client1", "ssh: realm list", "\x1b[31mvide\x00")]),
        check("A1.1/CE.2", "passed", "ok2"),
        check("A1.1/CE.3", "error", "down", "dc1 injoignable"),
        check("A1.1/CE.3", "skipped", "win", "Windows absent du profil embarqué"),
    ]
    return report(criteria, results)


# --- status truth table ---------------------------------------------------------------------------------

@pytest.mark.parametrize("assessment, outcomes, expected", [
    ("evaluator", [], "evaluator"),
    ("evaluator", ["failed", "passed"], "evaluator"),
    ("automated", [], "evaluator"),
    ("automated", ["passed"], "met"),
    ("automated", ["passed", "skipped"], "error"),  # a check that never ran: never met on what is left
    ("automated", ["skipped"], "error"),
    ("automated", ["skipped", "skipped"], "error"),
    ("automated", ["passed", "failed"], "not_met"),
    ("automated", ["error", "failed"], "not_met"),
    ("automated", ["failed", "skipped"], "not_met"),
    ("automated", ["passed", "error"], "error"),
    ("automated", ["error", "skipped"], "error"),
    ("automated", ["error"], "error"),
])
def test_criterion_status_truth_table(assessment, outcomes, expected):
    info = crit("A1.1/CE.1", assessment)
    checks = [check("A1.1/CE.1", outcome, str(i)) for i, outcome in enumerate(outcomes)]
    assert criterion_status(info, checks) == expected


def test_automated_without_checks_is_flagged_and_explained():
    info = crit("A1.1/CE.9")
    assert automated_without_checks(info, []) is True
    assert automated_without_checks(info, [check("A1.1/CE.9", "skipped")]) is False
    assert automated_without_checks(crit("A1.1/CE.9", "evaluator"), []) is False
    entry = report([info], [])["criteria"][0]
    assert entry["status"] == "evaluator"
    assert entry["automated_without_checks"] is True
    assert "Aucune vérification automatique" in entry["guidance"]


def test_all_skipped_is_an_error_not_a_judgement():
    entry = report([crit("A1.1/CE.1")], [check("A1.1/CE.1", "skipped")])["criteria"][0]
    assert (entry["status"], entry["automated_without_checks"]) == ("error", False)


def test_supporting_checks_of_an_evaluator_criterion_are_never_a_verdict():
    entry = report([crit("A1.2/CE.5", "evaluator", "Apprécier l'initiative.")],
                   [check("A1.2/CE.5", "failed", "a11y"), check("A1.2/CE.5", "passed", "b")])["criteria"][0]
    assert entry["status"] == "evaluator" and len(entry["checks"]) == 2


def test_bad_outcome_and_assessment_are_refused():
    with pytest.raises(ValueError, match="outcome 'xfail'"):
        check("A1.1/CE.1", "xfail")
    with pytest.raises(ValueError, match="assessment 'manual'"):
        crit("A1.1/CE.1", "manual")


# --- exit codes -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("outcomes, expected", [
    (["passed", "passed"], 0),
    (["passed", "skipped"], 3),
    (["failed", "passed"], 1),
    (["failed", "error"], 3),
    (["passed", "error"], 3),
])
def test_exit_code(outcomes, expected):
    criteria = [crit("A1.1/CE.1"), crit("A1.1/CE.2"), crit("A1.1/CE.3", "evaluator")]
    results = [check(f"A1.1/CE.{i}", outcome, str(i)) for i, outcome in enumerate(outcomes, 1)]
    assert report(criteria, results)["summary"]["exit_code"] == expected


def test_only_evaluator_criteria_exit_zero():
    assert report([crit("A1.1/CE.1", "evaluator"), crit("A1.1/CE.2")], [])["summary"]["exit_code"] == 0


# --- report.json contract ----------------------------------------------------------------------------------

def test_json_contract(full):
    assert set(full) >= {"scenario", "activity", "candidate", "started_at", "finished_at", "criteria", "summary"}
    assert [c["id"] for c in full["criteria"]] == [f"A1.1/CE.{i}" for i in range(1, 6)]
    for entry in full["criteria"]:
        assert set(entry) >= {"id", "text", "group", "assessment", "status", "guidance", "checks"}
        for c in entry["checks"]:
            assert set(c) == {"id", "title", "impact", "outcome", "message", "evidence", "duration"}
            assert all(set(e) == {"host", "action", "detail"} for e in c["evidence"])
    assert [c["status"] for c in full["criteria"]] == ["met", "not_met", "error", "evaluator", "evaluator"]
    assert full["criteria"][1]["checks"][0]["evidence"][0]["host"] == "client1"
    summary = full["summary"]
    assert {k: summary[k] for k in ("met", "not_met", "error", "evaluator")} == \
        {"met": 1, "not_met": 1, "error": 1, "evaluator": 2}
    assert summary["checks"] == {"passed": 2, "failed": 1, "error": 1, "skipped": 1}
    assert summary["exit_code"] == 3
    json.dumps(full)  # plain JSON types only


def test_result_for_unknown_criterion_names_check_and_criterion():
    with pytest.raises(ValueError) as caught:
        report([crit("A1.1/CE.1")], [check("A2.2/CE.9", "passed", "stray")])
    assert f"{SCRIPT}::test_stray" in str(caught.value) and "A2.2/CE.9" in str(caught.value)


def test_write_reports_json_is_utf8_and_round_trips(full, tmp_path):
    paths = write_reports(full, tmp_path / "out")
    assert set(paths) == {"json", "junit", "html"}
    assert [p.name for p in paths.values()] == ["report.json", "junit.xml", "report.html"]
    raw = paths["json"].read_text(encoding="utf-8")
    assert "Intégrer" in raw and "\\u00e9" not in raw
    assert json.loads(raw) == full
    assert not list((tmp_path / "out").glob(".*partial"))


# --- JUnit ----------------------------------------------------------------------------------------------

def test_junit_parses_with_the_right_counts(full, tmp_path):
    root = ET.parse(write_reports(full, tmp_path)["junit"]).getroot()
    suites = root.findall("testsuite")
    assert len(suites) == 1
    suite = suites[0]
    assert suite.get("name") == "bloc1-integration"
    assert suite.get("timestamp") == "2025-11-29T08:00:00"  # 09:00+01:00, zone-less UTC as the schema wants
    counts = {k: suite.get(k) for k in ("tests", "failures", "errors", "skipped")}
    assert counts == {"tests": "5", "failures": "1", "errors": "1", "skipped": "1"}
    cases = suite.findall("testcase")
    assert len(cases) == 5
    assert [c.get("classname") for c in cases] == ["A1.1/CE.1", "A1.1/CE.2", "A1.1/CE.2", "A1.1/CE.3", "A1.1/CE.3"]
    failed = next(c for c in cases if c.get("name") == f"{SCRIPT}::test_ko")
    assert failed.find("failure").get("message") == HOSTILE
    assert "realm list" in failed.find("system-out").text
    assert "\x00" not in failed.find("system-out").text  # replaced, so the file stays valid XML
    assert len(suite.findall("testcase/error")) == 1 and len(suite.findall("testcase/skipped")) == 1
    assert next(c for c in cases if c.get("name").endswith("test_ok")).find("failure") is None


# --- HTML -----------------------------------------------------------------------------------------------

class Grid(HTMLParser):
    """Collects what the tests assert on: tags seen, row headers, col headers, labels and inputs."""

    def __init__(self):
        super().__init__()
        self.tags: list[str] = []
        self.row_headers: list[str] = []
        self.col_headers: list[str] = []
        self.labels: dict[str, str] = {}
        self.inputs: list[dict] = []
        self.html_lang = None
        self._capture: tuple[str, str] | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append(tag)
        if tag == "html":
            self.html_lang = attrs.get("lang")
        if tag == "th":
            self._capture, self._text = (attrs.get("scope"), ""), []
        if tag == "label":
            self._capture, self._text = ("label", attrs.get("for")), []
        if tag in ("input", "textarea"):
            self.inputs.append({"tag": tag, **attrs})

    def handle_data(self, data):
        if self._capture:
            self._text.append(data)

    def handle_endtag(self, tag):
        if self._capture and tag in ("th", "label"):
            kind, key = self._capture
            text = "".join(self._text).strip()
            {"row": self.row_headers, "col": self.col_headers}.get(kind, []).append(text)
            if kind == "label":
                self.labels[key] = text
            self._capture = None


def parse(page: str) -> Grid:
    grid = Grid()
    grid.feed(page)
    return grid


def test_html_escapes_script_from_a_message(full):
    page = render_html(full)
    assert "<script" not in page.lower()
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; fini" in page
    assert "script" not in parse(page).tags


def test_html_grid_lists_every_criterion_with_its_status_in_words(full):
    page = render_html(full)
    grid = parse(page)
    assert grid.html_lang == "fr"
    assert grid.tags.count("table") == 1 and "caption" in grid.tags
    assert grid.col_headers == ["Critère", "Intitulé", "Statut", "Vérifications / preuves"]
    assert grid.row_headers == [c["id"] for c in full["criteria"]]
    for word in ("Atteint", "Non atteint", "Erreur", "À évaluer"):
        assert f"</span> {word}</span>" in page
    assert page.count("<details>") == 5 and page.count("<summary>") == 5


def test_html_evaluator_boxes_are_labelled_checkboxes(full):
    grid = parse(render_html(full))
    boxes = [i for i in grid.inputs if i.get("type") == "checkbox"]
    assert len(boxes) == full["summary"]["evaluator"] == 2
    for control in grid.inputs:
        assert grid.labels.get(control["id"], "").startswith(("Critère validé par l'évaluateur",
                                                             "Notes de l'évaluateur"))
    ids = [i["id"] for i in grid.inputs]
    assert len(ids) == len(set(ids))


def test_html_is_self_contained(full):
    page = render_html(full)
    grid = parse(page)
    assert not {"link", "script", "img", "iframe"} & set(grid.tags)
    assert "http://" not in page and "https://" not in page and "@import" not in page
    assert ":focus-visible" in page
