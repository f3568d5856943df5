"""The inventory checks' pure logic: a machine's facts, a GLPI record's shape, and how they compare
(remote/parc_inventory.py)."""
from __future__ import annotations

import datetime as dt
import hashlib

import pytest

from labgrader.remote import parc_inventory as inv

FACTS = """hostname\tpc1
machine-id\t0123456789abcdef0123456789abcdef
dmi-uuid\t
dmi-serial\t
os\tDebian GNU/Linux\t12
memory-kib\t2048000
root-kib\t10485760
package\tnano\t7.2-1+deb12u1\tinstall ok installed
package\tbash\t5.2.15-2+b7\tinstall ok installed
package\told-thing\t1.0\tdeinstall ok config-files
package\theld\t2.0\thold ok installed
"""


def _record(**over) -> inv.ComputerRecord:
    item = {"id": 7, "name": "pc1", "serial": "", "uuid": inv.agent_uuid("0123456789abcdef0123456789abcdef", "pc1"),
            "last_inventory_update": "2026-12-01 10:00:00", "is_dynamic": 1,
            "_devices": {"Item_DeviceProcessor": {"3": {"deviceprocessors_id": "AMD EPYC", "frequency": 2400}},
                         "Item_DeviceMemory": {"5": {"devicememories_id": "Dummy Memory Module", "size": 2000}}},
            "_disks": [{"name": {"name": "/", "mountpoint": "/", "totalsize": 10240, "freesize": 5000}}],
            "_softwares": [{"softwares_id": "nano", "softwareversions_id": "7.2-1+deb12u1"},
                           {"softwares_id": "bash", "softwareversions_id": "5.2.15-2+b7"},
                           {"softwares_id": "held", "softwareversions_id": "2.0"}],
            "_infocoms": {"buy_date": "2019-03-12", "warranty_date": "2019-03-12", "warranty_duration": 36}}
    item.update(over)
    systems = [{"operatingsystems_id": "Debian GNU/Linux 12 (bookworm)", "operatingsystemversions_id": "12"}]
    return inv.record_from(item, systems)


def test_a_machines_facts_are_read_with_only_installed_packages():
    facts = inv.parse_facts(FACTS)
    assert facts.hostname == "pc1" and facts.os_name == "Debian GNU/Linux" and facts.os_version == "12"
    assert facts.memory_mib == 2000 and facts.root_mib == 10240
    assert facts.packages == {"nano": "7.2-1+deb12u1", "bash": "5.2.15-2+b7", "held": "2.0"}


def test_the_agents_container_uuid_is_sha1_of_machine_id_and_hostname():
    # FusionInventory::Agent::Tools::Virtualization::getVirtualUUID: sha1_hex($machineid . $name)
    expected = hashlib.sha1(b"0123456789abcdef0123456789abcdefpc1").hexdigest()
    assert inv.agent_uuid("0123456789abcdef0123456789abcdef", "pc1") == expected
    assert expected in inv.parse_facts(FACTS).identities
    assert inv.agent_uuid("", "pc1") == ""


def test_firmware_placeholders_identify_no_machine():
    facts = inv.parse_facts(FACTS.replace("dmi-serial\t\n", "dmi-serial\tTo be filled by O.E.M.\n"))
    assert "to be filled by o.e.m." not in facts.identities


def test_a_record_inventoried_from_the_machine_identifies_it_and_one_typed_by_hand_does_not():
    facts = inv.parse_facts(FACTS)
    assert inv.identifies(_record(), facts)
    assert not inv.identifies(_record(uuid="", serial="DUR-ACC-2019-01"), facts)
    dmi = inv.parse_facts(FACTS.replace("dmi-serial\t\n", "dmi-serial\tCZC1234XYZ\n"))
    assert inv.identifies(_record(uuid="", serial="czc1234xyz"), dmi)


def test_a_glpi_record_is_read_from_its_wrapped_disks_keyed_devices_and_expanded_software():
    record = _record()
    assert record.processors == ["AMD EPYC"] and record.memory_mib == 2000
    assert record.disks == {"/": 10240}
    assert record.software["nano"] == {"7.2-1+deb12u1"}
    assert record.operating_systems == ["Debian GNU/Linux 12 (bookworm) 12"]
    empty = inv.record_from({"id": 1, "name": "pc2", "_devices": [], "_disks": [], "_softwares": [],
                             "_infocoms": []}, [])
    assert (empty.processors, empty.memory_mib, empty.disks, empty.software, empty.infocom) == ([], 0, {}, {}, {})


