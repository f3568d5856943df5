"""GLPI 10.0's search engine as `search/:itemtype` and `listSearchOptions/:itemtype` expose it, for Computer and Ticket.

Options are a subset of Computer::rawSearchOptions (src/Computer.php:378-560), CommonDBTM (:3874, option 1 is an
`itemlink`), Item_OperatingSystem::rawSearchOptionsToAdd (:356-400), DeviceProcessor::rawSearchOptionsToAdd (:231) and
CommonITILObject (:4025-4580). Semantics follow Search::addWhere (src/Search.php:4609-5500):
- `contains` is a LIKE '%v%' (case and accents ignored, `^`/`$` anchor, `NULL` is IS NULL), makeTextSearchValue :9272;
- `equals` on an `itemlink` (option 1, the name) or on a dropdown compares the row's **id**, not the text (:5373,
  :5479): `equals "pc01"` on option 1 finds nothing; on a field of the item's own table (serial, uuid) it is `=`;
- numbers: `contains 12` is `= 12`, `<12`/`>12` compare (:5337); datetimes: `<`/`>` and `lessthan`/`morethan`.
Columns (Search::prepareDatasForSearch :467-660): 1 first, then forcedisplay or the default display preferences
(install/empty_data.php:830), then each criterion's field, then the sort field; ITIL objects put 2 in front."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

try:
    from .schema import ITEMTYPES
    from .store import ci
except ImportError:
    from schema import ITEMTYPES
    from store import ci

CHARACTERISTICS = "Characteristics"


@dataclass(frozen=True)
class Option:
    id: int
    name: str
    table_itemtype: str     # the itemtype of the option's table
    field: str
    datatype: str
    uid: str
    path: tuple = ()        # () own row; ("fk", col); ("items", rel, fk|None); ("child", rel, col, type, fk)
    searchtypes: tuple | None = None  # forced 'searchtype' of the option
    group: str = "common"


def _c(oid, name, itemtype, field, datatype, uid, path=(), searchtypes=None, group="common"):
    return Option(oid, name, itemtype, field, datatype, uid, path, searchtypes, group)


OPTIONS: dict[str, dict[int, Option]] = {
    "Computer": {o.id: o for o in [
        _c(1, "Name", "Computer", "name", "itemlink", "Computer.name"),
        _c(2, "ID", "Computer", "id", "number", "Computer.id"),
        _c(3, "Location", "Location", "completename", "dropdown", "Computer.Location.completename",
           ("fk", "locations_id")),
        _c(4, "Type", "ComputerType", "name", "dropdown", "Computer.ComputerType.name", ("fk", "computertypes_id")),
        _c(40, "Model", "ComputerModel", "name", "dropdown", "Computer.ComputerModel.name",
           ("fk", "computermodels_id")),
        _c(31, "Status", "State", "completename", "dropdown", "Computer.State.completename", ("fk", "states_id")),
        _c(47, "UUID", "Computer", "uuid", "string", "Computer.uuid"),
        _c(5, "Serial number", "Computer", "serial", "string", "Computer.serial"),
        _c(6, "Inventory number", "Computer", "otherserial", "string", "Computer.otherserial"),
        _c(9, "Last inventory date", "Computer", "last_inventory_update", "datetime", "Computer.last_inventory_update"),
        _c(10, "Last boot date", "Computer", "last_boot", "datetime", "Computer.last_boot"),
        _c(16, "Comments", "Computer", "comment", "text", "Computer.comment"),
        _c(19, "Last update", "Computer", "date_mod", "datetime", "Computer.date_mod"),
        _c(121, "Creation date", "Computer", "date_creation", "datetime", "Computer.date_creation"),
        _c(23, "Manufacturer", "Manufacturer", "name", "dropdown", "Computer.Manufacturer.name",
           ("fk", "manufacturers_id")),
        _c(80, "Entity", "Entity", "completename", "dropdown", "Computer.Entity.completename", ("fk", "entities_id")),
        _c(45, "Name", "OperatingSystem", "name", "dropdown", "Computer.Item_OperatingSystem.OperatingSystem.name",
           ("items", "Item_OperatingSystem", "operatingsystems_id"), group="operatingsystem"),
        _c(46, "Version", "OperatingSystemVersion", "name", "dropdown",
           "Computer.Item_OperatingSystem.OperatingSystemVersion.name",
           ("items", "Item_OperatingSystem", "operatingsystemversions_id"), group="operatingsystem"),
        _c(17, "Processor", "DeviceProcessor", "designation", "string",
           "Computer.Item_DeviceProcessor.DeviceProcessor.designation",
           ("items", "Item_DeviceProcessor", "deviceprocessors_id"), group="processor"),
    ]},
    "Ticket": {o.id: o for o in [
        _c(1, "Title", "Ticket", "name", "itemlink", "Ticket.name"),
        _c(2, "ID", "Ticket", "id", "number", "Ticket.id"),
        _c(12, "Status", "Ticket", "status", "specific", "Ticket.status", searchtypes=("equals",)),
        _c(10, "Urgency", "Ticket", "urgency", "specific", "Ticket.urgency", searchtypes=("equals",)),
        _c(11, "Impact", "Ticket", "impact", "specific", "Ticket.impact", searchtypes=("equals",)),
        _c(3, "Priority", "Ticket", "priority", "specific", "Ticket.priority", searchtypes=("equals",)),
        _c(15, "Opening date", "Ticket", "date", "datetime", "Ticket.date"),
        _c(16, "Closing date", "Ticket", "closedate", "datetime", "Ticket.closedate"),
        _c(17, "Resolution date", "Ticket", "solvedate", "datetime", "Ticket.solvedate"),
        _c(18, "Time to resolve", "Ticket", "time_to_resolve", "datetime", "Ticket.time_to_resolve"),
        _c(19, "Last update", "Ticket", "date_mod", "datetime", "Ticket.date_mod"),
        _c(7, "Category", "ITILCategory", "completename", "dropdown", "Ticket.ITILCategory.completename",
           ("fk", "itilcategories_id")),
        _c(4, "Requester", "User", "name", "dropdown", "Ticket.Ticket_User.User.name",
           ("child", "Ticket_User", "tickets_id", 1, "users_id")),
        _c(71, "Requester group", "Group", "completename", "dropdown", "Ticket.Group_Ticket.Group.completename",
           ("child", "Group_Ticket", "tickets_id", 1, "groups_id")),
        _c(5, "Technician", "User", "name", "dropdown", "Ticket.Ticket_User.User.name",
           ("child", "Ticket_User", "tickets_id", 2, "users_id")),
        _c(8, "Technician group", "Group", "completename", "dropdown", "Ticket.Group_Ticket.Group.completename",
           ("child", "Group_Ticket", "tickets_id", 2, "groups_id")),
    ]},
}
HEADINGS = {"common": CHARACTERISTICS, "operatingsystem": "Operating System", "processor": "Processor"}
# glpi_displaypreferences of users_id 0, by rank (install/empty_data.php:830-940)
DISPLAY_PREFS = {"Computer": [31, 23, 5, 4, 40, 45, 3, 19, 17], "Ticket": [12, 19, 15, 3, 4, 5, 7, 18]}
# Ticket status groups used by the search on option 12 (Search.php:5035-5085)
STATUS_WORDS = {"notold": [1, 2, 3, 4], "old": [5, 6], "process": [2, 3], "notclosed": [1, 2, 3, 4, 5],
                "all": [1, 2, 3, 4, 5, 6]}


class BadSearch(Exception):
    pass


def searchtypes(option: Option, store) -> list[str]:
    """Search::getActionsFor (src/Search.php:8420-8580), without the 'searchopt' entry."""
    if option.searchtypes:
        return list(option.searchtypes)
    if option.datatype == "number":
        return ["contains", "notcontains"]
    if option.datatype == "datetime":
        return ["equals", "notequals", "lessthan", "morethan", "contains", "notcontains"]
    if option.field in ("name", "completename"):
        tree = option.table_itemtype in {"Location", "State", "Entity", "ITILCategory", "Group"}
        return ["contains", "notcontains", "equals", "notequals"] + (["under", "notunder"] if tree else [])
    if option.field == "id":
        return ["equals", "notequals"]
    return ["contains", "notcontains"]


def list_options(itemtype: str, store) -> dict:
    """API::listSearchOptions (src/Api/API.php:1378-1440): headings become {"name": …}."""
    out: dict[str, object] = {}
    for option in OPTIONS[itemtype].values():
        if option.group not in out:
            out[option.group] = {"name": HEADINGS[option.group]}
        out[str(option.id)] = {"name": option.name, "table": ITEMTYPES[option.table_itemtype].table,
                               "field": option.field, "datatype": option.datatype, "nosearch": False,
                               "nodisplay": False, "available_searchtypes": searchtypes(option, store),
                               "uid": option.uid}
    return out


def cell(store, itemtype: str, row: dict, option: Option) -> list[tuple[object, object]]:
    """(value, id of the joined row) pairs a row has for an option; [(None, None)] when the join finds nothing."""
    kind = option.path[0] if option.path else None
    if kind is None:
        return [(row.get(option.field), row["id"])]
    if kind == "fk":  # LEFT JOIN on the foreign key: 0 or a missing row gives NULL
        value = row.get(option.path[1])
        target = store.get(option.table_itemtype, value) if isinstance(value, int) else None
        return [(target.get(option.field), target["id"])] if target else [(None, None)]
    if kind == "items":
        relations = store.find(option.path[1], itemtype=itemtype, items_id=row["id"])
    else:
        relations = store.find(option.path[1], **{option.path[2]: row["id"], "type": option.path[3]})
    fk = option.path[-1]
    found = []
    for relation in relations:
        target = store.get(option.table_itemtype, relation.get(fk) or 0)
        if target is not None and (target.get(option.field), target["id"]) not in found:
            found.append((target.get(option.field), target["id"]))  # GROUP_CONCAT(DISTINCT …)
    return found or [(None, None)]


def _number(value: object) -> float:
    """MySQL's string → number conversion: the leading numeric part, else 0."""
    match = re.match(r"\s*[-+]?(\d+(\.\d*)?|\.\d+)", str(value))
    return float(match.group(0)) if match else 0.0


