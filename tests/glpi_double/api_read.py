"""The reading endpoints of the double's `apirest.php`: an item with its `with_*` parts, lists and sub-items with
their paging headers, and `search/:itemtype` (src/Api/API.php and APIRest.php of GLPI 10.0.12)."""
from __future__ import annotations

import re

try:
    from . import search as searching
    from .schema import BY_TABLE, DEVICE_TYPES, ITEMTYPES, UNDISCLOSED, fk_of, foreign_table
    from .store import ci
except ImportError:
    import search as searching
    from schema import BY_TABLE, DEVICE_TYPES, ITEMTYPES, UNDISCLOSED, fk_of, foreign_table
    from store import ci

MAX_INPUT_VARS = 1000  # Toolbox::get_max_input_vars(), PHP's default, in Accept-Range


def truthy(value) -> bool:
    """PHP truthiness of a parameter: "0", "" and "false"-converted False are false."""
    return value not in (None, False, "", "0", 0, [], {})


def php_list(value) -> list:
    return list(value.values()) if isinstance(value, dict) else value if isinstance(value, list) else [value]


def itemtype_for_table(table: str) -> str:
    """DbUtils::getItemTypeForTable (src/DbUtils.php:239): known tables, else the singular CamelCase guess."""
    if table in BY_TABLE:
        return BY_TABLE[table].name
    parts = table[len("glpi_"):].split("_")
    return "_".join(re.sub(r"ies$", "y", re.sub(r"(?<!s)s$", "", p)).capitalize() for p in parts)


