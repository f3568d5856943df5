"""Grading semantics, proven on throwaway checks with pytester and no lab (DESIGN.md, boundary 6): only an
assertion a check makes about the lab is `failed`; anything else is `error`; a criterion is `met` only when
every one of its checks passed; an interrupted run is incomplete and never certifies what did not run."""
from __future__ import annotations

import json

import pytest
import yaml

from labgrader.remote.base import CommandFailed, CommandResult
from labgrader.remote.evidence import Recorder
from labgrader.remote.hostkeys import PinnedHostKey
from labgrader.remote.ssh import SshHost

# Every machine on this host's loopback, on a closed port: nothing leaves the host, every connection is
# refused at once (an unreachable host, which the preflight leaves to the checks).
INVENTORY = {
    "scenario": "bloc1-integration", "secrets_file": "secrets.yml",
    "domain": {"realm": "DURAND.TEST", "name": "durand.test", "netbios": "DURAND", "base_dn": "DC=durand,DC=test"},
    "hosts": {
        "dc1": {"address": "127.0.0.1", "role": "samba-dc", "transports": {"ldaps": {
            "port": 9, "user": "Administrator@DURAND.TEST", "password": {"secret": "domain_admin_password"}}}},
        "zbx1": {"address": "127.0.0.1", "role": "zabbix", "transports": {"zabbix_api": {
            "url": "https://127.0.0.1:9/api_jsonrpc.php", "user": "Admin",
            "password": {"secret": "zabbix_admin_password"}}}},
        "client1": {"address": "127.0.0.1", "role": "linux-client", "transports": {"ssh": {
            "port": 9, "user": "evaluateur", "password": {"secret": "ssh_password"}}}},
    },
}
SECRETS = {"domain_admin_password": "Adm1n-x", "zabbix_admin_password": "Zbx-x", "ssh_password": "Ssh-x",
           "user_password:amartin": "Alice-x"}


def grade(pytester: pytest.Pytester, source: str, inventory: dict | None = None, *args: str):
    """Run one throwaway A1.1 check file against the inventory; (pytest result, report.json or None)."""
    pytester.makepyfile(test_a1_1_sample=source)
    pytester.path.joinpath("inv.yml").write_text(yaml.safe_dump(inventory or INVENTORY))
    pytester.path.joinpath("secrets.yml").write_text(yaml.safe_dump(SECRETS))
    result = pytester.runpytest_subprocess("--lab-inventory", "inv.yml", "--lab-report", "out",
                                           "-p", "no:cacheprovider", *args)
    report = pytester.path / "out" / "report.json"
    return result, json.loads(report.read_text()) if report.is_file() else None


def outcomes(report: dict) -> dict[str, tuple[str, str]]:
    return {c["id"].split("::")[-1]: (c["outcome"], c["message"]) for k in report["criteria"] for c in k["checks"]}


def status(report: dict, criterion: str) -> str:
    return next(c["status"] for c in report["criteria"] if c["id"] == criterion)


HEADER = "import pytest\nfrom labgrader.remote.base import CommandFailed\ncriterion = pytest.mark.criterion\n"


def test_only_an_assertion_of_the_check_is_a_failure_anything_else_is_an_error(pytester):
    result, report = grade(pytester, HEADER + '''
@criterion("A1.1/CE.1", title="a")
def test_asserted():
    assert 1 == 2, "le poste a 1 service en échec, le brief n'en admet aucun"

@criterion("A1.1/CE.2", title="b")
def test_key_error():
    {}["missing"]

@criterion("A1.1/CE.3", title="c")
def test_command_that_could_not_run():
    raise CommandFailed("client1", "dpkg --audit", 1, "sudo: a password is required", why="sudo -n refusé")

@pytest.fixture
def broken():
    raise RuntimeError("fixture crashed")

@criterion("A1.1/CE.4", title="d")
def test_broken_fixture(broken):
    pass

@criterion("A1.1/CE.5", title="e")
def test_library_assertion():
    # An AssertionError raised outside the check's own code (here, "a library") is not a verdict.
    exec(compile("assert False, 'inside a library'", "/usr/lib/python3/somelib.py", "exec"))
''')
    got = outcomes(report)
    assert got["test_asserted"] == ("failed", "le poste a 1 service en échec, le brief n'en admet aucun")
    for name in ("test_key_error", "test_command_that_could_not_run", "test_broken_fixture",
                 "test_library_assertion"):
        assert got[name][0] == "error", (name, got[name])
        assert got[name][1].startswith("Le correcteur n'a pas pu juger ce point (ce n'est pas un verdict)")
    assert "sudo -n refusé" in got["test_command_that_could_not_run"][1]
    assert [status(report, f"A1.1/CE.{n}") for n in range(1, 6)] == ["not_met", "error", "error", "error", "error"]
    assert report["summary"]["exit_code"] == 3 and not report["incomplete"]  # errors: exit 3, the rest graded
    result.stdout.fnmatch_lines(["*1 failed*4 errors*"])


