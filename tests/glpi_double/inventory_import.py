"""Import of one computer inventory into the double's tables, as GLPI 10.0.12 does it: src/Inventory/Inventory.php,
src/Inventory/Asset/{MainAsset,Computer,OperatingSystem,Device,Processor,Memory,Bios,Volume,Software}.php, and
RuleImportAsset with the default rules of resources/Rules/RuleImportAsset.xml (see RULES). Field locks
(glpi_lockedfields) are not implemented: every inventoried field is written."""
from __future__ import annotations

import re

try:
    from .schema import ITEMTYPES, foreign_table
    from .store import ci, now
except ImportError:
    from schema import ITEMTYPES, foreign_table
    from store import ci, now

NATIVE_INVENTORY = "GLPI Native Inventory"  # AutoUpdateSystem::NATIVE_INVENTORY (src/AutoUpdateSystem.php:38)
# Blacklist::getDefaults (src/Blacklist.php:352-470): serials (strings compared without case, or /regex/) and UUIDs
BAD_SERIALS = ["N/A", "(null string)", "INVALID", "SYS-1234567890", "SYS-9876543210", "SN-12345", "SN-1234567890",
               "/^0+$/", "/^1+$/", r"/\d\.\d(\.\d)?/", "/^(0|1)+$/", "0123456789", "12345", "123456", "1234567",
               "12345678", "123456789", "1234567890", "123456789000", "12345678901234567", "NNNNNNN", "xxxxxxxxxxx",
               "EVAL", "IATPASS", "none", "To Be Filled By O.E.M.", "Tulip Computers", "Serial Number xxxxxx",
               "SN-123456fvgv3i0b8o5n6n7k", "Unknow", "System Serial Number", "MB-1234567890", "empty",
               "Not Specified", "OEM_Serial", "SystemSerialNumb"]
BAD_UUIDS = ["FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF", "03000200-0400-0500-0006-000700080009",
             "6AB5B300-538D-1014-9FB5-B0684D007B53", "01010101-0101-0101-0101-010101010101", "2"]
# resources/Rules/RuleImportAsset.xml, the rules for a Computer (ranking, name, criteria, action), in order.
# Criteria: (field, condition) with is/exists/not_exists/find ("found in GLPI")/empty ("is empty in GLPI").
# Rules 15, 16, 19, 20 (uuid and mac) are inactive at install and left out.
IT = ("itemtype", "is", "Computer")
RULES = [
    (1, "No creation on partial import", [("partial", "is", "1"), ("itemtype", "not_exists")], "refuse"),
    (10, "Computer constraint (name)", [IT, ("name", "not_exists")], "refuse"),
    (11, "Computer update (by serial + uuid)",
     [IT, ("serial", "find"), ("serial", "exists"), ("uuid", "find"), ("uuid", "exists")], "link"),
    (12, "Computer update (by serial + uuid is empty in GLPI)",
     [IT, ("serial", "find"), ("serial", "exists"), ("uuid", "empty")], "link"),
    (13, "Computer import (by serial + uuid)", [IT, ("uuid", "exists"), ("serial", "exists")], "link"),
    (14, "Computer update (by serial)", [IT, ("serial", "find"), ("serial", "exists")], "link"),
    (17, "Computer update (by name)", [IT, ("name", "find"), ("name", "exists")], "link"),
    (18, "Computer import (by serial)", [IT, ("serial", "exists")], "link"),
    (21, "Computer import (by name)", [IT, ("name", "exists")], "link"),
    (22, "Computer import denied", [IT], "refuse"),
]


def empty(value) -> bool:
    """PHP's empty(): "", "0", 0, null, false and [] are empty."""
    return value in (None, "", "0", 0, False, [], {})


def blacklisted(value: str, patterns: list[str]) -> bool:
    """Blacklist::process (src/Blacklist.php:480)."""
    for pattern in patterns:
        if re.fullmatch(r"/.+/", pattern) and re.search(pattern[1:-1], value):
            return True
        if value.lower() == pattern.lower():
            return True
    return False


