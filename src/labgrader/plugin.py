"""The labgrader pytest plugin: `pytest checks/bloc1 --lab-inventory candidate.yml [--lab-report DIR]`.

Inert unless --lab-inventory is given. Then every collected check must carry
`@pytest.mark.criterion("A1.1/CE.4", title="…", impact=…)` naming a criterion of the référentiel, checks
get the lab through fixtures (never through Vagrant), a host that does not answer turns its checks into
`error` while the run goes on, and at the end the results become report.json, junit.xml and report.html.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import functools
import re
import time
from pathlib import Path
from typing import Callable, TypeVar

import pytest

from . import inventory as inventory_mod
from . import deadlines, grading, netjoin, preflight, referentiel, scenario as scenario_mod
from .errors import LabgraderError
from .remote.base import RemoteError
from .remote.evidence import Recorder, inert
from .remote.session import GradingSession, MissingFromInventory
from .report import write_reports
from .report.model import CheckResult, CriterionInfo, build_report

T = TypeVar("T")
CANDIDATE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
STATE = pytest.StashKey["LabRun"]()


class LabRun:
    """What one check session knows: inventory, scenario, remote session, results as they come."""

    def __init__(self, inventory: inventory_mod.Inventory, scenario: scenario_mod.Scenario | None, activity: str,
                 candidate: str, report_dir: Path | None, trust_on_first_use: bool = False,
                 run_timeout: float = deadlines.RUN_TIMEOUT_S):
        self.inventory, self.scenario, self.activity = inventory, scenario, activity
        self.candidate, self.report_dir = candidate, report_dir
        self.session = GradingSession(inventory, Recorder(), trust_on_first_use=trust_on_first_use)
        if scenario is not None:
            self.session.recorder.add_secrets(scenario.secrets().values())
        self.results: list[CheckResult] = []
        self.collected: dict[str, tuple[str, str, float]] = {}  # node id -> (criterion, title, impact)
        self.marks: dict[str, int] = {}
        self.started_at = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        self.report: dict | None = None
        self.aborted = False  # stopped before grading (bad marker, preflight gap): no report at all
        self.deadline = time.monotonic() + run_timeout

    @functools.cached_property
    def grid(self) -> tuple[str, list[CriterionInfo]]:
        """The activity's title and criteria: read once (after collection), for every report written."""
        activity = referentiel.load().activity(self.activity)
        return activity.title, [CriterionInfo(id=c.id, text=c.text, group=c.group, assessment=c.assessment,
                                              guidance=c.guidance or "") for c in activity.criteria]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("labgrader", "labgrader: grade a lab against the référentiel")
    group.addoption("--lab-inventory", metavar="FILE", help="inventory of the machines to check (enables the plugin)")
    group.addoption("--lab-report", metavar="DIR", help="write report.json, junit.xml and report.html there")
    group.addoption("--candidate", metavar="ID", default="anonyme",
                    help="the candidate's pseudonymous id (letters, digits, - and _; never a name or e-mail)")
    group.addoption("--lab-scenario", metavar="ID", help="scenario of the lab (default: the inventory's `scenario`)")
    group.addoption("--trust-on-first-use", action="store_true",
                    help="accept a machine's unknown SSH host key and record it in the inventory's known_hosts "
                         "(a key that differs from a recorded one is always refused)")
    group.addoption("--lab-check-timeout", metavar="S", type=float, default=deadlines.CHECK_TIMEOUT_S,
                    help="seconds a check may take before it is an error (default %(default)s)")
    group.addoption("--lab-run-timeout", metavar="S", type=float, default=deadlines.RUN_TIMEOUT_S,
                    help="seconds the whole run may take; past it the run stops, reported incomplete "
                         "(default %(default)s)")


