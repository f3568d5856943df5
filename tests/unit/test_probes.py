"""The supervision probes' pure logic: how much to fill, which problem a probe raised (remote/probes.py)."""
from __future__ import annotations

import pytest

from labgrader.remote import probes, zabbix

MIB = 1 << 20


def test_the_filler_brings_the_file_system_to_the_percentage_rounded_up_to_a_mib():
    size, used = 64 * MIB, 1 * MIB
    added = probes.filler_bytes(size, used, 84)
    assert added % MIB == 0
    assert (used + added) / size * 100 >= 84
    assert (used + added - MIB) / size * 100 < 84


def test_a_file_system_already_past_the_percentage_gets_no_filler():
    assert probes.filler_bytes(64 * MIB, 60 * MIB, 84) == 0


def test_df_output_is_read_and_anything_else_refused():
    assert probes.parse_df("1B-blocks     Used\n 67108864  1048576\n") == (67108864, 1048576)
    with pytest.raises(ValueError):
        probes.parse_df("df: /srv/data: No such file or directory\n")


@pytest.mark.parametrize("keys, path, expected", [
    (["vfs.fs.size[/srv/data,pused]"], "/srv/data", True),
    (['vfs.fs.size["/srv/data",pfree]'], "/srv/data", True),
    (["vfs.fs.dependent.size[/srv/data,pused]"], "/srv/data", True),
    (["vfs.fs.size[/srv/data/,pused]"], "/srv/data", True),
    (["disque.occupation[/srv/data]"], "/srv/data", True),
    (["vfs.fs.size[/,pused]"], "/srv/data", False),
    (["vfs.fs.size[/srv/data2,pused]"], "/srv/data", False),
    (["system.cpu.util", "vm.memory.size[pavailable]"], "/srv/data", False),
])
def test_a_disk_probe_counts_only_a_trigger_on_that_file_system(keys, path, expected):
    assert probes.reads_filesystem(keys, path) is expected


@pytest.mark.parametrize("keys, expected", [
    (["sauvegarde.echec"], True),
    (["vfs.file.time[/var/lib/sauvegarde/derniere-reussite]"], True),
    (["system.cpu.util"], False),
    (["system.cpu.load[all,avg1]", "vm.memory.size[available]"], False),
    (["vfs.fs.size[/srv/restic,pused]"], False),
])
def test_a_backup_probe_ignores_triggers_on_the_machines_resources(keys, expected):
    # Containers see the host's CPU and load: such a trigger opening during the probe is a coincidence.
    assert probes.reads_more_than_resources(keys) is expected


def test_only_problems_opened_since_the_probe_began_and_attributed_to_it_are_raised():
    def problem(tid, key):
        return probes.Problem(tid, f"p{tid}", False, (key,))
    before = {"1": problem("1", "vfs.fs.size[/srv/data,pused]")}
    now = {**before, "2": problem("2", "system.cpu.util"), "3": problem("3", "vfs.fs.size[/srv/data,pused]")}
    found = probes.raised(before, now, lambda p: probes.reads_filesystem(list(p.keys), "/srv/data"))
    assert [p.triggerid for p in found] == ["3"]


def test_waiting_stops_at_the_bound_and_says_so(monkeypatch):
    clock = iter(range(0, 1000, 5))
    monkeypatch.setattr(probes.time, "monotonic", lambda: next(clock))
    monkeypatch.setattr(probes.time, "sleep", lambda _s: None)
    assert probes.wait_until(lambda: False, 30) is None
    answers = iter([False, False, True])
    assert probes.wait_until(lambda: next(answers), 30) is not None


@pytest.mark.parametrize("expression, functions", [
    ("last(/srv1/system.cpu.util)>90", {"last"}),
    ("nodata(/srv1/system.cpu.util,5m)=1", {"nodata"}),
    ("min(/srv1/system.cpu.util,5m)>95 or nodata(/srv1/system.cpu.util,5m)=1", {"min", "nodata"}),
    ('last(/srv1/vm.memory.size[pavailable])<10 and count(/srv1/agent.ping,5m,"eq",1)>0', {"last", "count"}),
])
def test_the_functions_of_a_trigger_expression_are_read(expression, functions):
    # A trigger on nodata() alone watches the agent's silence, not the resource: the CPU and memory check skips it.
    assert zabbix.expression_functions(expression) == functions


def test_the_grader_reads_back_the_windows_of_its_own_probes_and_ignores_anything_else():
    assert probes.parse_probe_windows("1796113706 1796114062\nbroken line\n12 x\n1796113836 1796114107\n") == [
        (1796113706.0, 1796114062.0), (1796113836.0, 1796114107.0)]


class _StubSupervision:
    """problem.get answers in turn, trigger.get gives each trigger's keys: enough for open_problems."""

    def __init__(self, answers, keys):
        self.answers, self.keys, self.events = list(answers), keys, []

    def problems(self, _hostid):
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]

    def call(self, method, **params):
        if method == "event.get":
            return self.events
        return [{"triggerid": t, "expression": "", "items": [{"key_": k} for k in self.keys[t]]}
                for t in params["triggerids"]]


def _problem(triggerid):
    return {"objectid": triggerid, "name": f"p{triggerid}", "suppressed": "0"}


def test_the_baseline_waits_for_a_backup_alert_from_before_to_close(monkeypatch):
    monkeypatch.setattr(probes.time, "sleep", lambda _s: None)
    supervision = _StubSupervision([[_problem("7"), _problem("9")], [_problem("9")]],
                                   {"7": ["sauvegarde.echec"], "9": ["system.cpu.util"]})
    baseline = probes.settled(supervision, "1", lambda p: probes.reads_more_than_resources(list(p.keys)), 60)
    assert list(baseline) == ["9"]  # the CPU alert stays in the baseline; the backup's closed first


def test_an_alert_opened_by_an_earlier_probe_is_not_flapping():
    supervision = _StubSupervision([[]], {})
    supervision.events = [{"objectid": "7", "clock": "1000"}, {"objectid": "8", "clock": "2000"}]
    assert probes.recently_open(supervision, ["7", "8"], 0, 3000, [(900, 1100)]) == {"8"}


@pytest.mark.parametrize("expression, level", [
    ("last(/srv1/vfs.fs.size[/srv/data,pused])>80", True),
    ("count(/srv1/vfs.fs.size[/srv/data,pused],5m,\"gt\",80)>0", True),
    ("change(/srv1/vfs.fs.size[/srv/data,pused])>10", False),
    ("timeleft(/srv1/vfs.fs.size[/srv/data,pused],1h,100)<1h", False),
    ("nodata(/srv1/system.cpu.util,5m)=1", False),
    ("min(/srv1/system.cpu.util,5m)>95 or nodata(/srv1/system.cpu.util,5m)=1", True),
])
def test_a_trigger_compares_a_level_or_only_watches_movement(expression, level):
    # A disk alert on change() or timeleft() alone opens on the grader's sudden fill whatever its threshold.
    assert zabbix.compares_a_level(expression) is level
