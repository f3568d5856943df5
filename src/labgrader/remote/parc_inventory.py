"""The parc's inventory judged against the machines themselves: what GLPI holds about a computer (its identity,
OS, processor, memory, disks, software, last inventory) beside what the machine says over SSH.

Pure parsers and comparisons first (tested without a lab), then the two reads: `machine_facts` (one SSH script)
and `computer_record` (one GLPI item with its sub-items). Sizes are MiB on both sides (GLPI stores disks and
memory in MiB: Item_Disk, Item_DeviceMemory)."""
from __future__ import annotations

import calendar
import datetime as dt
import hashlib
from dataclasses import dataclass, field

from .base import CommandFailed
from .glpi import Glpi
from .ssh import SshHost

# What the grader reads on a machine: the identities an inventory agent reports for it, its OS, memory, root
# file system and installed packages (dpkg's status "… installed": what Debian's agent keeps, Softwares/Deb.pm).
FACTS_SCRIPT = r"""
set -u
printf 'hostname\t%s\n' "$(cat /etc/hostname 2>/dev/null)"
printf 'machine-id\t%s\n' "$(cat /etc/machine-id 2>/dev/null)"
printf 'dmi-uuid\t%s\n' "$(cat /sys/class/dmi/id/product_uuid 2>/dev/null)"
printf 'dmi-serial\t%s\n' "$(cat /sys/class/dmi/id/product_serial 2>/dev/null)"
if [ -r /sys/firmware/dmi/tables/DMI ]; then printf 'dmi-tables\tyes\n'; fi
. /etc/os-release && printf 'os\t%s\t%s\n' "$NAME" "${VERSION_ID:-}"
awk '/^MemTotal:/ {print "memory-kib\t" $2}' /proc/meminfo
df -P -k / | awk 'NR == 2 {print "root-kib\t" $2}'
dpkg-query --show --showformat='package\t${Package}\t${Version}\t${Status}\n'
"""


@dataclass
class MachineFacts:
    hostname: str = ""
    identities: set[str] = field(default_factory=set)  # UUIDs and serials an agent may report, lower case
    os_name: str = ""
    os_version: str = ""
    memory_mib: int = 0
    # Memory modules are read from the firmware's DMI tables (dmidecode); a machine without them (a container)
    # has none an agent could report, and GLPI records none (src/Inventory/Asset/Memory.php keeps modules only).
    memory_modules_readable: bool = False
    root_mib: int = 0
    packages: dict[str, str] = field(default_factory=dict)  # name -> version


def agent_uuid(machine_id: str, hostname: str) -> str:
    """The UUID Debian's fusioninventory-agent 2.6 gives a container (lxc) or a machine without DMI:
    sha1_hex(machine-id . hostname) (Virtualization/Vmsystem.pm, Tools/Virtualization.pm getVirtualUUID)."""
    return hashlib.sha1((machine_id + hostname).encode()).hexdigest() if machine_id and hostname else ""


def parse_facts(text: str) -> MachineFacts:
    facts, values = MachineFacts(), {}
    for line in text.splitlines():
        parts = line.split("\t")
        if parts[0] == "package" and len(parts) >= 4:
            if parts[3].endswith(" installed"):
                facts.packages[parts[1]] = parts[2]
        elif parts[0] == "os" and len(parts) >= 3:
            facts.os_name, facts.os_version = parts[1].strip(), parts[2].strip()
        elif len(parts) >= 2:
            values[parts[0]] = parts[1].strip()
    facts.hostname = values.get("hostname", "")
    dmi = {values.get("dmi-uuid", ""), values.get("dmi-serial", "")}
    facts.identities = {v.lower() for v in {agent_uuid(values.get("machine-id", ""), facts.hostname), *dmi}
                        if v and v.lower() not in NOT_AN_IDENTITY}
    facts.memory_mib = int(values.get("memory-kib") or 0) // 1024
    facts.memory_modules_readable = values.get("dmi-tables") == "yes"
    facts.root_mib = int(values.get("root-kib") or 0) // 1024
    return facts