class Reading:
    """Mixed into Api: needs self.store, self.api_url, self.error, self._list_limit, self._searchable."""

    def _dropdown_name(self, table: str, value) -> str:
        """Dropdown::getDropdownName($table, $id, false, true, false, '') (src/Dropdown.php:475)."""
        kind = BY_TABLE.get(table)
        row = self.store.get(kind.name, value) if kind and isinstance(value, int) else None
        if kind is None or row is None:
            return ""
        if kind.tree:
            return row.get("completename") or ""
        name = row.get(kind.name_field)
        if table == "glpi_computers" and not name:
            return f"({value})"
        return name or ""

    def parse_dropdowns(self, fields, expand: bool, hateoas: bool = True):
        """API::parseDropdowns (src/Api/API.php:2463-2525): every `*_id` key, recursively, gets a hateoas link
        and, with expand_dropdowns, its dropdown name; `items_id` follows `itemtype`."""
        if isinstance(fields, list):
            return [self.parse_dropdowns(v, expand, hateoas) if isinstance(v, (dict, list)) else v for v in fields]
        out = {}
        links = []
        for key, value in fields.items():
            if isinstance(value, (dict, list)):
                value = self.parse_dropdowns(value, expand, hateoas)
            name = key
            if isinstance(key, str) and foreign_table(key):
                if key == "items_id" and fields.get("itemtype") in ITEMTYPES:
                    name = fk_of(fields["itemtype"])
                if key == "default_requesttypes_id":
                    name = "requesttypes_id"
                table = foreign_table(name)
                if truthy(value) or (name == "entities_id" and not isinstance(value, (dict, list))):
                    if hateoas and isinstance(value, int) and not isinstance(value, bool):
                        rel = itemtype_for_table(table)
                        links.append({"rel": rel, "href": f"{self.api_url}/{rel}/{value}"})
                    if expand:
                        value = self._dropdown_name(table, value)
            out[key] = value
        if links:
            out["links"] = out.get("links", []) + links
        return out

    def _children(self, itemtype: str, fields: dict) -> dict:
        for hclass in ITEMTYPES[itemtype].children:                        # API.php:1008-1014
            fields.setdefault("links", []).append(
                {"rel": hclass, "href": f"{self.api_url}/{itemtype}/{fields['id']}/{hclass}/"})
        return fields

    def _get_item(self, itemtype: str, item_id: int, params: dict) -> dict:
        """API::getItem (src/Api/API.php:558-1022)."""
        row = self.store.get(itemtype, item_id)
        if row is None:
            self.error("Item not found", 404, "ERROR_ITEM_NOT_FOUND", doc=False)   # API.php:2636
        fields = {k: v for k, v in row.items() if k not in UNDISCLOSED.get(itemtype, ())}
        if truthy(params.get("with_devices")) and itemtype == "Computer":       # API.php:598-631
            devices = {}
            for device in DEVICE_TYPES:
                relation = "Item_" + device
                if relation in ITEMTYPES:
                    found = {r["id"]: {k: v for k, v in r.items() if k not in ("items_id", "itemtype", "is_deleted")}
                             for r in self.store.find(relation, items_id=item_id, itemtype=itemtype, is_deleted=0)}
                    if found:
                        devices[relation] = found
            fields["_devices"] = devices or []
        if truthy(params.get("with_disks")) and itemtype == "Computer":         # API.php:633-665
            disks = []
            for disk in self.store.find("Item_Disk", items_id=item_id, itemtype=itemtype, is_deleted=0):
                filesystem = self.store.get("Filesystem", disk["filesystems_id"]) or {}
                data = {"fsname": filesystem.get("name"), **disk}
                disks.append({"name": {k: v for k, v in data.items() if k not in ("items_id", "is_deleted")}})
            fields["_disks"] = disks
        if truthy(params.get("with_softwares")) and itemtype == "Computer":     # API.php:667-715
            fields["_softwares"] = self._softwares(itemtype, item_id)
        if truthy(params.get("with_infocoms")):                                 # API.php:765-778
            infocoms = self.store.find("Infocom", itemtype=itemtype, items_id=item_id)
            fields["_infocoms"] = dict(infocoms[0]) if infocoms else []
        fields = self.parse_dropdowns(fields, truthy(params.get("expand_dropdowns")),
                                      truthy(params.get("get_hateoas", True)))
        if truthy(params.get("get_hateoas", True)):
            self._children(itemtype, fields)
        return fields

    def _softwares(self, itemtype: str, item_id: int) -> list[dict]:
        rows = []
        for link in self.store.find("Item_SoftwareVersion", items_id=item_id, itemtype=itemtype, is_deleted=0):
            version = self.store.get("SoftwareVersion", link["softwareversions_id"]) or {}
            software = self.store.get("Software", version.get("softwares_id") or 0) or {}
            rows.append((ci(software.get("name")), ci(version.get("name")), {
                "softwarecategories_id": software.get("softwarecategories_id"), "softwares_id": software.get("id"),
                "softwareversions_id": version.get("id"), "is_dynamic": link["is_dynamic"],
                "states_id": version.get("states_id"), "is_valid": software.get("is_valid")}))
        return [data for _, _, data in sorted(rows, key=lambda r: (r[0], r[1]))]  # ORDER BY software, version

    def _get_items(self, itemtype: str, params: dict):
        """API::getItems (src/Api/API.php:1063-1318) and the headers of APIRest::call (:269-292)."""
        kind, limit = ITEMTYPES[itemtype], self._list_limit()
        given = params.get("range")
        text = given if given is not None else f"0-{limit - 1}"
        if not isinstance(text, str) or not re.fullmatch(r"[0-9]+-[0-9]+", text):
            self.error("range must be in format : [start-end] with integers")
        start, end = (int(x) for x in text.split("-"))
        order = str(params.get("order", "ASC"))
        if order.upper() not in ("ASC", "DESC"):
            self.error("order must be DESC or ASC")
        sort = str(params.get("sort", "id"))
        if not kind.has(sort):
            self.error(f"sort param is not a field of {kind.table}")
        rows = list(self.store.tables[itemtype].values())
        if kind.has("is_deleted"):
            deleted = 1 if truthy(params.get("is_deleted")) else 0
            rows = [r for r in rows if r["is_deleted"] == deleted]
        if "parent_itemtype" in params:
            rows = self._children_of(itemtype, params["parent_itemtype"], params.get("parent_id"), rows)
        if isinstance(params.get("searchText"), dict):
            for column, value in params["searchText"].items():
                if value and kind.has(column):
                    rows = [r for r in rows if searching.text_match(str(value), r[column])]
        rows.sort(key=lambda r: searching._sort_key(r.get(sort)), reverse=order.upper() == "DESC")
        total = len(rows)
        if start > total:
            self.error(f"Provided range exceed total count of data: {total}", 400, "ERROR_RANGE_EXCEED_TOTAL")
        page = []
        for row in rows[start:end + 1]:
            fields = {"id": row["id"]} if truthy(params.get("only_id")) else \
                {k: v for k, v in row.items() if k not in UNDISCLOSED.get(itemtype, ())}
            fields = self.parse_dropdowns(fields, truthy(params.get("expand_dropdowns")),
                                          truthy(params.get("get_hateoas", True)))
            if truthy(params.get("get_hateoas", True)):
                self._children(itemtype, fields)
            page.append(fields)
        shown = [start, end] if given is not None else [0, limit]  # the quirk: end = list_limit, not limit - 1
        if shown[1] > total - 1:
            shown[1] = total - 1
        headers = {"Accept-Range": f"{itemtype} {MAX_INPUT_VARS}"}
        if total > 0:
            headers["Content-Range"] = f"{shown[0]}-{shown[1]}/{total}"
        return page, 206 if shown[1] - shown[0] + 1 < total else 200, headers

    def _children_of(self, itemtype, parent_type, parent_id, rows):
        """The four parent filters of API::getItems (src/Api/API.php:1135-1185)."""
        parent = self.store.get(parent_type, parent_id) if parent_id is not None else None
        if parent is None:
            self.error("Item not found", 404, "ERROR_ITEM_NOT_FOUND", doc=False)
        kind, fk_parent, fk_child = ITEMTYPES[itemtype], fk_of(parent_type), fk_of(itemtype)
        if kind.has(fk_parent):
            return [r for r in rows if r[fk_parent] == parent_id]
        if kind.has("itemtype") and kind.has("items_id"):
            return [r for r in rows if r["itemtype"] == parent_type and r["items_id"] == parent_id]
        if fk_child in parent:
            return [r for r in rows if r["id"] == parent[fk_child]]
        if "itemtype" in parent and "items_id" in parent:
            return [r for r in rows if parent["itemtype"] == itemtype and parent["items_id"] == r["id"]]
        return rows

    def _search(self, itemtype: str, params: dict):
        """API::searchItems (src/Api/API.php:1543-1779) and APIRest::call (:187-209)."""
        self._searchable(itemtype)
        options = searching.OPTIONS[itemtype]
        criteria = [c for c in php_list(params.get("criteria", [])) if isinstance(c, dict)] \
            if params.get("criteria") is not None else []

        def check(items):  # the closure returns at the first nested group, as GLPI's does
            for criterion in items:
                if "criteria" in criterion:
                    criterion["criteria"] = php_list(criterion["criteria"])
                    return check(criterion["criteria"])
                if not all(k in criterion for k in ("field", "searchtype", "value")):
                    return "Malformed search criteria"
                if not str(criterion["field"]).isdigit() or int(criterion["field"]) not in options:
                    return "Bad field ID in search criteria"
            return True
        problem = check(criteria)
        if problem is not True:
            self.error(problem)
        forced = params.get("forcedisplay")
        forced = [] if forced is None else [int(v) for v in php_list(forced)]
        forced = list(dict.fromkeys(forced))
        text = params.get("range")
        if text is not None:
            if not isinstance(text, str) or not re.fullmatch(r"[0-9]+-[0-9]+", text):
                self.error("range must be in format : [start-end] with integers")
            start, end = (int(x) for x in text.split("-"))
        else:
            start, end = 0, self._list_limit() - 1
        sort_param, order_param = params.get("sort"), params.get("order")
        sort = ["1"] if sort_param is None else php_list(sort_param) if isinstance(sort_param, (dict, list)) \
            else [int(sort_param)] if str(sort_param).lstrip("-").isdigit() and int(sort_param) >= 0 else ["1"]
        order = ["ASC"] if order_param is None else php_list(order_param) if isinstance(order_param, (dict, list)) \
            else [order_param] if order_param in ("ASC", "DESC") else ["ASC"]
        total, rows = searching.search(self.store, itemtype, criteria, forced, [int(s) for s in sort], order,
                                       start, end - start + 1, truthy(params.get("is_deleted")))
        if start > total:
            self.error(f"Provided range exceed total count of data: {total}", 400, "ERROR_RANGE_EXCEED_TOTAL")
        end = min(end, total - 1)
        cleaned = {"totalcount": total, "count": len(rows), "sort": sort, "order": order}
        if rows:
            if "uid_cols" in params:
                rows = [(i, {options[int(k)].uid: v for k, v in row.items()}) for i, row in rows]
            cleaned["data"] = {i: r for i, r in rows} if "withindexes" in params else [r for _, r in rows]
        cleaned["content-range"] = f"{start}-{end}/{total}"
        headers = {"Accept-Range": f"{itemtype} {MAX_INPUT_VARS}"}
        if total > 0:
            headers["Content-Range"] = cleaned["content-range"]
        return cleaned, 200 if cleaned["count"] >= total else 206, headers
