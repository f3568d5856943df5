"""The incus provider on the real 2-member cluster, through labgrader's own commands run from this host, whose
cluster calls and lab tunnels go through the grader's namespace (the enrolment says so):
- `labgrader test … --provider incus` flips every check, as on a local lab (bloc1-integration; bloc2-inventaire on
  its GLPI double, whose package is a directory pushed into the machine);
- a session of two candidates puts one lab on each member; `halt` then `up` of one starts it as it was;
- member 2 lost (its daemon and containers killed): `status` shows that lab's machines UNREACHABLE and `check`
  grades its criteria `error`, while the lab on member 1 runs and is graded as before; `down` of the lost lab
  fails saying why, and removes everything once the member is back."""
from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from tests.support import LABGRADER

from .conftest import GRADER_NS, TIMINGS, TUNNEL_LOCAL, incus

pytestmark = pytest.mark.timeout(1500)

SCENARIO = "bloc1-integration"
CANDIDATES = ("inc-a", "inc-b")  # placed in this order: the first on m1, the second on m2 (the least loaded)


@pytest.fixture(scope="module")
def grader(cluster, tmp_path_factory):
    """This host enrolled with the cluster (a trust token from member 1), its own state directory."""
    state = tmp_path_factory.mktemp("incus-grader")
    env = dict(os.environ, LABGRADER_STATE=str(state), LABGRADER_INCUS_CONFIG=str(state / "incus" / "cluster.yml"))
    token = incus("m1", "config", "trust", "add", "labgrader-provider-tests", "--quiet")
    enrolled = subprocess.run([*LABGRADER, "cluster", "enrol", "-", "--namespace", GRADER_NS, "--tunnel-local",
                               TUNNEL_LOCAL], input=token, env=env, capture_output=True, text=True, timeout=60)
    assert enrolled.returncode == 0, enrolled.stdout + enrolled.stderr
    yield env
    # Whatever a failed test left, removed through labgrader: the cluster goes anyway, but a lab's namespace and
    # DHCP server are on this host. A member a failed test left crashed is started again first.
    cluster.start("m2")
    left = [(SCENARIO, "inc-flip"), ("bloc2-inventaire", "inc-flip"), *((SCENARIO, c) for c in CANDIDATES)]
    for scenario, name in left:
        if (state / "labs" / name).is_dir():
            for _ in range(12):  # a member just started answers a few seconds later
                down = subprocess.run([*LABGRADER, "down", scenario, "--name", name], env=env, capture_output=True,
                                      timeout=300)
                if down.returncode != 3:
                    break
                time.sleep(5)


def state_of(env) -> Path:
    return Path(env["LABGRADER_STATE"])


def labgrader(env, *args: str, timeout: float = 900) -> subprocess.CompletedProcess:
    return subprocess.run([*LABGRADER, *args], env=env, capture_output=True, text=True, timeout=timeout)


def timed(what: str, env, *args: str, **kwargs) -> subprocess.CompletedProcess:
    began = time.monotonic()
    result = labgrader(env, *args, **kwargs)
    TIMINGS[what] = time.monotonic() - began
    return result


def outcomes(report_dir) -> dict[str, str]:
    """Check id → outcome, from the report `check` wrote."""
    report = json.loads((report_dir / "report.json").read_text())
    return {check["id"]: check["outcome"] for criterion in report["criteria"] for check in criterion.get("checks", [])}


def statuses(report_dir) -> dict[str, str]:
    report = json.loads((report_dir / "report.json").read_text())
    return {criterion["id"]: criterion["status"] for criterion in report["criteria"]}


def labgrader_resources() -> dict[str, list[str]]:
    """What labgrader made on the cluster, as the incus CLI on member 1 lists it."""
    projects = [p["name"] for p in json.loads(incus("m1", "project", "list", "-f", "json")) if p["name"] != "default"]
    networks = [n["name"] for n in json.loads(incus("m1", "network", "list", "-f", "json")) if n.get("managed")]
    instances = [f"{i['project']}/{i['name']}" for i in json.loads(incus("m1", "list", "--all-projects", "-f", "json"))]
    return {"projects": projects, "networks": networks, "instances": instances}


def tunnels_in_grader_namespace() -> str:
    return subprocess.run(["ip", "-n", GRADER_NS, "-o", "link", "show", "type", "vxlan"], capture_output=True,
                          text=True, check=True).stdout


# bloc2-inventaire's double profile uploads a whole directory (the GLPI double) before its role's scripts run.
@pytest.mark.parametrize("scenario, profile, checks", [(SCENARIO, "embedded", 14), ("bloc2-inventaire", "double", 4)])
def test_self_test_flips_every_check_on_the_cluster(grader, scenario, profile, checks):
    result = timed(f"labgrader test {scenario} --profile {profile} --provider incus (up, check, solve, check, down)",
                   grader, "test", scenario, "--profile", profile, "--name", "inc-flip", "--provider", "incus")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    progress = result.stderr  # `up`'s progress lines; the verdict is on stdout
    assert "cluster: member m1" in progress and "VXLAN" in progress, progress[-3000:]
    assert f"{scenario}: {checks} of {checks} checks flipped from failed to passed" in result.stdout
    assert labgrader_resources() == {"projects": [], "networks": [], "instances": []}
    assert not tunnels_in_grader_namespace().strip()