def _like(pattern: str, value: object) -> bool:
    if value is None:
        return False
    regex = "".join(".*" if tok == "%" else "_" if tok == "\\_" else re.escape(tok)
                    for tok in re.findall(r"\\_|%|.", ci(pattern), flags=re.S))
    return re.fullmatch(regex, ci(value), flags=re.S) is not None


def _like_pattern(value: str) -> tuple[str, str]:
    """Search::makeTextSearchValue (src/Search.php:9272-9330) and makeTextSearch: ("like", pattern), or "null"
    (IS NULL: '', '^$', '$') or "null_or_empty" ('NULL', makeTextCriteria :9228 adds `OR field = ''`)."""
    value = value.replace("_", "\\_")
    if value in ("NULL", "null"):
        return "null_or_empty", ""
    value = value.strip()
    if value == "^":
        return "like", "%"
    if value in ("", "^$", "$"):
        return "null", ""  # '' == null in PHP: makeTextSearch answers IS NULL
    value = value[1:].lstrip() if value.startswith("^") else "%" + value
    return "like", value[:-1].rstrip() if value.endswith("$") else value + "%"


def text_match(text: str, value: object, negate: bool = False) -> bool:
    """makeTextCriteria: `field LIKE …`, negated `(field NOT LIKE … OR field IS NULL)`."""
    kind, pattern = _like_pattern(text)
    if kind == "null":
        found = value is None
    elif kind == "null_or_empty":
        found = value is None or value == ""
    else:
        found = _like(pattern, value)
    if not negate:
        return found
    return value is None or not found if kind == "like" else not found


