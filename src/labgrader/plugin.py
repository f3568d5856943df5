"""The labgrader pytest plugin: `pytest checks/bloc1 --lab-inventory candidate.yml [--lab-report DIR]`.

Inert unless --lab-inventory is given. Then every collected check must carry
`@pytest.mark.criterion("A1.1/CE.4", title="…", impact=…)` naming a criterion of the référentiel, checks
get the lab through fixtures (never through Vagrant), a host that does not answer turns its checks into
`error` while the run goes on, and at the end the results become report.json, junit.xml and report.html.
"""
from __future__ import annotations

import datetime as dt
import re
import time
from pathlib import Path
from typing import Callable, TypeVar

import pytest

from . import inventory as inventory_mod
from . import netns, referentiel, scenario as scenario_mod
from .errors import LabgraderError
from .remote.evidence import Recorder
from .remote.session import LabSession
from .remote.ssh import HostUnreachable
from .report import write_reports
from .report.model import CheckResult, CriterionInfo, build_report

T = TypeVar("T")
CANDIDATE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
STATE = pytest.StashKey["LabRun"]()


class LabRun:
    """What one check session knows: inventory, scenario, remote session, results as they come."""

    def __init__(self, inventory: inventory_mod.Inventory, scenario: scenario_mod.Scenario | None, activity: str,
                 candidate: str, report_dir: Path | None):
        self.inventory, self.scenario, self.activity = inventory, scenario, activity
        self.candidate, self.report_dir = candidate, report_dir
        self.session = LabSession(inventory, Recorder())
        if scenario is not None:
            self.session.recorder.add_secrets(scenario.secrets().values())
        self.results: list[CheckResult] = []
        self.marks: dict[str, int] = {}
        self.started_at = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        self.report: dict | None = None


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("labgrader", "labgrader: grade a lab against the référentiel")
    group.addoption("--lab-inventory", metavar="FILE", help="inventory of the machines to check (enables the plugin)")
    group.addoption("--lab-report", metavar="DIR", help="write report.json, junit.xml and report.html there")
    group.addoption("--candidate", metavar="ID", default="anonyme",
                    help="the candidate's pseudonymous id (letters, digits, - and _; never a name or e-mail)")
    group.addoption("--lab-scenario", metavar="ID", help="scenario of the lab (default: the inventory's `scenario`)")


def _usage_error(message: str) -> None:
    pytest.exit(f"labgrader: error: {message}", returncode=2)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "criterion(id, title, impact=0.7): the evaluation criterion a check evidences")
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
            if not netns.exists(inventory.network_namespace):
                raise LabgraderError(f"the lab's network namespace {inventory.network_namespace} does not exist: "
                                     "is the lab up?", path=inventory.source, field="network_namespace")
            # The main thread joins the lab's network: every check and its connections run there.
            netns.enter(inventory.network_namespace)
    except LabgraderError as exc:
        _usage_error(str(exc))
    report_dir = config.getoption("--lab-report")
    config.stash[STATE] = LabRun(inventory, scenario, scenario.activity if scenario else "", candidate,
                                 Path(report_dir) if report_dir else None)


def _run(config: pytest.Config) -> LabRun | None:
    return config.stash.get(STATE, None)


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    run = _run(config)
    if run is None:
        return
    ref = referentiel.load()
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
        run.activity = run.activity or criterion.activity_id
    if elsewhere:
        config.hook.pytest_deselected(items=elsewhere)
        items[:] = [item for item in items if item not in elsewhere]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item: pytest.Item):
    run = _run(item.config)
    if run is not None:
        run.marks[item.nodeid] = run.session.recorder.mark()
    yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    outcome = yield
    run = _run(item.config)
    if run is None:
        return
    report = outcome.get_result()
    _redact_report(report, run)
    unreachable = call.excinfo is not None and call.excinfo.errisinstance(HostUnreachable)
    if unreachable:  # the machine, not the candidate's work: pytest shows an error, not a failure
        report.outcome = "failed"
        report.when_unreachable = True
    final = (call.when == "call") or (report.failed or report.skipped)
    if not final or any(r.id == item.nodeid for r in run.results):
        return
    if report.skipped:
        kind, message = "skipped", _skip_reason(report)
    elif report.failed and (unreachable or call.when != "call"):
        kind, message = "error", _message(call, run)
    elif report.failed:
        kind, message = "failed", _message(call, run)
    else:
        kind, message = "passed", ""
    marker = item.get_closest_marker("criterion")
    run.results.append(CheckResult(
        id=item.nodeid, criterion=marker.args[0], title=marker.kwargs["title"],
        impact=float(marker.kwargs.get("impact", 0.7)), outcome=kind, message=message,
        evidence=run.session.recorder.since(run.marks.get(item.nodeid, 0)), duration=round(call.duration, 3)))


