"""The double's database: one dict of rows per itemtype, and GLPI's add/update/delete rules on top of it.

CommonDBTM (src/CommonDBTM.php) behaviours kept: `date_creation`/`date_mod` set on add, `date_mod` only when a value
changed; the trash (`is_deleted`) unless the item must be purged; purge of the item's relations (a subset of each
class's cleanDBonPurge, listed in CASCADE). Ticket rules from CommonITILObject/ITILSolution are below. State is a JSON
file written after each write, so the container's service survives a restart."""
from __future__ import annotations

import json
import os
import threading
import time
import unicodedata
from pathlib import Path

try:
    from .schema import DEFAULT_USERS, ITEMTYPES, ROOT_ENTITY, SEEDS, fk_of
except ImportError:  # run as a script from /opt/glpi-double
    from schema import DEFAULT_USERS, ITEMTYPES, ROOT_ENTITY, SEEDS, fk_of

# Ticket statuses (CommonITILObject.php:82-93) and the default priority matrix (install/empty_data.php:202)
INCOMING, ASSIGNED, SOLVED, CLOSED = 1, 2, 5, 6
PRIORITY = {1: {1: 1, 2: 1, 3: 2, 4: 2, 5: 2}, 2: {1: 1, 2: 2, 3: 2, 4: 3, 5: 3}, 3: {1: 2, 2: 2, 3: 3, 4: 4, 5: 4},
            4: {1: 2, 2: 3, 3: 4, 4: 4, 5: 5}, 5: {1: 2, 2: 3, 3: 4, 4: 5, 5: 5}}
# Relations purged with their item: (relation itemtype, "items" for itemtype/items_id or the FK column)
CASCADE = {
    "Computer": [(t, "items") for t in ("Item_OperatingSystem", "Item_Disk", "Item_SoftwareVersion", "Infocom",
                                        "Item_DeviceProcessor", "Item_DeviceMemory", "Item_DeviceFirmware",
                                        "Item_Ticket")],
    "Ticket": [("ITILFollowup", "items"), ("ITILSolution", "items"), ("TicketValidation", "tickets_id"),
               ("Ticket_User", "tickets_id"), ("Group_Ticket", "tickets_id"), ("Item_Ticket", "tickets_id")],
    "Software": [("SoftwareVersion", "softwares_id")],
    "SoftwareVersion": [("Item_SoftwareVersion", "softwareversions_id")],
    "User": [("Group_User", "users_id"), ("Ticket_User", "users_id")],
    "Group": [("Group_User", "groups_id"), ("Group_Ticket", "groups_id")],
}


def ci(value: object) -> str:
    """A string as MySQL's utf8mb4_unicode_ci compares it: case and accents ignored, trailing spaces ignored."""
    text = unicodedata.normalize("NFKD", "" if value is None else str(value))
    return "".join(c for c in text if not unicodedata.combining(c)).casefold().rstrip(" ")


def now() -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S")  # $_SESSION["glpi_currenttime"], server local time


class Refused(Exception):
    """CommonDBTM::add/update returned false; the message is the one GLPI leaves in MESSAGE_AFTER_REDIRECT."""