def _usage_error(message: str) -> None:
    pytest.exit(f"labgrader: error: {message}", returncode=2)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "criterion(id, title, impact=0.7, supporting=False, timeout=None): the "
                            "criterion a check evidences; timeout: seconds for a check that waits by design")
    path = config.getoption("--lab-inventory")
    if not path:
        return
    try:
        inventory = inventory_mod.load(Path(path))
        scenario_id = config.getoption("--lab-scenario") or inventory.scenario
        scenario = scenario_mod.load(scenario_id) if scenario_id else None
        candidate = config.getoption("--candidate")
        if not CANDIDATE_ID.match(candidate):
            raise LabgraderError(f"'{candidate}' is not a pseudonymous id (letters, digits, - and _, at most 64)",
                                 field="--candidate")
        if inventory.network_namespace:
            if not netjoin.exists(inventory.network_namespace):
                raise LabgraderError(f"the lab's network namespace {inventory.network_namespace} does not exist: "
                                     "is the lab up?", path=inventory.source, field="network_namespace")
            # The main thread joins the lab's network: every check and its connections run there.
            netjoin.enter(inventory.network_namespace)
    except LabgraderError as exc:
        _usage_error(str(exc))
    report_dir = config.getoption("--lab-report")
    run = LabRun(inventory, scenario, scenario.activity if scenario else "", candidate,
                 Path(report_dir) if report_dir else None, config.getoption("--trust-on-first-use"),
                 config.getoption("--lab-run-timeout"))
    config.stash[STATE] = run
    deadlines.interrupt_on_termination()


def _run(config: pytest.Config) -> LabRun | None:
    return config.stash.get(STATE, None)


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    run = _run(config)
    if run is None:
        return
    ref = referentiel.load()
    run.aborted = True  # until collection and the preflight are through
    elsewhere = []
    for item in items:
        marker = item.get_closest_marker("criterion")
        where = f"{item.nodeid}: @pytest.mark.criterion"
        if marker is None or not marker.args:
            _usage_error(f"{item.nodeid}: a check must name the criterion it evidences (@pytest.mark.criterion)")
        criterion_id = marker.args[0]
        try:
            criterion = ref.criterion(criterion_id)
        except LabgraderError:
            _usage_error(f"{where}: unknown criterion '{criterion_id}'")
        if not marker.kwargs.get("title"):
            _usage_error(f"{where}: a check needs a title (what it verifies, in French)")
        if run.activity and criterion.activity_id != run.activity:
            elsewhere.append(item)  # `pytest checks/bloc1` against an A1.1 lab: the other activities' checks
            continue
        if run.scenario and run.scenario.checks and not _graded_by(run.scenario, item):
            elsewhere.append(item)  # the activity's other scenario (A2.1: supervision, inventory)
            continue
        run.activity = run.activity or criterion.activity_id
        run.collected[item.nodeid] = (criterion_id, marker.kwargs["title"], float(marker.kwargs.get("impact", 0.7)))
    if elsewhere:
        config.hook.pytest_deselected(items=elsewhere)
        items[:] = [item for item in items if item not in elsewhere]
        for item in elsewhere:
            run.collected.pop(item.nodeid, None)
    if not config.option.collectonly:
        _preflight(run)
    run.aborted = False


def _graded_by(scenario: scenario_mod.Scenario, item: pytest.Item) -> bool:
    return Path(item.path).resolve() in {module.resolve() for module in grading.scenario_check_files(scenario)}


def _preflight(run: LabRun) -> None:
    """What the inventory promises is verified before any verdict; every gap is a line, exit 2."""
    missing = preflight.gaps(run.session, run.scenario)
    if missing:
        run.session.close()
        source = run.inventory.source
        _usage_error("\nlabgrader: error: ".join(gap if gap.startswith(source) else f"{source}: {gap}"
                                                  for gap in missing))


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem) -> bool | None:
    """Past the run's deadline no check runs: the run stops, and what did not run is an error."""
    run = _run(item.config)
    if run is not None and run.deadline <= time.monotonic():
        item.session.shouldstop = "délai de l'exécution dépassé"
        return True
    return None