def _redact_report(report: pytest.TestReport, run: LabRun) -> None:
    """pytest prints assertion details and captured output verbatim: a careless check could show a password."""
    if report.longrepr is not None and not isinstance(report.longrepr, tuple):
        text = str(report.longrepr)
        redacted = run.session.recorder.redact(text)
        if redacted != text:
            report.longrepr = redacted
    report.sections = [(title, run.session.recorder.redact(content)) for title, content in report.sections]


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
    if getattr(report, "when_unreachable", False):
        return "error", "E", "ERROR (host unreachable)"
    return None


def _message(call: pytest.CallInfo, run: LabRun) -> str:
    exc = call.excinfo
    text = str(exc.value).strip() if exc.errisinstance((AssertionError, HostUnreachable)) else exc.exconly()
    first = text.split("\nassert ")[0].strip() or exc.exconly()
    return run.session.recorder.redact(first)[:800]


def _skip_reason(report: pytest.TestReport) -> str:
    if isinstance(report.longrepr, tuple):
        return report.longrepr[2].removeprefix("Skipped: ")
    return str(report.longrepr)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    run = _run(session.config)
    if run is None:
        return
    run.session.close()
    if not run.activity:
        return
    activity = referentiel.load().activity(run.activity)
    criteria = [CriterionInfo(id=c.id, text=c.text, group=c.group, assessment=c.assessment,
                              guidance=c.guidance or "") for c in activity.criteria]
    run.report = build_report(
        scenario=run.scenario.id if run.scenario else "", activity=activity.id, activity_title=activity.title,
        candidate=run.candidate, criteria=criteria, results=run.results, started_at=run.started_at,
        finished_at=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"))
    if run.report_dir is not None:
        write_reports(run.report, run.report_dir)


# --- fixtures the checks use --------------------------------------------------------------------------------

def _require(request: pytest.FixtureRequest) -> LabRun:
    run = _run(request.config)
    if run is None:
        pytest.skip("no lab to check: give --lab-inventory")
    return run


@pytest.fixture(scope="session")
def lab(request: pytest.FixtureRequest) -> LabSession:
    """The remote session: `lab.ssh("client1")`, `lab.directory("dc1")`, `lab.supervision("zbx1")`, `lab.logon(…)`."""
    return _require(request).session


@pytest.fixture(scope="session")
def scenario(request: pytest.FixtureRequest) -> scenario_mod.Scenario:
    """The scenario the lab was built from: what the brief asked for (names, OUs, users)."""
    run = _require(request)
    if run.scenario is None:
        pytest.skip("this check needs the scenario: give --lab-scenario or `scenario:` in the inventory")
    return run.scenario


@pytest.fixture(scope="session")
def inventory(request: pytest.FixtureRequest) -> inventory_mod.Inventory:
    return _require(request).inventory


@pytest.fixture(scope="session")
def role_host(lab: LabSession) -> Callable[[str], str]:
    """The name of the (first) machine with a role, e.g. role_host("samba-dc") -> "dc1"."""
    def find(role: str) -> str:
        names = lab.hosts_with_role(role)
        if not names:
            pytest.skip(f"no machine with role {role} in the inventory")
        return names[0]
    return find


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