def test_the_os_must_name_the_distribution_and_its_version():
    facts = inv.parse_facts(FACTS)
    assert inv.os_matches(_record(), facts)
    other = inv.record_from({"id": 1}, [{"operatingsystems_id": "Debian GNU/Linux 11 (bullseye)"}])
    assert not inv.os_matches(other, facts)
    assert not inv.os_matches(inv.record_from({"id": 1}, []), facts)


@pytest.mark.parametrize("software, missing, extra, other", [
    ({"nano": {"7.2-1+deb12u1"}, "bash": {"5.2.15-2+b7"}, "held": {"2.0"}}, [], [], []),
    ({"nano": {"7.2-1+deb12u1"}, "held": {"2.0"}}, ["bash"], [], []),
    ({"nano": {"7.2-1+deb12u1"}, "bash": {"5.2.15-2+b7"}, "held": {"2.0"}, "old-thing": {"1.0"}}, [], ["old-thing"], []),
    ({"nano": {"7.0-1"}, "bash": {"5.2.15-2+b7"}, "held": {"2.0"}}, [], [], ["nano"]),
])
def test_software_is_compared_both_ways_and_by_version(software, missing, extra, other):
    record = _record()
    record.software = software
    assert inv.software_gaps(record, inv.parse_facts(FACTS)) == (missing, extra, other)


def test_names_match_short_or_fqdn_whatever_the_case():
    assert inv.same_name("PC1", "pc1", "durand.test") and inv.same_name("pc1.durand.test", "pc1", "durand.test")
    assert not inv.same_name("pc10", "pc1", "durand.test") and not inv.same_name("pc1.other.test", "pc1", "durand.test")


def test_sizes_are_close_within_ten_percent_of_the_machine():
    assert inv.close_enough(2000, 2048) and not inv.close_enough(1024, 2048) and not inv.close_enough(0, 0)


def test_inventory_age_is_read_on_glpis_clock_and_never_is_none():
    now = dt.datetime(2026, 12, 1, 12, 0, 0)
    assert inv.age_hours("2026-12-01 10:00:00", now) == 2
    assert inv.age_hours(None, now) is None and inv.age_hours("garbage", now) is None


@pytest.mark.parametrize("infocom, end", [
    ({"warranty_date": "2019-03-12", "warranty_duration": 36}, dt.date(2022, 3, 12)),
    ({"warranty_date": "2019-01-31", "warranty_duration": 1}, dt.date(2019, 2, 28)),
    ({"warranty_date": "2019-03-12", "warranty_duration": 0}, None),
    ({"warranty_date": None, "warranty_duration": 12}, None),
])
def test_the_warranty_ends_its_duration_in_months_after_it_starts(infocom, end):
    assert inv.warranty_end(infocom) == end


def test_a_second_os_typed_in_beside_the_inventoried_one_does_not_match():
    facts = inv.parse_facts(FACTS)
    both = inv.record_from({"id": 1}, [{"operatingsystems_id": "Debian GNU/Linux 12 (bookworm)"},
                                       {"operatingsystems_id": "Windows 10"}])
    assert not inv.os_matches(both, facts)


def test_the_os_listed_among_the_software_is_no_difference_even_when_its_os_row_is_gone():
    record = inv.record_from({"id": 1, "_softwares": [{"softwares_id": "nano", "softwareversions_id": "7.2-1+deb12u1"},
                                                     {"softwares_id": "bash", "softwareversions_id": "5.2.15-2+b7"},
                                                     {"softwares_id": "held", "softwareversions_id": "2.0"},
                                                     {"softwares_id": "Debian GNU/Linux 12 (bookworm)"}]}, [])
    assert inv.software_gaps(record, inv.parse_facts(FACTS)) == ([], [], [])


@pytest.mark.parametrize("modules, total, expected", [(2048, 1950, True), (384, 338, True), (1024, 1950, False),
                                                      (4096, 1950, False), (0, 1950, False)])
def test_memory_modules_are_compared_with_what_the_kernel_keeps_below_them(modules, total, expected):
    assert inv.memory_matches(modules, total) is expected


def test_the_known_purchase_and_warranty_must_all_be_kept():
    infocom = {"buy_date": "2019-03-12", "warranty_date": "2019-03-12", "warranty_duration": 36}
    day = dt.date(2019, 3, 12)
    assert inv.keeps_purchase(infocom, day, day, 36)
    assert not inv.keeps_purchase({**infocom, "warranty_duration": 12}, day, day, 36)
    assert not inv.keeps_purchase({}, day, day, 36)
    assert inv.keeps_purchase({}, None, None, None)