# Placeholders firmware writes where it has no value: they identify no machine.
NOT_AN_IDENTITY = {"", "0", "none", "not specified", "to be filled by o.e.m.", "default string", "system serial number",
                   "00000000-0000-0000-0000-000000000000", "03000200-0400-0500-0006-000700080009"}


def machine_facts(host: SshHost) -> MachineFacts:
    result = host.run_script("faits de la machine pour l'inventaire", FACTS_SCRIPT)
    if not result.ok or "\npackage\t" not in "\n" + result.stdout:
        raise CommandFailed(host.name, "lecture des faits de la machine (hostname, os-release, dpkg-query)",
                            result.exit_status, result.stderr)
    return parse_facts(result.stdout)


# --- GLPI's side ------------------------------------------------------------------------------------------------

@dataclass
class ComputerRecord:
    """One computer as GLPI holds it, dropdowns expanded to names."""
    id: int
    name: str
    serial: str
    uuid: str
    last_inventory: str | None
    operating_systems: list[str]  # "name version" of each OS of the item
    os_names: set[str]
    processors: list[str]
    memory_mib: int
    disks: dict[str, int]  # mount point -> total MiB
    software: dict[str, set[str]]  # name -> versions
    infocom: dict


def computer_record(glpi: Glpi, computer_id: int) -> ComputerRecord:
    item = glpi.get("Computer", computer_id, with_devices=True, with_disks=True, with_softwares=True,
                    with_infocoms=True, expand_dropdowns=True) or {}
    systems = glpi.sub_items("Computer", computer_id, "Item_OperatingSystem", expand_dropdowns=True)
    return record_from(item, systems)


def record_from(item: dict, systems: list[dict]) -> ComputerRecord:
    """A ComputerRecord from `GET Computer/:id?with_*&expand_dropdowns` and its Item_OperatingSystem rows."""
    devices = item.get("_devices") or {}
    processors = [str(row.get("deviceprocessors_id") or "") for row in _rows(devices.get("Item_DeviceProcessor"))]
    memory = sum(_int(row.get("size")) for row in _rows(devices.get("Item_DeviceMemory")))
    disks = {}
    for wrapped in item.get("_disks") or []:
        row = wrapped.get("name", wrapped) if isinstance(wrapped, dict) else {}  # GLPI wraps each row: {"name": row}
        if isinstance(row, dict) and row.get("mountpoint"):
            disks[str(row["mountpoint"])] = _int(row.get("totalsize"))
    software: dict[str, set[str]] = {}
    for row in item.get("_softwares") or []:
        if isinstance(row, dict) and row.get("softwares_id"):
            software.setdefault(str(row["softwares_id"]), set()).add(str(row.get("softwareversions_id") or ""))
    systems_named = [" ".join(str(s.get(k) or "") for k in ("operatingsystems_id", "operatingsystemversions_id")).strip()
                     for s in systems]
    infocom = item.get("_infocoms") if isinstance(item.get("_infocoms"), dict) else {}
    return ComputerRecord(id=int(item.get("id") or 0), name=str(item.get("name") or ""),
                          serial=str(item.get("serial") or ""), uuid=str(item.get("uuid") or ""),
                          last_inventory=item.get("last_inventory_update") or None,
                          operating_systems=[s for s in systems_named if s],
                          os_names={str(s["operatingsystems_id"]) for s in systems if s.get("operatingsystems_id")},
                          processors=[p for p in processors if p],
                          memory_mib=memory, disks=disks, software=software, infocom=infocom or {})


def _rows(by_id) -> list[dict]:
    """GLPI's `_devices[itemtype]` is keyed by id (an object), or an empty list when there is none."""
    if isinstance(by_id, dict):
        return [row for row in by_id.values() if isinstance(row, dict)]
    return [row for row in by_id or [] if isinstance(row, dict)]


def _int(value) -> int:
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return 0


# --- comparisons ------------------------------------------------------------------------------------------------

