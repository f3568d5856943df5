"""The legacy FusionInventory XML → GLPI's inventory JSON, then the schema check, as GLPI 10.0.12 does them.

Conversion: vendor/glpi-project/inventory_format/lib/php/Converter.php (1.1.x) `convert()` :303-340 and `convertTo01()`
:368-1085, the parts a Linux computer's inventory uses. Validation: Converter::validate :279 against
inventory.schema.json (additionalProperties false everywhere; strings tolerated for numbers, "tolerateStrings"). The
double checks the top level, the names of `content`'s sections and, for the sections below, each property's name and
type; other sections are not checked."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import datetime

TOP_KEYS = {"content", "deviceid", "jobid", "itemtype", "partial", "action", "tag"}
CONTENT_KEYS = set(
    "accesslog antivirus error batteries bios controllers cpus drives envs firewalls hardware inputs local_groups "
    "local_users physical_volumes volume_groups logical_volumes memories monitors networks operatingsystem ports "
    "printers processes remote_mgmt slots softwares sounds storages usbdevices users videos virtualmachines "
    "licenseinfos modems firmwares simcards sensors powersupplies cameras network_ports network_components "
    "pagecounters cartridges consumables versionclient versionprovider network_device databases_services".split())
# s string, i integer, b boolean, a array, o object, d date-or-datetime, t datetime (inventory.schema.json)
PROPERTIES = {name: dict(p.split(":") for p in spec.split()) for name, spec in {
    "hardware": "chassis_type:s datelastloggeduser:s defaultgateway:s description:s dns:s lastloggeduser:s memory:i "
                "name:s swap:i type:s uuid:s vmsystem:s wincompany:s winlang:s winowner:s winprodid:s winprodkey:s "
                "workgroup:s",
    "bios": "assettag:s bdate:d biosserial:s bmanufacturer:s bversion:s enclosureserial:s mmanufacturer:s mmodel:s "
            "msn:s secure_boot:s skunumber:s smanufacturer:s smodel:s ssn:s",
    "operatingsystem": "arch:s boot_time:t dns_domain:s fqdn:s full_name:s hostid:s install_date:d kernel_name:s "
                       "kernel_version:s name:s service_pack:s ssh_key:s timezone:o version:s",
    "cpus": "arch:s cache:s core:i corecount:i description:s external_clock:i familyname:s familynumber:s id:s "
            "manufacturer:s model:s name:s serial:s speed:i stepping:i thread:i",
    "memories": "capacity:i caption:s description:s formfactor:s manufacturer:s memorycorrection:s model:s "
                "numslots:i purpose:s removable:b serialnumber:s speed:s type:s",
    "drives": "createdate:s description:s encrypt_algo:s encrypt_name:s encrypt_status:s encrypt_type:s filesystem:s "
              "free:i label:s letter:s serial:s systemdrive:b total:i type:s volumn:s",
    "softwares": "arch:s comments:s filesize:i folder:s from:s guid:s helplink:s install_date:d name:s no_remove:b "
                 "publisher:s release_type:s system_category:s uninstall_string:s url_info_about:s userid:s "
                 "username:s version:s version_major:s version_minor:s",
    "networks": "base:s description:s driver:s firmware:s ipaddress:s ipaddress6:s ipdhcp:s ipgateway:s ipmask:s "
                "ipmask6:s ipsubnet:s ipsubnet6:s mac:s management:b manufacturer:s model:s mtu:i pciid:s pcislot:s "
                "pnpdeviceid:s slaves:s speed:s status:s type:s virtualdev:b wifi_bssid:s wifi_mode:s wifi_ssid:s "
                "wifi_version:s wwn:s",
    "users": "domain:s login:s",
    "storages": "description:s disksize:i encrypt_algo:s encrypt_name:s encrypt_status:s encrypt_type:s firmware:s "
                "interface:s manufacturer:s model:s name:s scsi_chid:s scsi_coid:s scsi_lun:s scsi_unid:s serial:s "
                "type:s wwn:s",
    "versionprovider": "comments:a etime:i name:s perl_args:s perl_config:a perl_exe:s perl_inc:s perl_module:a "
                       "perl_version:s program:s version:s",
    "local_users": "home:s id:s login:s name:s shell:s",
    "local_groups": "id:s members:a name:s",
    "envs": "key:s val:s",
    "processes": "cmd:s cpuusage:s mem:s pid:i started:t tty:s user:s virtualmemory:i",
}.items()}
PATTERNS = {
    ("cpus", "arch"): r"(mips|mips64|alpha|sparc|sparc64|m68k|i\d86|x86_64|powerpc|powerpc64|arm.*|aarch64)",
    ("networks", "status"): r"(up|down|dormant|notpresent|lowerlayerdown|unknown|testing)",
    ("networks", "type"): r"(ethernet|wifi|infiniband|aggregate|alias|dialup|loopback|bridge|fibrechannel|bluetooth)",
}
DATE = r"[0-9]{4}-[0-9]{2}-[0-9]{2}([ |T][0-9]{2}:[0-9]{2}:[0-9]{2}(Z|[+|-][0-9]{2}:[0-9]{2}:[0-9]{2})?)?"
DATETIME = r"[0-9]{4}-[0-9]{2}-[0-9]{2}[ |T][0-9]{2}:[0-9]{2}:[0-9]{2}(Z|[+|-][0-9]{2}:[0-9]{2}:[0-9]{2})?"
ARRAYS = ("cpus local_users local_groups ports sounds usbdevices batteries firewall monitors printers storages slots "
          "modems licenseinfos antivirus drives users networks controllers envs inputs logical_volumes "
          "physical_volumes volume_groups memories processes softwares virtualmachines firmwares simcards sensors "
          "powersupplies videos remote_mgmt cartridges cameras user").split()
INTEGERS = {"cpus": "core speed stepping thread external_clock corecount", "drives": "free total",
            "hardware": "etime memory swap", "storages": "disksize", "memories": "capacity numslots",
            "processes": "pid virtualmemory", "networks": "mtu", "softwares": "filesize",
            "virtualmachines": "memory vcpu", "videos": "memory", "volume_groups": "lv_count pv_count free size",
            "physical_volumes": "free pe_size pv_pe_count size", "logical_volumes": "seg_count size",
            "batteries": "real_capacity"}
BOOLEANS = {"antivirus": "enabled uptodate", "drives": "systemdrive", "networks": "virtualdev management",
            "printers": "network shared", "softwares": "no_remove", "memories": "removable",
            "licenseinfos": "trial", "powersupplies": "hotreplaceable plugged", "cameras": "flashunit"}
DROPS = {"hardware": "archname osname checksum etime ipaddr osversion oscomments processorn processors processort "
                     "userid lastdate userdomain", "operatingsystem": "boot_date", "bios": "type"}
DROPS_IN_LISTS = {"licenseinfos": "oem", "drives": "numfiles", "inputs": "pointtype", "networks": "typemib",
                  "softwares": "filename source language is64bit releasetype", "controllers": "description version",
                  "slots": "shared", "physical_volumes": "pv_name", "videos": "pciid", "cpus": "type",
                  "sensors": "power", "batteries": "temperature level health status", "virtualmachines": "vmid"}
TOP_DROPS = "uuid user userdefinedproperties agentsname machineid cfkey policies hostname processors policy_server"


class Invalid(Exception):
    pass


def xml_to_dict(element: ET.Element):
    """SimpleXML cast to an array (json_encode((array)$sxml)): repeated children become lists, leaves strings."""
    children = list(element)
    if not children:
        return element.text or ""
    out: dict = {}
    for child in children:
        value = xml_to_dict(child)
        if child.tag in out:
            if not isinstance(out[child.tag], _Repeated):
                out[child.tag] = _Repeated([out[child.tag]])
            out[child.tag].append(value)
        else:
            out[child.tag] = value
    return {k: list(v) if isinstance(v, _Repeated) else v for k, v in out.items()}


class _Repeated(list):
    pass


def _drop_empty(root: ET.Element) -> None:
    """Converter::convert :316: remove, until none is left, every element without child and without text."""
    changed = True
    while changed:
        changed = False
        for parent in root.iter():
            for child in list(parent):
                if len(child) == 0 and not (child.text or "").strip():
                    parent.remove(child)
                    changed = True


def _lower(value):
    if isinstance(value, dict):
        return {k.lower(): _lower(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_lower(v) for v in value]
    return value


def _cast_int(value):
    """Converter::getCastedValue 'integer' :1152: (int)$v when is_numeric($v) and $v == (int)$v, else null."""
    if isinstance(value, int):
        return value
    text = str(value)
    if re.fullmatch(r"\s*[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*", text):
        number = float(text)
        return int(number) if number == int(number) else None
    return None


def convert_date(value: str, fmt: str = "%Y-%m-%d") -> str | None:
    """Converter::convertDate :1197 (the formats it tries, in order); an unknown format is kept as is."""
    if not value or value.lower() in ("n/a", "boot_time"):
        return None
    for pattern in ("%a %b %d %H:%M:%S %Y", "%Y-%m-%dT%H:%M:%SZ", "%d/%m/%Y %H:%M:%S", "%Y-%m-%d %H:%M:%S",
                    "%d/%m/%Y %H:%M", "%Y-%m-%d %H:%M", "%d/%m/%Y", "%m/%d/%Y", "%Y-%m-%d", "%d.%m.%Y", "%Y%m%d"):
        try:
            return datetime.strptime(value, pattern).strftime(fmt)
        except ValueError:
            continue
    return value


def convert(xml_text: str) -> dict:
    """Converter::convert + convertTo01 for a computer inventory (no SNMP parts)."""
    try:
        root = ET.fromstring(xml_text)
    except ET.ParseError as exc:
        raise Invalid(f"XML string seems invalid.\n{exc}") from None
    _drop_empty(root)
    data = _lower(xml_to_dict(root))
    if not isinstance(data, dict):
        data = {}
    if "action" not in data:
        query = str(data.get("query", "inventory")).lower()
        data["action"] = {"snmp": "netinventory", "snmpquery": "netinventory",
                          "netdiscovery": "netdiscovery"}.get(query, "inventory")
    data.pop("query", None)
    content = data.get("content") if isinstance(data.get("content"), dict) else None
    if content is not None:
        for section in ARRAYS:
            if section in content and not isinstance(content[section], list):
                content[section] = [content[section]]
        for kind, names, cast in (("integer", INTEGERS, _cast_int), ("boolean", BOOLEANS, bool)):
            for section, keys in names.items():
                for entry in _entries(content.get(section)):
                    for key in keys.split():
                        if key in entry:
                            entry[key] = cast(entry[key]) if kind == "integer" else \
                                (entry[key] not in ("", "0") if isinstance(entry[key], str) else bool(entry[key]))
        for section, key in (("local_groups", "member"), ("versionprovider", "comments"),
                             ("cameras", "resolution"), ("cameras", "imageformats"), ("cameras", "resolutionvideo")):
            for entry in _entries(content.get(section)):  # the sub_arrays of convertTo01 :533
                if key in entry and not isinstance(entry[key], list):
                    entry[key] = [entry[key]]
        for process in content.get("processes", []):  # "processes dates misses seconds!" :590
            started = process.get("started")
            if started is not None:
                if re.fullmatch(r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2} [0-9]{1,2}:[0-9]{1,2}(:[0-9]{1,2})?", started):
                    parts = [int(x) for x in re.findall(r"\d+", started)] + [0]
                    process["started"] = "%04d-%02d-%02d %02d:%02d:%02d" % tuple(parts[:6])
                else:
                    del process["started"]
        for network in content.get("networks", []):
            if "status" in network:
                network["status"] = network["status"].lower()
            if "type" in network:
                network["type"] = "loopback" if network["type"].lower() == "local" else network["type"].lower()
                if not re.fullmatch(PATTERNS[("networks", "type")], network["type"]):
                    del network["type"]
            if "macaddr" in network:
                network.setdefault("mac", network.pop("macaddr"))
        for cpu in content.get("cpus", []):
            if "arch" in cpu:
                cpu["arch"] = cpu["arch"].lower()
        if "firewall" in content:
            content["firewalls"] = content.pop("firewall")
        for group in content.get("local_groups", []):
            if "member" in group:
                members = group.pop("member")
                group["members"] = members if isinstance(members, list) else [members]
        for soft in content.get("softwares", []):
            date = convert_date(soft.get("install_date", "")) or convert_date(soft.pop("installdate", ""))
            soft.pop("installdate", None)
            soft.pop("install_date", None)
            if date is not None:
                soft["install_date"] = date
        bios = content.get("bios")
        if isinstance(bios, dict):
            date = convert_date(bios.get("bdate", ""))
            bios.pop("bdate", None)
            if date is not None:
                bios["bdate"] = date
        system = content.get("operatingsystem")
        if isinstance(system, dict):
            if "boot_time" in system:
                boot = convert_date(system["boot_time"], "%Y-%m-%d %H:%M:%S")
                system.pop("boot_time")
                if boot is not None:
                    system["boot_time"] = boot
            date = convert_date(system.pop("install_date", ""))
            if date is not None:
                system["install_date"] = date
            zone = system.get("timezone")
            if isinstance(zone, dict) and "offset" in zone:
                if re.fullmatch(r"[+-][0-9]{2}", zone["offset"]):
                    zone["offset"] += "00"
                zone.setdefault("name", zone["offset"])
        for storage in content.get("storages", []):
            if str(storage.get("interface", "")).lower() == "serial-ata":
                storage["interface"] = "SATA"
            if "serialnumber" in storage:
                storage.setdefault("serial", storage.pop("serialnumber"))
                storage.pop("serialnumber", None)
        for env in content.get("envs", []):
            env.setdefault("val", "")
        hardware = content.get("hardware")
        if isinstance(hardware, dict) and "versionclient" in hardware:
            content.setdefault("versionclient", hardware.pop("versionclient"))
            hardware.pop("versionclient", None)
        info = content.pop("accountinfo", None)
        if isinstance(info, dict) and info.get("keyname") == "TAG" and info.get("keyvalue"):
            data.setdefault("tag", info["keyvalue"])
        for section in ("registry", "userslist", "mib_applications", "mib_components", "jvms"):
            content.pop(section, None)
        for section, keys in DROPS.items():
            if isinstance(content.get(section), dict):
                for key in keys.split():
                    content[section].pop(key, None)
        for section, keys in DROPS_IN_LISTS.items():
            for entry in _entries(content.get(section)):
                for key in keys.split():
                    entry.pop(key, None)
        if "user" in content:
            content.setdefault("users", content.pop("user"))
            content.pop("user", None)
    data.setdefault("itemtype", "Computer")
    for key in TOP_DROPS.split():
        data.pop(key, None)
    return data


def _entries(section) -> list[dict]:
    if isinstance(section, dict):
        return [section]
    return [e for e in section if isinstance(e, dict)] if isinstance(section, list) else []


def validate(data: dict) -> None:
    """The checks of inventory.schema.json the double makes; Invalid carries GLPI's message prefix."""
    def fail(detail: str):
        raise Invalid(f"JSON does not validate. Violations:\n{detail}\n")
    if not isinstance(data, dict):
        fail("Object expected")
    for key in ("content", "deviceid"):
        if key not in data:
            fail(f"Required property missing: {key}, data: {sorted(data)}")
    extra = sorted(set(data) - TOP_KEYS)
    if extra:
        fail(f"Additional properties not allowed: {', '.join(extra)} at #")
    content = data["content"]
    if not isinstance(content, dict):
        fail("Object expected at #->properties:content")
    if "versionclient" not in content:
        fail("Required property missing: versionclient at #->properties:content")
    extra = sorted(set(content) - CONTENT_KEYS)
    if extra:
        fail(f"Additional properties not allowed: {', '.join(extra)} at #->properties:content")
    for section, properties in PROPERTIES.items():
        for entry in _entries(content.get(section)):
            where = f"#->properties:content->properties:{section}"
            extra = sorted(set(entry) - set(properties))
            if extra:
                fail(f"Additional properties not allowed: {', '.join(extra)} at {where}")
            for key, kind in properties.items():
                if key in entry:
                    _check(entry[key], kind, PATTERNS.get((section, key)), f"{where}->properties:{key}", fail)


def _check(value, kind: str, pattern: str | None, where: str, fail) -> None:
    if kind == "i" and not (isinstance(value, int) and not isinstance(value, bool)) and not (
            isinstance(value, str) and re.fullmatch(r"-?\d+", value)):
        fail(f"Integer expected, {value!r} received at {where}")
    if kind == "b" and not isinstance(value, bool):
        fail(f"Boolean expected, {value!r} received at {where}")
    if kind in "sdt" and not isinstance(value, str):
        fail(f"String expected, {value!r} received at {where}")
    if kind == "a" and not isinstance(value, list):
        fail(f"Array expected, {value!r} received at {where}")
    if kind == "o" and not isinstance(value, dict):
        fail(f"Object expected, {value!r} received at {where}")
    regex = {"d": DATE, "t": DATETIME}.get(kind, pattern)
    if regex and isinstance(value, str) and not re.fullmatch(regex, value):
        fail(f"Does not match pattern {regex}: {value} at {where}")