def _date_compare(op: str, text: str, value: object) -> bool:
    if value is None:
        return False
    text = text.strip()
    if re.fullmatch(r"-?\s*\d+(\.\d+)?", text):  # relative, in months (searchunit MONTH): ADDDATE(NOW(), …)
        months = float(text.replace(" ", ""))
        bound = (datetime.now() + timedelta(days=30.44 * months)).strftime("%Y-%m-%d %H:%M:%S")
    else:
        bound = re.sub(r"(\d{1,2})[-/](\d{1,2})[-/](\d{4})", r"\3-\2-\1", text)
    return {"<": value < bound, "<=": value <= bound, ">": value > bound, ">=": value >= bound}[op]


def matches(store, itemtype: str, row: dict, option: Option, searchtype: str, value: str) -> bool:
    """One criterion against one row (Search::addWhere). True when the row belongs in the result."""
    pairs = cell(store, itemtype, row, option)
    own_table = not option.path
    if itemtype == "Ticket" and option.field == "status":
        wanted = STATUS_WORDS.get(value) or [int(_number(value))]
        return any(v in wanted for v, _ in pairs)
    if itemtype == "Ticket" and option.field in ("priority", "urgency", "impact"):
        number = int(_number(value))
        return any(v == number if number > 0 else v >= abs(number) for v, _ in pairs)
    if searchtype in ("equals", "notequals"):
        if option.datatype == "datetime":
            ok = any(text_match("^" + re.sub(r":00$", "", value), v) for v, _ in pairs)
        elif option.datatype == "number" and own_table:
            ok = any(v is not None and float(v) == _number(value) for v, _ in pairs)
        elif option.datatype == "itemlink" or not own_table:
            # `table`.`id` = 'value' (+ OR id IS NULL when the value is 0)
            ok = any((i is not None and float(i) == _number(value)) or (i is None and _number(value) == 0)
                     for _, i in pairs)
        else:
            ok = any(v is not None and ci(v) == ci(value) for v, _ in pairs)
        return ok if searchtype == "equals" else not ok
    if searchtype in ("lessthan", "morethan") and option.datatype == "datetime":
        return any(_date_compare("<" if searchtype == "lessthan" else ">", value, v) for v, _ in pairs)
    negate = searchtype == "notcontains"
    comparison = re.fullmatch(r"\s*([<>])(=?)(.+)", value)
    if option.datatype == "datetime" and comparison:
        op = comparison.group(1) + comparison.group(2)
        if negate:
            op = {"<": ">", ">": "<", "<=": ">=", ">=": "<="}[op]
        return any(_date_compare(op, comparison.group(3), v) for v, _ in pairs)
    if option.datatype == "number":
        numeric = re.search(r"([<>])(=?)\s*(-?)\s*([0-9]+(.[0-9]+)?)", value)
        if numeric:
            bound = float(numeric.group(3) + numeric.group(4))
            op = numeric.group(1) + numeric.group(2)
            if negate:
                op = {"<": ">", ">": "<", "<=": ">=", ">=": "<="}[op]
            return any(v is not None and {"<": v < bound, "<=": v <= bound, ">": v > bound,
                                          ">=": v >= bound}[op] for v, _ in pairs)
        if re.fullmatch(r"\s*[-+]?(\d+(\.\d*)?|\.\d+)\s*", value):
            ok = any(v is not None and float(v) == float(value) for v, _ in pairs)
            return not ok if negate else ok
    return any(text_match(value, v, negate) for v, _ in pairs)


