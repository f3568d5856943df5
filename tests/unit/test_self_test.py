"""`labgrader test` judges verdicts and guards apart: every verdict must flip from failed to passed; a supporting
check of an evaluator criterion may already hold on the fresh lab (it guards against a bad repair)."""
from labgrader import solving

REPORT = {"criteria": [
    {"id": "A2.2/CE.7", "status": "not_met", "checks": [{"id": "t::test_fix", "outcome": "failed"}]},
    {"id": "A2.2/CE.5", "status": "evaluator", "checks": [{"id": "t::test_guard", "outcome": "passed"}]},
]}


def test_verdicts_only_leaves_out_the_supporting_checks_of_evaluator_criteria():
    assert solving.outcomes(REPORT) == {"t::test_fix": "failed", "t::test_guard": "passed"}, "toutes les vérifications"
    assert solving.outcomes(REPORT, verdicts_only=True) == {"t::test_fix": "failed"}, "seulement les verdicts"