def same_name(computer_name: str, machine: str, domain: str | None) -> bool:
    """GLPI's name is the machine's short name or its FQDN (agents report either), case aside."""
    names = {machine.lower()} | ({f"{machine}.{domain}".lower()} if domain else set())
    return computer_name.strip().lower() in names


def identifies(record: ComputerRecord, facts: MachineFacts) -> bool:
    """The record carries an identity of that machine (its UUID or serial), not only its name."""
    return bool({record.uuid.lower(), record.serial.lower()} & facts.identities)


def close_enough(recorded_mib: int, real_mib: int, tolerance: float = 0.10) -> bool:
    return real_mib > 0 and abs(recorded_mib - real_mib) <= tolerance * real_mib


def memory_matches(modules_mib: int, mem_total_mib: int) -> bool:
    """The memory modules GLPI lists against the kernel's MemTotal, which is smaller than the modules' total by what
    the firmware and the kernel keep (≈ 12 % on a 384 MiB VM): up to 30 % above it, never 10 % below it."""
    return mem_total_mib > 0 and 0.9 * mem_total_mib <= modules_mib <= 1.3 * mem_total_mib


def os_matches(record: ComputerRecord, facts: MachineFacts) -> bool:
    """The record's OS names the machine's distribution and its version ("Debian GNU/Linux 12 (bookworm)"), and no
    other OS is recorded beside it (an OS typed in by hand on an inventoried computer)."""
    first_word = facts.os_name.split()[0].lower() if facts.os_name else ""
    return bool(record.operating_systems) and all(first_word and first_word in name.lower() and facts.os_version in name
                                                  for name in record.operating_systems)


def software_gaps(record: ComputerRecord, facts: MachineFacts) -> tuple[list[str], list[str], list[str]]:
    """(installed but absent from GLPI, in GLPI but not installed, installed in another version than GLPI's).
    GLPI lists the computer's operating system among its software too (src/Inventory/Asset/Software.php): not a
    package, not a difference."""
    known = {name.lower(): versions for name, versions in record.software.items()}
    installed = {p.lower() for p in facts.packages} | {os_name.lower() for os_name in record.os_names}
    missing = sorted(name for name in facts.packages if name.lower() not in known)
    extra = sorted(name for name in record.software if name.lower() not in installed
                   and not (facts.os_name and name.lower().startswith(facts.os_name.lower())))
    other_version = sorted(name for name, version in facts.packages.items()
                           if name.lower() in known and version not in known[name.lower()])
    return missing, extra, other_version


def age_hours(last_inventory: str | None, now: dt.datetime) -> float | None:
    """Hours since GLPI's `last_inventory_update` ("2026-12-01 10:42:07", GLPI's clock), None if never."""
    if not last_inventory:
        return None
    try:
        when = dt.datetime.strptime(last_inventory[:19], "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return None
    return (now - when).total_seconds() / 3600


def warranty_end(infocom: dict) -> dt.date | None:
    """The end of the warranty: its start (`warranty_date`) plus `warranty_duration` months (Infocom.php)."""
    try:
        start = dt.date.fromisoformat(str(infocom.get("warranty_date"))[:10])
        months = int(infocom.get("warranty_duration") or 0)
    except (TypeError, ValueError):
        return None
    if months <= 0:
        return None
    year, month = divmod(start.month - 1 + months, 12)
    last_day = calendar.monthrange(start.year + year, month + 1)[1]
    return dt.date(start.year + year, month + 1, min(start.day, last_day))


def keeps_purchase(infocom: dict, buy_date: dt.date | None, warranty_date: dt.date | None,
                   warranty_months: int | None) -> bool:
    """The record still holds the purchase and warranty the former inventory knew (those it knew)."""
    def same_day(field: str, day: dt.date | None) -> bool:
        return day is None or str(infocom.get(field) or "")[:10] == day.isoformat()
    return (same_day("buy_date", buy_date) and same_day("warranty_date", warranty_date)
            and (warranty_months is None or _int(infocom.get("warranty_duration")) == warranty_months))