def _evaluate(store, itemtype: str, row: dict, criteria: list[dict]) -> bool | None:
    """AND binds tighter than OR, as in the SQL GLPI builds (Search::constructCriteriaSQL :1164)."""
    groups: list[list[bool]] = []
    for criterion in criteria:
        if "criteria" in criterion:
            result = _evaluate(store, itemtype, row, criterion["criteria"])
            if result is None:
                continue
        else:
            if criterion.get("value") is None or str(criterion["value"]) == "":
                continue
            option = OPTIONS[itemtype][int(criterion["field"])]
            result = matches(store, itemtype, row, option, str(criterion["searchtype"]), str(criterion["value"]))
        link = str(criterion.get("link") or "AND").upper()
        if link.endswith("NOT"):
            result = not result
        if groups and link.startswith("OR"):
            groups.append([result])
        elif groups:
            groups[-1].append(result)
        else:
            groups.append([result])
    return any(all(g) for g in groups) if groups else None


def columns(store, itemtype: str, criteria: list[dict], forcedisplay: list[int], sort: list[int]) -> list[int]:
    toview: list[int] = [1]
    kind_has_entity = itemtype == "Computer" and len(store.tables["Entity"]) > 1
    if kind_has_entity:
        toview.append(80)  # Search::addDefaultToView (:3822) in multi-entity mode
    toview += forcedisplay if forcedisplay else DISPLAY_PREFS.get(itemtype, [])

    def walk(items):
        for criterion in items:
            if "criteria" in criterion:
                walk(criterion["criteria"])
            elif "field" in criterion and str(criterion["field"]).isdigit():
                toview.append(int(criterion["field"]))
    walk(criteria)
    toview += sort
    if itemtype == "Ticket":
        toview.insert(0, 2)
    seen: list[int] = []
    for oid in toview:
        if oid in OPTIONS[itemtype] and oid not in seen:
            seen.append(oid)
    return seen


def _sort_key(value: object):
    if isinstance(value, list):
        value = value[0] if value else None
    if value is None:
        return (0, 0, "")
    if isinstance(value, (int, float)):
        return (1, value, "")
    return (1, 0, ci(value))


def search(store, itemtype: str, criteria: list[dict], forcedisplay: list[int], sort: list[int], order: list[str],
           start: int, limit: int, is_deleted: bool) -> tuple[int, list[dict]]:
    """(totalcount, [(id, row keyed by option id)] of the page); the trash only with is_deleted."""
    cols = columns(store, itemtype, criteria, forcedisplay, sort)
    found = []
    for row in store.tables[itemtype].values():
        if row.get("is_deleted", 0) != (1 if is_deleted else 0) or row.get("is_template"):
            continue
        if _evaluate(store, itemtype, row, criteria) is False:
            continue
        line = {}
        for oid in cols:
            values = [v for v, _ in cell(store, itemtype, row, OPTIONS[itemtype][oid])]
            line[str(oid)] = values[0] if len(values) == 1 else values
        found.append((row["id"], line))
    found.sort(key=lambda pair: pair[0])
    for oid, direction in reversed(list(zip(sort, order + ["ASC"] * len(sort)))):
        found.sort(key=lambda pair: _sort_key(pair[1].get(str(oid))), reverse=str(direction).upper() == "DESC")
    return len(found), found[start:start + limit]