def _int(value) -> int:
    try:
        return int(float(str(value)))
    except ValueError:
        return 0


class Importer:
    """One computer inventory: MainAsset::prepare/handle/rulepassed, then the assets."""

    def __init__(self, service, data: dict):  # service: native_inventory.NativeInventory
        self.service, self.store, self.data = service, service.store, data
        self.content = data["content"]
        self.partial = bool(data.get("partial"))

    # --- the computer ----------------------------------------------------------------------------------------

    def prepare(self) -> dict:
        """MainAsset::prepare, prepareForHardware, prepareForUsers, prepareForBios (MainAsset.php:113-400)."""
        val = {"autoupdatesystems_id": NATIVE_INVENTORY, "last_inventory_update": now(), "is_deleted": 0}
        system = self.content.get("operatingsystem") or {}
        if "boot_time" in system:
            val["last_boot"] = system["boot_time"]
        hardware = dict(self.content.get("hardware") or {})
        for origin, dest in (("winprodid", "licenseid"), ("winprodkey", "license_number"), ("workgroup", "domains_id"),
                             ("lastloggeduser", "users_id"), ("description", "comment"), ("wincompany", "company"),
                             ("winowner", "owner")):
            if origin in hardware:
                hardware[dest] = hardware[origin]
        val.update(hardware)
        bios = self.content.get("bios") or {}
        if hardware.get("vmsystem", "") not in ("", "Physical"):
            val["computertypes_id"] = hardware["vmsystem"]   # "lxc", "Docker", "QEMU"… becomes the type
        elif "bios" in self.content:
            kind = hardware.get("chassis_type") or bios.get("type") or bios.get("mmodel")
            if kind:
                val["computertypes_id"] = kind
        if "users_id" in val:
            if val["users_id"] == "":
                del val["users_id"]
            else:
                val["contact"] = val["users_id"]
                users = self.store.find("User", name=str(val["users_id"]).split("@")[0])
                val["users_id"] = users[0]["id"] if users else 0
        sessions = self.content.get("users") or []
        if sessions:
            previous, val["contact"], logins = val.get("contact", ""), "", []
            for i, entry in enumerate(sessions):
                login = entry.get("login", "")
                if login and entry.get("domain"):
                    login += "@" + entry["domain"]
                if i == 0 and entry.get("login"):
                    users = self.store.find("User", name=entry["login"])
                    if users:
                        val["users_id"] = users[0]["id"]
                if login:
                    logins.append(login)
            val["contact"] = "/".join(logins) or previous
        if bios:
            if bios.get("assettag"):
                val["otherserial"] = bios["assettag"]
            maker = bios.get("smanufacturer") or bios.get("mmanufacturer") or bios.get("bmanufacturer")
            if maker:
                val["manufacturers_id"] = maker
            model = bios.get("smodel") or bios.get("mmodel")
            if model:
                val["computermodels_id"] = model
            if "ssn" in bios:
                val["serial"] = bios["ssn"].strip()
                if "ewlett" in str(val.get("manufacturers_id", "")) and re.match(r"[sS]", val["serial"]):
                    val["serial"] = val["serial"][1:].strip()  # HP patch
            if "msn" in bios:
                val["mserial"] = bios["msn"]
        return val

    def run(self) -> None:
        val = self.prepare()
        # Blacklist::processBlackList (src/Blacklist.php:495)
        if val.get("manufacturers_id") == "System manufacturer":
            del val["manufacturers_id"]
        if "uuid" in val and blacklisted(str(val["uuid"]), BAD_UUIDS):
            del val["uuid"]
        if "serial" in val and blacklisted(str(val["serial"]), BAD_SERIALS):
            del val["serial"]
        if "serial" not in val and "mserial" in val and not blacklisted(str(val["mserial"]), BAD_SERIALS):
            val["serial"] = val["mserial"]
        rule_input = {"name": ""}
        rule_input.update({k: v for k, v in val.items() if not empty(v) and not isinstance(v, (dict, list))})
        rule_input.update(itemtype="Computer", partial="1" if self.partial else "")
        verdict, computer_id, rule = self.rules(rule_input)
        if verdict == "refuse":
            self.service.refused.append({"name": rule_input["name"], "serial": val.get("serial", ""),
                                         "uuid": val.get("uuid", ""), "rule": rule})
            return
        self.rulepassed(val, computer_id)

    def rules(self, given: dict) -> tuple[str, int, str]:
        """RuleImportAssetCollection (stop at the first matching rule): Rule::checkCriterias, then
        RuleImportAsset::findWithGlobalCriteria (src/RuleImportAsset.php:376-592) on glpi_computers, without any
        filter on the trash, templates or entities."""
        for _rank, name, criteria, action in RULES:
            if not all(self._simple(given, field, cond, pattern) for field, cond, *pattern in criteria):
                continue
            # preComputeCriteria: a criterion whose value is not in the input is left out of the lookup
            lookups = [(f, c) for f, c, *_ in criteria
                       if c in ("find", "empty") and f in given and (given[f] != "" or c == "empty")]
            if any(c == "find" or c == "empty" for _, c in lookups):
                found = sorted(row["id"] for row in self.store.tables["Computer"].values()
                               if all((ci(row.get(f)) == ci(given[f])) if c == "find" else row.get(f) in ("", None)
                                      for f, c in lookups))
                if not found:
                    continue  # the rule does not match: next rule
                return action, found[0], name
            return action, 0, name
        return "link", 0, "(no rule matched)"

    @staticmethod
    def _simple(given: dict, field: str, cond: str, pattern: list) -> bool:
        """RuleCriteria::match (src/RuleCriteria.php:344): 'found in GLPI' criteria pass here."""
        value = given.get(field, "")
        if cond == "is":
            return ci(value) == ci(pattern[0])
        if cond == "exists":
            return not empty(value)
        if cond == "not_exists":
            return empty(value)
        return True

    def rulepassed(self, val: dict, computer_id: int) -> None:
        """MainAsset::rulepassed (src/Inventory/Asset/MainAsset.php:650-945): add or update, then the assets."""
        val.update(is_dynamic=1, entities_id=0)
        if computer_id:
            val["states_id"] = self.store.get("Computer", computer_id)["states_id"]
        else:
            val["states_id"] = 0
        values = self.links(val)
        if computer_id:
            self.store.modify("Computer", computer_id, values)
        else:
            computer_id = self.store.insert("Computer", values)["id"]
        self.computer = self.store.get("Computer", computer_id)
        self.os_id = 0
        for section, handler in (("bios", self.firmware), ("cpus", self.processors), ("drives", self.volumes),
                                 ("memories", self.memories), ("operatingsystem", self.operating_system),
                                 ("softwares", self.softwares)):
            if section in self.content or (section == "softwares" and "operatingsystem" in self.content):
                handler(self.content.get(section))

    def links(self, val: dict, itemtype: str = "Computer") -> dict:
        """InventoryAsset::handleLinks + handleInput: dropdown names become ids (Dropdown::importExternal)."""
        out = {}
        for key, value in val.items():
            if isinstance(value, (dict, list)):
                continue
            table = foreign_table(key)
            target = next((t for t in ITEMTYPES.values() if t.table == table), None) if table else None
            if target is not None and target.dropdown and key not in ("entities_id", "states_id") \
                    and isinstance(value, str):
                value = self.store.import_dropdown(target.name, value)
            out[key] = value
        if "operatingsystemkernelversions_id" in out and "operatingsystemkernels_id" in out and \
                out["operatingsystemkernelversions_id"]:
            self.store.modify("OperatingSystemKernelVersion", out["operatingsystemkernelversions_id"],
                              {"operatingsystemkernels_id": out["operatingsystemkernels_id"]})
        return out

    # --- assets ----------------------------------------------------------------------------------------------

    def _owner(self) -> dict:
        return {"itemtype": "Computer", "items_id": self.computer["id"], "is_dynamic": 1,
                "entities_id": self.computer["entities_id"]}

    def devices(self, relation: str, device_type: str, fk: str, entries: list[dict], import_keys: tuple,
                match_keys: tuple, delta: str = "") -> None:
        """Device::handle (src/Inventory/Asset/Device.php:71-190): find or create the device model, update the
        computer's matching link or add one, purge the remaining dynamic links. The 'delta' comparisons of
        getImportCriteria never fail there (both bounds must fail at once), so only 'equal' ones count."""
        existing = self.store.find(relation, itemtype="Computer", items_id=self.computer["id"])
        name_field = ITEMTYPES[device_type].name_field
        for val in entries:
            if not val.get("designation"):
                val["designation"] = {"Item_DeviceProcessor": "Processor item", "Item_DeviceMemory": "Memory item",
                                      "Item_DeviceFirmware": "Firmware item"}[relation]
            values = self.links(val, device_type)
            # CommonDevice::import (src/CommonDevice.php:473): equal keys, and a ±10 window on `frequence`
            device_id = next((d["id"] for d in self.store.tables[device_type].values()
                              if all(ci(d.get(k)) == ci(values.get(k)) for k in import_keys if k in values)
                              and (not delta or delta not in values
                                   or abs(_int(d.get(delta)) - _int(values[delta])) < 10)),
                             None) or self.store.insert(device_type, {name_field: values["designation"], **values})["id"]
            link = {**values, fk: device_id, **self._owner()}
            same = next((row for row in existing if row[fk] == device_id and all(
                row.get(k) == link.get(k) for k in match_keys if row.get(k) is not None or link.get(k) is not None)),
                None)
            if same is not None:
                self.store.modify(relation, same["id"], link)
                existing.remove(same)
            else:
                self.store.insert(relation, link)
        for row in existing:
            if row["is_dynamic"] == 1 and not self.partial:
                self.store.purge(relation, row["id"])

    def processors(self, cpus) -> None:
        """Asset\\Processor::prepare (src/Inventory/Asset/Processor.php:44-72)."""
        entries = []
        for cpu in cpus or []:
            val = {"frequency": cpu.get("speed"), "manufacturers_id": cpu.get("manufacturer"),
                   "serial": cpu.get("serial"), "designation": cpu.get("name"), "nbcores": cpu.get("core"),
                   "nbthreads": cpu.get("thread")}
            val = {k: v for k, v in val.items() if v is not None}
            val["frequency"] = val["frequency_default"] = val["frequence"] = val.get("frequency", 0)
            entries.append(val)
        self.devices("Item_DeviceProcessor", "DeviceProcessor", "deviceprocessors_id", entries,
                     ("designation", "manufacturers_id"), ("serial", "busID"), delta="frequence")

    def memories(self, modules) -> None:
        """Asset\\Memory::prepare (src/Inventory/Asset/Memory.php:44-100): no module without a capacity, no
        Flash; nothing is made up from HARDWARE/MEMORY when there is no MEMORIES node."""
        entries = []
        for module in modules or []:
            if not isinstance(module.get("capacity"), int) or module["capacity"] <= 0:
                continue
            kind = module.get("type", "")
            if "Flash" in kind:
                continue
            val = {"size": module["capacity"], "manufacturers_id": module.get("manufacturer"),
                   "serial": module.get("serialnumber"),
                   "busID": None if module.get("numslots") is None else str(module["numslots"]),
                   "devicememorytypes_id": module.get("type")}
            if "speed" in module:
                val["frequence"] = module["speed"].replace(" MHz", "").replace(" MT/s", "")
            designation = kind if kind not in ("", "Empty Slot", "Unknown") else ""
            if module.get("description"):
                designation = (designation + " - " if designation else "") + module["description"]
            if designation:
                val["designation"] = designation
            entries.append({k: v for k, v in val.items() if v is not None})
        self.devices("Item_DeviceMemory", "DeviceMemory", "devicememories_id", entries,
                     ("designation", "devicememorytypes_id", "manufacturers_id"), ("serial",), delta="frequence")

    def firmware(self, bios) -> None:
        """Asset\\Bios (src/Inventory/Asset/Bios.php:44-70): the BIOS is a DeviceFirmware "<maker> BIOS"."""
        bios = bios or {}
        val = {"designation": f"{bios.get('bmanufacturer', '')} BIOS", "devicefirmwaretypes_id": "BIOS",
               "date": bios.get("bdate", "")[:10] or None, "version": bios.get("bversion"),
               "manufacturers_id": bios.get("bmanufacturer"), "serial": bios.get("biosserial")}
        self.devices("Item_DeviceFirmware", "DeviceFirmware", "devicefirmwares_id",
                     [{k: v for k, v in val.items() if v is not None}],
                     ("designation", "devicefirmwaretypes_id", "manufacturers_id", "version"), ("serial",))

    def volumes(self, drives) -> None:
        """Asset\\Volume (src/Inventory/Asset/Volume.php:44-200): Item_Disk found again by name, device and
        mount point (lowercase), sizes in MiB as the agent gives them."""
        entries = []
        for drive in drives or []:
            val = {"device": drive.get("volumn"), "filesystems_id": drive.get("filesystem"),
                   "totalsize": drive.get("total"), "freesize": drive.get("free"),
                   "encryption_tool": drive.get("encrypt_name"), "encryption_algorithm": drive.get("encrypt_algo"),
                   "encryption_type": drive.get("encrypt_type")}
            if drive.get("label"):
                val["name"] = drive["label"]
            elif not drive.get("volumn") and "letter" in drive:
                val["name"] = drive["letter"]
            else:
                val["name"] = drive.get("type", drive.get("volumn"))
            val["mountpoint"] = drive.get("letter", drive.get("type"))
            if "encrypt_status" in drive:
                val["encryption_status"] = {"Yes": 1, "Partially": 2}.get(drive["encrypt_status"], 0)
            entries.append({k: v for k, v in val.items() if v is not None})
        existing = self.store.find("Item_Disk", itemtype="Computer", items_id=self.computer["id"])
        keys = ("name", "device", "mountpoint")
        for val in entries:
            values = {**self.links(val, "Item_Disk"), **self._owner()}
            same = next((d for d in existing if all((d.get(k) or "").lower() == (val.get(k) or "").lower()
                                                    for k in keys)), None)
            if same is not None:
                self.store.modify("Item_Disk", same["id"], values)
                existing.remove(same)
            else:
                self.store.insert("Item_Disk", values)
        for disk in existing:
            if disk["is_dynamic"] == 1 and not self.partial:
                self.store.purge("Item_Disk", disk["id"])

    def operating_system(self, system) -> None:
        """Asset\\OperatingSystem (src/Inventory/Asset/OperatingSystem.php:50-200): FULL_NAME, not NAME, names the
        OperatingSystem; one Item_OperatingSystem per computer, updated in place."""
        system = system or {}
        hardware = self.content.get("hardware") or {}
        val = {"operatingsystems_id": system.get("full_name", system.get("name")),
               "operatingsystemversions_id": system.get("version"),
               "operatingsystemservicepacks_id": system.get("service_pack"),
               "operatingsystemarchitectures_id": system.get("arch"),
               "operatingsystemkernels_id": system.get("kernel_name"),
               "operatingsystemkernelversions_id": system.get("kernel_version"),
               "licenseid": hardware.get("winprodid"), "license_number": hardware.get("winprodkey"),
               "company": hardware.get("wincompany"), "owner": hardware.get("winowner"), "hostid": system.get("hostid"),
               "install_date": system.get("install_date", "")[:10] or None}
        values = {**self.links({k: v for k, v in val.items() if v is not None}), **self._owner()}
        values.pop("operatingsystemkernels_id", None)
        rows = self.store.find("Item_OperatingSystem", itemtype="Computer", items_id=self.computer["id"])
        if rows:
            self.store.modify("Item_OperatingSystem", rows[0]["id"], values)
            keep = rows[0]["id"]
        else:
            keep = self.store.insert("Item_OperatingSystem", values)["id"]
        if not self.partial:
            for row in rows[1:]:
                self.store.purge("Item_OperatingSystem", row["id"])
        self.os_id = values.get("operatingsystems_id", 0)
        self.os_entry = {"name": system.get("full_name", system.get("name")), "arch": system.get("arch"),
                         "version": system.get("version", ""), "manufacturers_id": 0} if keep else None

    def softwares(self, softwares) -> None:
        """Asset\\Software (src/Inventory/Asset/Software.php:52-870): the OS is added as one more software; links
        of the computer are kept when (name, version, arch, publisher, entity, OS) is unchanged, else replaced;
        Software by name and publisher, SoftwareVersion by version, arch and OS."""
        entries = []
        for soft in softwares or []:
            name = re.sub(r"\s+", " ", soft.get("name") or soft.get("guid") or "").strip()
            if not name:
                continue
            entries.append({"name": name, "version": soft.get("version", ""), "arch": soft.get("arch", ""),
                            "manufacturers_id": re.sub(r"\s+", " ", soft.get("publisher", "")).strip() or 0,
                            "comment": soft.get("comments"), "date_install": soft.get("install_date"),
                            "softwarecategories_id": soft.get("system_category") or 0})
        with_maker = {self._key(e, maker=False) for e in entries if e["manufacturers_id"]}
        entries = [e for e in entries if e["manufacturers_id"] or self._key(e, maker=False) not in with_maker]
        if getattr(self, "os_entry", None) and self.os_entry["name"]:
            entries.append({**self.os_entry, "comment": None, "date_install": None, "softwarecategories_id": 0})
        current = {}
        for link in self.store.find("Item_SoftwareVersion", itemtype="Computer", items_id=self.computer["id"],
                                    is_dynamic=1):
            version = self.store.get("SoftwareVersion", link["softwareversions_id"]) or {}
            software = self.store.get("Software", version.get("softwares_id") or 0) or {}
            maker = (self.store.get("Manufacturer", software.get("manufacturers_id") or 0) or {}).get("name") or 0
            current[self._key({"name": software.get("name"), "version": version.get("name"),
                               "arch": version.get("arch"), "manufacturers_id": maker})] = link["id"]
        seen = set()
        for entry in entries:
            key = self._key(entry)
            if key in current:
                seen.add(key)
                continue
            if key in seen:
                continue
            seen.add(key)
            values = self.links({k: v for k, v in entry.items() if v is not None}, "Software")
            software = next((s for s in self.store.tables["Software"].values()
                             if ci(s["name"]) == ci(entry["name"]) and s["entities_id"] == 0
                             and s["is_recursive"] == 0 and s["manufacturers_id"] == values["manufacturers_id"]),
                            None) or self.store.insert("Software", {**values, "entities_id": 0, "is_recursive": 0})
            version = next((v for v in self.store.tables["SoftwareVersion"].values()
                            if v["softwares_id"] == software["id"] and ci(v["name"]) == ci(entry["version"])
                            and ci(v["arch"]) == ci(entry["arch"]) and v["operatingsystems_id"] == self.os_id),
                           None) or self.store.insert("SoftwareVersion", {
                               "name": entry["version"], "arch": entry["arch"], "softwares_id": software["id"],
                               "operatingsystems_id": self.os_id, "comment": entry["comment"], "entities_id": 0})
            self.store.insert("Item_SoftwareVersion", {
                "softwareversions_id": version["id"], "date_install": entry["date_install"], **self._owner()})
        for key, link_id in current.items():
            if key not in seen and not (self.partial and not entries):
                self.store.purge("Item_SoftwareVersion", link_id)

    def _key(self, entry: dict, maker: bool = True) -> tuple:
        """Software::getFullCompareKey / getSimpleCompareKey, lowercase, for entity 0 and this OS."""
        return (ci(entry["name"]), ci(entry.get("version") or ""), ci(entry.get("arch") or ""),
                ci(entry.get("manufacturers_id") or 0) if maker else "", self.os_id)
