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