def _bounded(item: pytest.Item):
    """A check's deadline for one phase (its fixtures' setup, its call), within what is left of the run's."""
    run = _run(item.config)
    if run is None:
        return contextlib.nullcontext()
    # A check that waits by design (a supervision probe waits for an alert) declares the time it needs.
    marker = item.get_closest_marker("criterion")
    allowed = max(item.config.getoption("--lab-check-timeout"), float(marker.kwargs.get("timeout", 0)) if marker else 0)
    seconds = max(0.1, min(allowed, run.deadline - time.monotonic()))
    return deadlines.deadline(seconds, f"la vérification a dépassé son délai ({seconds:.0f} s)")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item: pytest.Item):
    run = _run(item.config)
    if run is not None:
        run.marks[item.nodeid] = run.session.recorder.mark()
    with _bounded(item):
        yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item):
    with _bounded(item):
        yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    outcome = yield
    run = _run(item.config)
    if run is None:
        return
    report = outcome.get_result()
    _redact_report(report, run)
    kind = _outcome(item, call, report)
    if kind == "error" and call.when == "call":  # not a verdict: pytest shows an error, not a failure
        report.outcome = "failed"
        report.labgrader_error = True
    final = (call.when == "call") or (report.failed or report.skipped)
    if not final or any(r.id == item.nodeid for r in run.results):
        return
    message = "" if kind == "passed" else _skip_reason(report) if kind == "skipped" else _message(call, run, kind)
    marker = item.get_closest_marker("criterion")
    run.results.append(CheckResult(
        id=item.nodeid, criterion=marker.args[0], title=marker.kwargs["title"],
        impact=float(marker.kwargs.get("impact", 0.7)), outcome=kind, message=message,
        evidence=run.session.recorder.since(run.marks.get(item.nodeid, 0)), duration=round(call.duration, 3)))
    _write_report(run, incomplete=True)  # progressively: a killed run leaves an incomplete report, never a complete one


def _outcome(item: pytest.Item, call: pytest.CallInfo, report: pytest.TestReport) -> str:
    """passed / failed / error / skipped. Only an assertion a check makes about the lab is `failed`: an
    exception anywhere else (a helper, a fixture, a library, a missing secret) is `error`, never a verdict."""
    if report.skipped:
        return "skipped"
    if call.excinfo is None:
        return "passed" if call.when == "call" else "error"
    if call.when == "call" and _is_verdict(call.excinfo, item):
        return "failed"
    return "error"


def _is_verdict(excinfo: pytest.ExceptionInfo, item: pytest.Item) -> bool:
    """An AssertionError (or pytest.fail) raised by the check's own code: its module or a checks conftest."""
    if not excinfo.errisinstance((AssertionError, pytest.fail.Exception)):
        return False
    raised_in, check_file = Path(str(excinfo.traceback[-1].path)), Path(str(item.path))
    return raised_in == check_file or (raised_in.name == "conftest.py" and check_file.is_relative_to(raised_in.parent))


def _redact_report(report: pytest.TestReport, run: LabRun) -> None:
    """pytest prints assertion details and captured output verbatim: a careless check could show a password."""
    if report.longrepr is not None and not isinstance(report.longrepr, tuple):
        text = str(report.longrepr)
        redacted = inert(run.session.recorder.redact(text))  # and candidate text never drives the terminal
        if redacted != text:
            report.longrepr = redacted
    report.sections = [(title, inert(run.session.recorder.redact(content))) for title, content in report.sections]


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    run = _run(config)
    if run is None:
        return
    opened = ", ".join(f"{host}/{protocol}={count}" for (host, protocol), count in
                       sorted(run.session.recorder.connections.items()))
    terminalreporter.write_line(f"labgrader: connections opened: {opened or 'none'}")
    if run.report_dir is not None and run.report is not None:
        terminalreporter.write_line(f"labgrader: report in {run.report_dir}")


def pytest_report_teststatus(report: pytest.TestReport, config: pytest.Config):
    if getattr(report, "labgrader_error", False):
        return "error", "E", "ERROR (not a verdict)"
    return None


NOT_A_VERDICT = "Le correcteur n'a pas pu juger ce point (ce n'est pas un verdict) : "
UNEXPLAINED_FAILURE = "La vérification a échoué sans message explicite (voir les éléments relevés)."