def test_a_lost_member_makes_its_labs_unreachable_and_their_checks_errors(grader, cluster, tmp_path):
    candidates = tmp_path / "candidats.txt"
    candidates.write_text("# session de test\n" + "\n".join(CANDIDATES) + "\n")
    session = timed("session up of 2 labs across the 2 members (--jobs 2)", grader, "session", "up", SCENARIO,
                    "--candidates", str(candidates), "--provider", "incus", "--jobs", "2")
    assert session.returncode == 0, session.stdout[-3000:] + session.stderr[-2000:]
    placed = {name: json.loads((state_of(grader) / "labs" / name / "incus.json").read_text())["member"]
              for name in CANDIDATES}
    assert sorted(placed.values()) == ["m1", "m2"], placed
    on_m2 = next(name for name, member in placed.items() if member == "m2")
    on_m1 = next(name for name, member in placed.items() if member == "m1")

    # halt keeps the machines; up starts them again as they were, provisioning nothing twice.
    assert labgrader(grader, "halt", SCENARIO, "--name", on_m1, timeout=300).returncode == 0
    halted = labgrader(grader, "status", SCENARIO, "--name", on_m1, timeout=120)
    assert halted.returncode == 1 and halted.stdout.count("STOPPED") == 3, halted.stdout
    again = timed("up of a halted cluster lab", grader, "up", SCENARIO, "--name", on_m1, timeout=600)
    assert again.returncode == 0 and "machines: starting" in again.stderr, again.stderr[-3000:]
    assert "starting state" not in again.stderr, "the scenario's starting state is applied once, at creation"

    cluster.crash("m2")
    # The lost lab's machines: UNREACHABLE as soon as Incus notices (its records say Error, then Offline).
    deadline = time.monotonic() + 60
    while True:
        status = labgrader(grader, "status", SCENARIO, "--name", on_m2, timeout=120)
        if status.stdout.count("UNREACHABLE") == 3 or time.monotonic() > deadline:
            break
        time.sleep(2)
    assert status.returncode == 1 and status.stdout.count("UNREACHABLE") == 3, status.stdout
    alive = labgrader(grader, "status", SCENARIO, "--name", on_m1, timeout=120)
    assert alive.returncode == 0 and alive.stdout.count("RUNNING") == 3, alive.stdout
    overview = labgrader(grader, "session", "status", SCENARIO, "--candidates", str(candidates), timeout=120)
    assert overview.returncode == 1 and "UNREACHABLE" in overview.stdout, overview.stdout

    lost = timed("check of the lab on the lost member", grader, "check", SCENARIO, "--name", on_m2,
                 "--out", str(tmp_path / "lost"), timeout=600)
    assert lost.returncode == 3, lost.stdout[-3000:]
    assert set(outcomes(tmp_path / "lost").values()) == {"error"}, outcomes(tmp_path / "lost")
    assert {s for s in statuses(tmp_path / "lost").values() if s != "evaluator"} == {"error"}
    kept = labgrader(grader, "check", SCENARIO, "--name", on_m1, "--out", str(tmp_path / "kept"), timeout=600)
    assert kept.returncode == 1, kept.stdout[-3000:]  # a fresh lab: not met, and nothing in error
    assert "error" not in outcomes(tmp_path / "kept").values() and set(outcomes(tmp_path / "kept").values()) == {"failed"}

    # `down` while the member is lost removes nothing it cannot finish, says so, and keeps the lab's record.
    refused = labgrader(grader, "down", SCENARIO, "--name", on_m2, timeout=300)
    assert refused.returncode == 3 and "once that member is back" in refused.stdout + refused.stderr, refused.stdout
    assert (state_of(grader) / "labs" / on_m2 / "plan.json").is_file()

    cluster.start("m2")
    deadline = time.monotonic() + 120
    while True:  # the member answers a few seconds after its daemon ("Server isn't ready yet" until then)
        gone = labgrader(grader, "session", "down", SCENARIO, "--candidates", str(candidates), timeout=600)
        if gone.returncode == 0 or time.monotonic() > deadline:
            break
        time.sleep(5)
    assert gone.returncode == 0, gone.stdout[-3000:] + gone.stderr[-2000:]
    assert labgrader_resources() == {"projects": [], "networks": [], "instances": []}
    assert not tunnels_in_grader_namespace().strip()
    assert not [ns for ns in os.listdir("/run/netns") if ns.startswith("lg-inc-")]
    assert not (state_of(grader) / "labs" / on_m2).exists()