def test_a_missing_role_secret_or_scenario_field_is_an_error_never_a_skip(pytester):
    _result, report = grade(pytester, HEADER + '''
@criterion("A1.1/CE.1", title="a")
def test_needs_a_windows_only_role(role_host):
    role_host("windows-client")

@criterion("A1.1/CE.2", title="b")
def test_needs_a_secret(lab):
    lab.secret("user_password:nobody")

@criterion("A1.1/CE.3", title="c")
def test_passes():
    pass

@criterion("A1.1/CE.3", title="d")
@pytest.mark.skip(reason="pas sur ce profil")
def test_skipped():
    pass
''')
    got = outcomes(report)
    assert got["test_needs_a_windows_only_role"][0] == "error"
    assert "aucune machine de rôle windows-client dans l'inventaire" in got["test_needs_a_windows_only_role"][1]
    assert got["test_needs_a_secret"][0] == "error" and "user_password:nobody" in got["test_needs_a_secret"][1]
    assert got["test_skipped"][0] == "skipped"
    # A passed check beside one that never ran does not make the criterion met.
    assert [status(report, f"A1.1/CE.{n}") for n in (1, 2, 3)] == ["error", "error", "error"]
    assert report["summary"]["exit_code"] == 3


def test_a_samba_dc_check_accepts_a_windows_dc(pytester):
    inventory = yaml.safe_load(yaml.safe_dump(INVENTORY))
    inventory["hosts"]["dc1"]["role"] = "windows-dc"
    _result, report = grade(pytester, HEADER + '''
@criterion("A1.1/CE.3", title="a")
def test_finds_the_dc(role_host):
    assert role_host("samba-dc") == "dc1", "pas de DC"
''', inventory)
    assert outcomes(report)["test_finds_the_dc"][0] == "passed"


def test_an_unreachable_host_is_an_error_and_the_run_goes_on(pytester):
    _result, report = grade(pytester, HEADER + '''
@criterion("A1.1/CE.1", title="a")
def test_asks_the_workstation(lab):
    lab.ssh("client1").run("/bin/true")

@criterion("A1.1/CE.3", title="b")
def test_asks_the_directory(lab):
    lab.directory("dc1").user("amartin")

@criterion("A1.1/CE.2", title="c")
def test_asks_the_supervision(lab):
    lab.supervision("zbx1").host("pc-compta-01")

@criterion("A1.1/CE.5", title="d")
def test_still_graded():
    assert False, "le pare-feu est ouvert"
''')
    got = outcomes(report)
    assert got["test_asks_the_workstation"][0] == "error" and "ne répond pas en SSH" in got["test_asks_the_workstation"][1]
    assert got["test_asks_the_directory"][0] == "error" and "ne répond pas en LDAPS" in got["test_asks_the_directory"][1]
    assert got["test_asks_the_supervision"][0] == "error"
    assert got["test_still_graded"][0] == "failed"
    assert report["summary"]["exit_code"] == 3


def test_an_interrupted_run_is_incomplete_and_certifies_nothing_that_did_not_run(pytester):
    result, report = grade(pytester, HEADER + '''
@criterion("A1.1/CE.1", title="a")
def test_first():
    pass

@criterion("A1.1/CE.1", title="b")
def test_interrupted():
    raise KeyboardInterrupt

@criterion("A1.1/CE.3", title="c")
def test_never_ran():
    pass
''')
    assert report["incomplete"] is True and report["summary"]["exit_code"] == 3
    got = outcomes(report)
    assert got["test_never_ran"][0] == "error" and "interrompue" in got["test_never_ran"][1]
    assert status(report, "A1.1/CE.1") == "error" and status(report, "A1.1/CE.3") == "error"
    assert report["summary"]["met"] == 0


def test_the_preflight_lists_every_gap_in_one_line_each_before_any_verdict(pytester):
    inventory = yaml.safe_load(yaml.safe_dump(INVENTORY))
    del inventory["hosts"]["zbx1"]
    inventory["hosts"]["client1"]["transports"]["ssh"]["password"] = {"secret": "absent"}
    result, report = grade(pytester, HEADER + '''
@criterion("A1.1/CE.1", title="a")
def test_x():
    pass
''', inventory)
    assert result.ret == 2 and report is None
    errors = [line for line in (result.stdout.lines + result.stderr.lines) if "labgrader: error:" in line]
    text = "\n".join(errors)
    assert "aucune machine de rôle zabbix dans l'inventaire" in text
    assert "secret 'absent' is not in secrets.yml" in text