def _message(call: pytest.CallInfo, run: LabRun, kind: str) -> str:
    """The grid's sentence: the check's own French message for a failure; why no verdict for an error."""
    exc = call.excinfo
    if kind == "failed":
        text = str(exc.value).strip().split("\nassert ")[0].strip()
        if not text or text.startswith("assert "):
            text = UNEXPLAINED_FAILURE
    elif exc is None:
        text = NOT_A_VERDICT + "la vérification s'est terminée sans résultat."
    elif exc.errisinstance((RemoteError, MissingFromInventory, LabgraderError)):
        text = NOT_A_VERDICT + str(exc.value).strip()
    else:
        text = NOT_A_VERDICT + f"erreur interne {exc.exconly().strip()}"
    text = " ".join(inert(text).split())  # one line in the grid, candidate text inert
    return run.session.recorder.redact(text)[:1000]


def _skip_reason(report: pytest.TestReport) -> str:
    if isinstance(report.longrepr, tuple):
        return report.longrepr[2].removeprefix("Skipped: ")
    return str(report.longrepr)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    run = _run(session.config)
    if run is None:
        return
    run.session.close()
    if not run.activity or run.aborted:
        return
    incomplete = bool(exitstatus == pytest.ExitCode.INTERRUPTED or session.shouldstop or session.shouldfail)
    run.report = _write_report(run, incomplete=incomplete)


def _write_report(run: LabRun, *, incomplete: bool) -> dict | None:
    """The report of what is graded so far; every collected check without a result is an error in it."""
    if not run.activity:
        return None
    why = "la vérification n'a pas été exécutée (exécution interrompue)" if incomplete else \
        "la vérification n'a laissé aucun résultat"
    done = {result.id for result in run.results}
    unrun = [CheckResult(id=nodeid, criterion=criterion, title=title, impact=impact, outcome="error",
                         message=NOT_A_VERDICT + why, evidence=(), duration=0.0)
             for nodeid, (criterion, title, impact) in run.collected.items() if nodeid not in done]
    title, criteria = run.grid
    report = build_report(
        scenario=run.scenario.id if run.scenario else "", activity=run.activity, activity_title=title,
        candidate=run.candidate, criteria=criteria, results=[*run.results, *unrun], started_at=run.started_at,
        finished_at=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"))
    report["incomplete"] = incomplete
    if incomplete:
        report["summary"]["exit_code"] = max(report["summary"]["exit_code"], 3)
    if run.report_dir is not None:
        write_reports(report, run.report_dir)
    return report


# --- fixtures the checks use --------------------------------------------------------------------------------

def _require(request: pytest.FixtureRequest) -> LabRun:
    run = _run(request.config)
    if run is None:
        pytest.skip("no lab to check: give --lab-inventory")
    return run


@pytest.fixture(scope="session")
def lab(request: pytest.FixtureRequest) -> GradingSession:
    """The remote session: `lab.ssh("client1")`, `lab.directory("dc1")`, `lab.supervision("zbx1")`, `lab.logon(…)`."""
    return _require(request).session


@pytest.fixture(scope="session")
def scenario(request: pytest.FixtureRequest) -> scenario_mod.Scenario:
    """The scenario the lab was built from: what the brief asked for (names, OUs, users)."""
    run = _require(request)
    if run.scenario is None:
        raise MissingFromInventory("cette vérification a besoin du scénario : donnez --lab-scenario ou le champ "
                                   "« scenario » de l'inventaire")
    return run.scenario


@pytest.fixture(scope="session")
def inventory(request: pytest.FixtureRequest) -> inventory_mod.Inventory:
    return _require(request).inventory


@pytest.fixture(scope="session")
def role_host(lab: GradingSession) -> Callable[[str], str]:
    """The name of the (first) machine with a role, e.g. role_host("samba-dc") -> "dc1" (a windows-dc also
    plays that part). No such machine is an error of the check, never a silent skip."""
    return lab.host_with_role


@pytest.fixture(scope="session")
def eventually() -> Callable[..., T]:
    """Retry a check until it holds, for facts that settle (GPO refresh, Zabbix data), within a bounded wait."""
    def retry(check: Callable[[], T], *, timeout: float = 60, interval: float = 2) -> T:
        deadline = time.monotonic() + timeout
        while True:
            try:
                return check()
            except AssertionError:
                if time.monotonic() + interval > deadline:
                    raise
                time.sleep(interval)
    return retry