class Store:
    def __init__(self, config: dict, path: Path | None = None):
        self.lock = threading.RLock()
        self.path = Path(path) if path else None
        self.tables: dict[str, dict[int, dict]] = {name: {} for name in ITEMTYPES}
        self.next_id: dict[str, int] = {name: 1 for name in ITEMTYPES}
        self.sessions: dict[str, int] = {}
        if self.path and self.path.exists():
            self._load(json.loads(self.path.read_text()))
        else:
            self._install(config)

    # --- persistence -----------------------------------------------------------------------------------------

    def _install(self, config: dict) -> None:
        self.tables["Entity"][0] = self._row("Entity", ROOT_ENTITY)
        for user_id, login in DEFAULT_USERS.items():
            self.tables["User"][user_id] = self._row("User", {"id": user_id, "name": login, "list_limit": 20})
        self.next_id["User"] = max(DEFAULT_USERS) + 1
        for login in config.get("users", {}):
            if not self.find("User", name=login):
                self.insert("User", {"name": login, "list_limit": 20})
        for itemtype, names in SEEDS.items():
            for name in names:
                self.insert(itemtype, {"name": name})
        self.insert("SoftwareCategory", {"name": "Inventoried", "completename": "Software from inventories",
                                         "level": 1})  # empty_data.php:8233, completename as shipped

    def _load(self, data: dict) -> None:
        for itemtype, rows in data.get("tables", {}).items():
            if itemtype in self.tables:
                self.tables[itemtype] = {int(k): v for k, v in rows.items()}
        self.next_id.update(data.get("next_id", {}))
        self.sessions = data.get("sessions", {})

    def save(self) -> None:
        if not self.path:
            return
        data = {"tables": self.tables, "next_id": self.next_id, "sessions": self.sessions}
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data))
        os.replace(tmp, self.path)

    # --- rows ------------------------------------------------------------------------------------------------

    def _row(self, itemtype: str, values: dict) -> dict:
        row = dict(ITEMTYPES[itemtype].columns)
        row.update({k: v for k, v in values.items() if k in row})
        return row

    def get(self, itemtype: str, item_id: int) -> dict | None:
        return self.tables[itemtype].get(int(item_id))

    def find(self, kind: str, /, **crit) -> list[dict]:
        return [row for row in self.tables[kind].values() if all(row.get(k) == v for k, v in crit.items())]

    def insert(self, itemtype: str, values: dict) -> dict:
        """A row as the database stores it: unknown keys dropped, defaults, dates (CommonDBTM::add)."""
        kind = ITEMTYPES[itemtype]
        row = self._row(itemtype, values)
        row["id"] = self.next_id[itemtype]
        self.next_id[itemtype] += 1
        stamp = now()
        for column in ("date_creation", "date_mod"):
            if kind.has(column) and values.get(column) is None:
                row[column] = stamp
        if kind.tree:
            self._tree_names(itemtype, row)
        self.tables[itemtype][row["id"]] = row
        return row

    def modify(self, itemtype: str, item_id: int, values: dict) -> bool:
        """CommonDBTM::update: only changed columns count; date_mod follows a change."""
        row = self.tables[itemtype][int(item_id)]
        changes = {k: v for k, v in values.items() if k in row and k != "id" and row[k] != v}
        if not changes:
            return False
        row.update(changes)
        if ITEMTYPES[itemtype].has("date_mod") and "date_mod" not in changes:
            row["date_mod"] = now()
        if ITEMTYPES[itemtype].tree and "completename" not in changes:
            self._tree_names(itemtype, row)
        return True

    def _tree_names(self, itemtype: str, row: dict) -> None:
        """CommonTreeDropdown::prepareInputForAdd: completename "parent > name", level parent + 1."""
        if row.get("completename") and row.get("level"):
            return
        parent_id = row.get(fk_of(itemtype))
        parent = self.get(itemtype, parent_id) if parent_id or (parent_id == 0 and itemtype == "Entity") else None
        if parent and parent["id"] != row["id"]:
            row["completename"] = f"{parent['completename']} > {row['name']}"
            row["level"] = parent["level"] + 1
        else:
            row["completename"], row["level"] = row.get("name"), 1

    def purge(self, itemtype: str, item_id: int) -> None:
        self.tables[itemtype].pop(int(item_id), None)
        for relation, key in CASCADE.get(itemtype, []):
            crit = {"itemtype": itemtype, "items_id": int(item_id)} if key == "items" else {key: int(item_id)}
            for row in self.find(relation, **crit):
                self.purge(relation, row["id"])

    def import_dropdown(self, itemtype: str, name: object, **extra) -> int:
        """Dropdown::importExternal → CommonDropdown::import: an existing row of that name (compared as MySQL
        does), else a new one. An empty name is 0."""
        text = "" if name is None else str(name).strip()
        if not text:
            return 0
        field = ITEMTYPES[itemtype].name_field
        for row in self.tables[itemtype].values():
            if ci(row.get(field)) == ci(text):
                return row["id"]
        return self.insert(itemtype, {field: text, **extra})["id"]

    # --- GLPI's add / update / delete ------------------------------------------------------------------------

    def add(self, itemtype: str, fields: dict, user_id: int = 0) -> dict:
        fields = dict(fields)
        if itemtype == "Ticket":
            self._ticket_input(fields, user_id)
        elif itemtype == "ITILFollowup":
            self._parent(fields)
            if not fields.get("content"):  # ITILFollowup::prepareInputForAdd
                raise Refused("You can't add a followup without description")
            fields.setdefault("users_id", user_id)
            fields.setdefault("date", now())
        elif itemtype == "ITILSolution":
            parent = self._parent(fields)
            if parent["status"] in (SOLVED, CLOSED):  # ITILSolution::prepareInputForAdd
                raise Refused("The item is already solved, did anyone pushed a solution before you?")
            fields.setdefault("users_id", user_id)
            # root entity autoclose_delay is -10 (never, empty_data.php): the solution waits for approval
            fields["status"] = 2
        elif itemtype == "TicketValidation":
            if not self.get("Ticket", fields.get("tickets_id") or 0):
                raise Refused("You don't have permission to perform this action.")
            fields.setdefault("users_id", user_id)
            fields.setdefault("submission_date", now())
        elif itemtype == "User" and not str(fields.get("name") or "").strip():
            raise Refused("The login is not valid. Unable to add the user.")
        row = self.insert(itemtype, fields)
        if itemtype == "Ticket":
            self._ticket_actors(row["id"], fields)
        elif itemtype == "ITILSolution":
            # ITILSolution::post_addItem (src/ITILSolution.php:310): the ITIL object becomes SOLVED
            self.update(fields["itemtype"], fields["items_id"], {"status": SOLVED}, user_id)
        elif itemtype == "TicketValidation" and self.get("Ticket", fields["tickets_id"])["global_validation"] in (1, 3):
            # CommonITILValidation::post_addItem (src/CommonITILValidation.php:315-326): none/accepted → waiting
            self.modify("Ticket", fields["tickets_id"], {"global_validation": 2})
        return row

    def _parent(self, fields: dict) -> dict:
        parent = self.get(fields.get("itemtype") or "Ticket", fields.get("items_id") or 0) \
            if (fields.get("itemtype") or "Ticket") in ITEMTYPES else None
        if parent is None:  # API::createItems checks can(-1, CREATE) first: needs the parent
            raise Refused("You don't have permission to perform this action.")
        return parent

    def _ticket_input(self, fields: dict, user_id: int) -> None:
        """CommonITILObject::prepareInputForAdd: status, urgency/impact 3, priority from the matrix, dates."""
        fields.setdefault("status", INCOMING)
        for key in ("urgency", "impact"):
            if int(fields.get(key) or 0) not in range(1, 6):
                fields[key] = 3
        fields.setdefault("priority", PRIORITY[int(fields["urgency"])][int(fields["impact"])])
        fields.setdefault("date", now())
        fields.setdefault("users_id_recipient", user_id)
        fields["users_id_lastupdater"] = user_id
        fields.setdefault("type", 1)  # root entity tickettype = 1 (incident)
        assigned = any(fields.get(k) for k in ("_users_id_assign", "_groups_id_assign"))
        if assigned and int(fields["status"]) == INCOMING:
            fields["status"] = ASSIGNED

    def _ticket_actors(self, ticket_id: int, fields: dict) -> None:
        """`_users_id_requester`, `_users_id_assign`… of the ticket input (types: CommonITILActor.php:47-51)."""
        for prefix, relation, fk in (("_users_id_", "Ticket_User", "users_id"),
                                     ("_groups_id_", "Group_Ticket", "groups_id")):
            for role, kind in (("requester", 1), ("assign", 2), ("observer", 3)):
                value = fields.get(prefix + role)
                for actor in (value if isinstance(value, list) else [value]):
                    if actor:
                        self.insert(relation, {"tickets_id": ticket_id, fk: int(actor), "type": kind})

    def update(self, itemtype: str, item_id: int, fields: dict, user_id: int = 0) -> bool:
        row = self.tables[itemtype][int(item_id)]
        fields = dict(fields)
        if itemtype == "Ticket" and "status" in fields:
            status = int(fields["status"])
            # CommonITILObject::updateDateMod/post-update (CommonITILObject.php:2078-2200)
            if status == SOLVED and row["status"] != SOLVED:
                fields.setdefault("solvedate", now())
            if status == CLOSED and row["status"] != CLOSED:
                fields.setdefault("closedate", now())
                if not row["solvedate"]:
                    fields.setdefault("solvedate", fields["closedate"])
            if status < SOLVED:
                fields.update(solvedate=None, closedate=None)
            fields["users_id_lastupdater"] = user_id or row["users_id_lastupdater"]
        self.modify(itemtype, item_id, fields)
        return True

    def must_purge(self, itemtype: str, row: dict) -> bool:
        """API::deleteItems (src/Api/API.php:2068-2079): templates, items without a trash, and items that could be
        dynamic but are not (useDeletedToLockIfDynamic) are purged even without force_purge."""
        kind = ITEMTYPES[itemtype]
        return bool(row.get("is_template")) or not kind.has("is_deleted") or (
            kind.deleted_lock and kind.has("is_dynamic") and not row.get("is_dynamic"))