def fake_host(stderr: str, status: int = 1) -> SshHost:
    host = SshHost("client1", "127.0.0.1", user="evaluateur", recorder=Recorder(),
                   host_keys=PinnedHostKey("client1", 22, pin=None, known_hosts=None, trust_on_first_use=False))
    host._exec = lambda *a, **k: CommandResult("$ x", status, "", stderr)  # type: ignore[method-assign]
    return host


def test_a_refused_sudo_is_a_command_that_could_not_run_not_an_empty_answer():
    with pytest.raises(CommandFailed, match="sudo -n refusé au compte evaluateur"):
        fake_host("sudo: a password is required\n").run("/usr/bin/awk -F: %s /etc/shadow", '$2 == ""')
    answered = fake_host("labgrader-sudo-ok\nsomething on stderr\n", 0).run("/bin/true")
    assert answered.ok and answered.stderr == "something on stderr\n"
    with pytest.raises(CommandFailed, match="code de sortie 127"):
        fake_host("labgrader-sudo-ok\nsh: 1: dpkg: not found\n", 127).check_output("dpkg --audit")


def test_arguments_are_quoted_never_interpolated():
    from labgrader.remote.base import command_line
    assert command_line("/usr/sbin/adcli testjoin --domain=%s", "x; rm -rf /") == \
        "/usr/sbin/adcli testjoin --domain='x; rm -rf /'"
    assert command_line("echo %s", "it's") == "echo 'it'\\''s'"


def test_a_check_past_its_deadline_is_an_error_and_the_run_goes_on(pytester):
    _result, report = grade(pytester, HEADER + '''
import time

@criterion("A1.1/CE.1", title="a")
def test_stalls():
    time.sleep(30)

@criterion("A1.1/CE.3", title="b")
def test_after():
    assert False, "le fuseau horaire est UTC, le brief demande Europe/Paris"
''', None, "--lab-check-timeout", "1")
    got = outcomes(report)
    assert got["test_stalls"][0] == "error" and "dépassé son délai" in got["test_stalls"][1]
    assert got["test_after"][0] == "failed" and not report["incomplete"]


def test_a_run_past_its_deadline_stops_and_is_incomplete(pytester):
    _result, report = grade(pytester, HEADER + '''
import time

@criterion("A1.1/CE.1", title="a")
def test_slow():
    time.sleep(1.5)

@criterion("A1.1/CE.3", title="b")
def test_never_reached():
    pass
''', None, "--lab-run-timeout", "1")
    assert report["incomplete"] is True and report["summary"]["exit_code"] == 3
    assert outcomes(report)["test_never_reached"][0] == "error"
    assert status(report, "A1.1/CE.3") == "error"


@pytest.mark.parametrize("how", ["os.kill(os.getpid(), signal.SIGTERM)", "os.kill(os.getpid(), signal.SIGHUP)"])
def test_sigterm_or_sighup_mid_run_leaves_an_incomplete_report(pytester, how):
    _result, report = grade(pytester, HEADER + f'''
import os, signal

@criterion("A1.1/CE.1", title="a")
def test_first():
    pass

@criterion("A1.1/CE.1", title="b")
def test_killed():
    {how}

@criterion("A1.1/CE.3", title="c")
def test_never_ran():
    pass
''')
    assert report["incomplete"] is True and report["summary"]["met"] == 0
    assert outcomes(report)["test_never_ran"][0] == "error"


def test_a_run_killed_outright_leaves_an_incomplete_report_never_a_complete_one(pytester):
    _result, report = grade(pytester, HEADER + '''
import os, signal

@criterion("A1.1/CE.1", title="a")
def test_first():
    pass

@criterion("A1.1/CE.3", title="b")
def test_killed():
    os.kill(os.getpid(), signal.SIGKILL)
''')
    assert report is not None and report["incomplete"] is True
    assert status(report, "A1.1/CE.1") == "met" and status(report, "A1.1/CE.3") == "error"
    assert report["summary"]["exit_code"] == 3


def test_reports_are_never_written_through_a_symlink(pytester, tmp_path):
    target = tmp_path / "elsewhere.json"
    target.write_text("untouched")
    (pytester.path / "out").mkdir()
    (pytester.path / "out" / "report.json").symlink_to(target)
    (pytester.path / "out" / ".report.json.partial").symlink_to(target)
    _result, report = grade(pytester, HEADER + '''
@criterion("A1.1/CE.1", title="a")
def test_x():
    pass
''')
    assert target.read_text() == "untouched"
    assert report is not None and not (pytester.path / "out" / "report.json").is_symlink()


def test_a_passed_check_carries_no_message(pytester):
    _result, report = grade(pytester, HEADER + '''
@criterion("A1.1/CE.1", title="a")
def test_ok():
    pass
''')
    assert outcomes(report)["test_ok"] == ("passed", "")
