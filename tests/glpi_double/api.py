"""`apirest.php` of GLPI 10.0.12, as the double serves it (src/Api/APIRest.php and src/Api/API.php; line numbers
are those of that release). `Api.handle` takes one HTTP request and gives (status, headers, body)."""
from __future__ import annotations

import base64
import ipaddress
import json
import re
import secrets
import time
import urllib.parse
from email.utils import formatdate

try:
    from . import search as searching
    from .api_read import Reading, truthy
    from .schema import BY_LOWER, ITEMTYPES
    from .store import Refused, Store
except ImportError:
    import search as searching
    from api_read import Reading, truthy
    from schema import BY_LOWER, ITEMTYPES
    from store import Refused, Store

class Reply(Exception):
    """An answer sent at once (GLPI's returnResponse/returnError end the request with `exit`)."""

    def __init__(self, body, status: int = 200, headers: dict | None = None):
        self.body, self.status, self.headers = body, status, headers or {}


def parse_str(query: str) -> dict:
    """PHP's parse_str: `a[0][b]=1`, `a[]=1` become nested arrays (dicts here, keys in insertion order)."""
    out: dict = {}
    for key, value in urllib.parse.parse_qsl(query, keep_blank_values=True):
        match = re.match(r"^([^\[]+)((?:\[[^\]]*\])*)$", key)
        base = (match.group(1) if match else key).replace(".", "_").replace(" ", "_")
        subs = re.findall(r"\[([^\]]*)\]", match.group(2)) if match else []
        if not subs:
            out[base] = value
            continue
        node = out.get(base)
        if not isinstance(node, dict):
            node = out[base] = {}
        for i, sub in enumerate(subs):
            if sub == "":
                sub = str(max([int(k) for k in node if str(k).lstrip("-").isdigit()] or [-1]) + 1)
            if i == len(subs) - 1:
                node[sub] = value
            else:
                child = node.get(sub)
                if not isinstance(child, dict):
                    child = node[sub] = {}
                node = child
    return out


class Api(Reading):
    def __init__(self, store: Store, config: dict):
        self.store, self.config = store, config
        self.api_url = str(config.get("url_base_api", "http://localhost/glpi/api")).rstrip("/")  # empty_data :280
        glpi = store.get("User", 2)
        if glpi is not None and config.get("user_token"):
            glpi["api_token"] = config["user_token"]  # the token of user glpi (glpi_users.api_token)

    # --- framing ---------------------------------------------------------------------------------------------

    def error(self, message, status: int = 400, code: str = "ERROR", doc: bool = True):
        """API::returnError (src/Api/API.php:2765): `[CODE, message]`, the message pointing at the doc."""
        if doc:
            message = f"{message}; view documentation in your browser at {self.api_url}/#{code}"
        raise Reply([code, message], status)

    def handle(self, method: str, path: str, query: str, headers: dict, body: bytes,
               peer: str = "127.0.0.1") -> tuple[int, dict, bytes]:
        lower = {k.lower(): v for k, v in headers.items()}
        out = {"Content-Type": "application/json; charset=UTF-8", "Cache-Control": "no-store, no-cache, "
               "must-revalidate", "Pragma": "no-cache", "Expires": "Mon, 26 Jul 1997 05:00:00 GMT"}
        if method in ("GET", "OPTIONS"):
            out["Access-Control-Expose-Headers"] = "content-type, content-range, accept-range"  # API::cors :203
        try:
            with self.store.lock:
                result, status, extra = self._call(method, path, query, lower, body, peer)
                if method != "GET" or path.endswith(("initSession", "killSession")):
                    self.store.save()
        except Reply as reply:
            result, status, extra = reply.body, reply.status, reply.headers
            if method != "GET":
                self.store.save()
        out.update(extra)
        data = b"" if result is None else json.dumps(result, ensure_ascii=False, separators=(",", ":")).encode()
        return status, out, data

    def _call(self, method, path, query, headers, body, peer="127.0.0.1"):
        """APIRest::call (src/Api/APIRest.php:95-345)."""
        path_info = path.split("?", 1)[0]
        for prefix in ("/apirest.php", "/api"):
            if path_info.startswith(prefix):
                path_info = path_info[len(prefix):]
                break
        path_info = urllib.parse.unquote(path_info).strip("/").replace("api/", "")
        elements = path_info.split("/")
        resource = elements[0].strip()
        params = self._params(method, query, headers, body)
        if not self.config.get("enable_api", True):
            self.error("API disabled", doc=False)                          # API::initApi :145
        params["_app_tokens"] = self._clients_for(peer)
        if resource == "":
            raise Reply("GLPI REST API double: see apirest.md of GLPI 10.0", 200)
        if resource not in ("initSession", "lostPassword"):
            self._check_app_token(params)                                  # API::initEndpoint :2198
            user_id = self._check_session(params)
        if resource == "initSession":
            return self._init_session(params), 200, {}
        if resource == "killSession":
            self.store.sessions.pop(params["session_token"], None)
            return True, 200, {}                                           # API::killSession :310
        if resource == "getFullSession":
            return {"session": self._session(user_id)}, 200, {}
        if resource == "listSearchOptions":
            itemtype = self._itemtype(elements, 1)
            self._searchable(itemtype)
            return searching.list_options(itemtype, self.store), 200, {}
        if resource == "search":
            return self._search(self._itemtype(elements, 1), params)
        itemtype = self._itemtype(elements, 0)
        if len(elements) > 2:
            params["parent_itemtype"], itemtype = itemtype, self._itemtype(elements, 2)
        item_id = int(elements[1]) if len(elements) > 1 and elements[1].isdigit() else None
        extra_id = int(elements[3]) if len(elements) > 3 and elements[3].isdigit() else None
        if extra_id or "parent_itemtype" in params:
            params["parent_id"], item_id = item_id, extra_id
        if method in ("POST",):
            return self._create(itemtype, params, user_id)
        if method in ("PUT", "PATCH"):
            if "input" not in params:
                self._bad_array()
            if (item_id or (item_id == 0 and itemtype == "Entity")) and isinstance(params["input"], dict):
                params["input"].setdefault("id", item_id)
            return self._update(itemtype, params, user_id)
        if method == "DELETE":
            if item_id is not None:
                params["input"] = {"id": item_id}
            return self._delete(itemtype, params)
        if item_id or (item_id == 0 and itemtype == "Entity"):
            fields = self._get_item(itemtype, item_id, params)
            extra = {}
            if fields.get("date_mod"):
                stamp = time.mktime(time.strptime(str(fields["date_mod"]), "%Y-%m-%d %H:%M:%S"))
                extra["Last-Modified"] = formatdate(stamp, usegmt=True)            # APIRest.php:262-266
            return fields, 200, extra
        return self._get_items(itemtype, params)

    def _params(self, method, query, headers, body) -> dict:
        """APIRest::parseIncomingParams (src/Api/APIRest.php:443-600)."""
        params = parse_str(query or "")
        text = body.decode("utf-8", errors="replace").strip() if body else ""
        if text and method == "GET":
            self.error("GET Request should not have json payload (http body)", 400, "ERROR_JSON_PAYLOAD_FORBIDDEN")
        if "application/json" in headers.get("content-type", "application/json") and text:
            try:
                decoded = json.loads(text)
            except ValueError:
                decoded = None
            if not decoded:
                self.error("JSON payload seems not valid", 400, "ERROR_JSON_PAYLOAD_INVALID", doc=False)
            if isinstance(decoded, dict):
                params.update(decoded)
        auth = headers.get("authorization", "")
        if auth.lower().startswith("basic "):
            try:
                login, _, password = base64.b64decode(auth[6:]).decode().partition(":")
                params["login"], params["password"] = login, password
            except ValueError:
                pass
        if "user_token" in auth:
            parts = auth.split(" ")
            if len(parts) > 1:
                params["user_token"] = parts[1]
        if "session-token" in headers:
            params["session_token"] = headers["session-token"]
        if "app-token" in headers:
            params["app_token"] = headers["app-token"]
        return {k: (True if v == "true" else False if v == "false" else v) for k, v in params.items()}

    # --- sessions --------------------------------------------------------------------------------------------

    def _clients_for(self, peer: str) -> list[str]:
        """The app tokens of the active API clients whose range holds the caller's address (API::initApi,
        src/Api/API.php:150-187): GLPI's own "full access from localhost" client (127.0.0.1 and ::1, no app token:
        install/empty_data.php:53-62), the config's `api_clients`, and — the double's older form — a global
        `app_token` valid from anywhere. No client for the address: 400 ERROR_NOT_ALLOWED_IP."""
        clients = [{"ipv4_range": ["127.0.0.1", "127.0.0.1"], "ipv6": "::1", "app_token": None}]
        clients += self.config.get("api_clients") or []
        if self.config.get("app_token"):
            clients.append({"ipv4_range": None, "app_token": self.config["app_token"]})
        tokens = []
        for client in clients:
            if ":" in peer:
                allowed = client.get("ipv6") in (None, peer)
            elif client.get("ipv4_range") is None:
                allowed = True
            else:
                low, high = (ipaddress.IPv4Address(a) for a in client["ipv4_range"])
                allowed = low <= ipaddress.IPv4Address(peer) <= high
            if allowed:
                tokens.append(client.get("app_token") or "")
        if not tokens:
            self.error("There isn't an active API client matching your IP address in the configuration "
                       f"({peer})", 400, "ERROR_NOT_ALLOWED_IP", doc=False)
        return tokens

    def _check_app_token(self, params) -> None:
        """API::checkAppToken (src/Api/API.php:2219-2241): the token must be one of the matching clients'; a NULL
        app_token matches "" (PHP's loose array_search), so no token is needed where such a client matches."""
        given = params.get("app_token") or ""
        if given not in params.get("_app_tokens", [""]):
            if given:
                self.error("parameter app_token seems wrong", 400, "ERROR_WRONG_APP_TOKEN_PARAMETER")
            self.error("missing parameter app_token", 400, "ERROR_APP_TOKEN_PARAMETERS_MISSING")

    def _check_session(self, params) -> int:
        """API::checkSessionToken (src/Api/API.php:2293-2316)."""
        token = params.get("session_token")
        if not token:
            self.error("parameter session_token is missing or empty", 400, "ERROR_SESSION_TOKEN_MISSING")
        if token not in self.store.sessions:
            self.error("session_token seems invalid", 401, "ERROR_SESSION_TOKEN_INVALID", doc=False)
        return self.store.sessions[token]

    def _init_session(self, params) -> dict:
        """API::initSession (src/Api/API.php:228-303)."""
        self._check_app_token(params)
        token, login, password = params.get("user_token"), params.get("login"), params.get("password")
        if not token and not (login and password):
            self.error("parameter(s) login, password or user_token are missing", 400, "ERROR_LOGIN_PARAMETERS_MISSING")
        if token:
            users = [u for u in self.store.find("User", api_token=str(token)) if u["is_active"]]
            if not users:
                self.error("parameter user_token seems invalid", 401, "ERROR_GLPI_LOGIN_USER_TOKEN", doc=False)
            user_id = users[0]["id"]
        else:
            if not self.config.get("enable_api_login_credentials", True):
                self.error("usage of initSession resource with credentials is disabled", 400,
                           "ERROR_LOGIN_WITH_CREDENTIALS_DISABLED", doc=False)
            users = self.store.find("User", name=str(login))
            known = self.config.get("users", {}).get(str(login))
            if not users or password != known or not users[0]["is_active"]:
                self.error("Incorrect username or password", 401, "ERROR_GLPI_LOGIN", doc=False)  # Auth.php:164
            user_id = users[0]["id"]
        session = secrets.token_hex(16)
        self.store.sessions[session] = user_id
        answer = {"session_token": session}
        if truthy(params.get("get_full_session")):
            answer["session"] = self._session(user_id)
        return answer

    def _session(self, user_id: int) -> dict:
        user = self.store.get("User", user_id) or {}
        return {"glpiID": user_id, "glpiname": user.get("name"), "glpiactive_entity": 0,
                "glpiactiveentities": [0], "glpilist_limit": self._list_limit(), "glpiactiveprofile": {
                    "id": 4, "name": "Super-Admin", "interface": "central"}}

    def _list_limit(self) -> int:
        return int(self.config.get("list_limit", 20))  # glpi_users.list_limit of user glpi: 20 (empty_data :8370)

    # --- itemtypes -------------------------------------------------------------------------------------------

    def _itemtype(self, elements: list[str], index: int) -> str:
        """APIRest::getItemtype (src/Api/APIRest.php:360-415): a CommonDBTM class, any case."""
        if index >= len(elements) or not elements[index]:
            self.error("missing resource", 400, "ERROR_RESOURCE_MISSING")
        name = BY_LOWER.get(elements[index].lower())
        if name is None:
            self.error("resource not found or not an instance of CommonDBTM", 400,
                       "ERROR_RESOURCE_NOT_FOUND_NOR_COMMONDBTM")
        return name

    def _searchable(self, itemtype: str) -> None:
        if itemtype not in searching.OPTIONS:
            self.error(f"the GLPI double has no search options for {itemtype}", 400)

    def _bad_array(self):
        self.error("input parameter must be an array of objects", 400, "ERROR_BAD_ARRAY")

    # --- writing ---------------------------------------------------------------------------------------------

    def _create(self, itemtype: str, params: dict, user_id: int):
        """API::createItems (src/Api/API.php:1788-1885) and the 201 + Location of APIRest::call (:295-313)."""
        given = params.get("input")
        if not isinstance(given, (dict, list)):
            self._bad_array()
        multiple = isinstance(given, list)
        results, failed = [], 0
        for item in (given if multiple else [given]):
            if not isinstance(item, dict):
                failed += 1
                results.append({"id": False, "message": "You don't have permission to perform this action."})
                continue
            item = dict(item)
            item.setdefault("entities_id", 0)  # $_SESSION['glpiactive_entity']
            try:
                row = self.store.add(itemtype, item, user_id)
            except Refused as refused:
                failed += 1
                results.append({"id": False, "message": str(refused)})
                continue
            results.append({"id": row["id"], "message": f"Item successfully added: {self._display(itemtype, row)}"})
        if not multiple:
            if failed:
                self.error(results[0]["message"], 400, "ERROR_GLPI_ADD", doc=False)
            return results[0], 201, {"location": f"{self.api_url}/{itemtype}/{results[0]['id']}"}
        if failed == len(results):
            self.error(results, 400, "ERROR_GLPI_ADD", doc=False)
        if failed:
            self.error(results, 207, "ERROR_GLPI_PARTIAL_ADD", doc=False)
        links = ",".join(f"{self.api_url}/{itemtype}/{r['id']}" for r in results if r["id"])
        return results, 201, {"link": links}

    def _display(self, itemtype: str, row: dict) -> str:
        """CommonDBTM::addMessageOnAddAction (src/CommonDBTM.php:1481): the name, "Type - ID n" without one, the
        name and id for ITIL objects (forceid)."""
        name = row.get(ITEMTYPES[itemtype].name_field)
        if not name:
            return f"{itemtype} - ID {row['id']}"
        return f"{name} ({row['id']})" if ITEMTYPES[itemtype].itil else str(name)

    def _update(self, itemtype: str, params: dict, user_id: int):
        """API::updateItems (src/Api/API.php:1919-2014): a list even for one item."""
        given = params["input"]
        if not isinstance(given, (dict, list)):
            self._bad_array()
        multiple = isinstance(given, list)
        results, failed = [], 0
        for item in (given if multiple else [given]):
            if not isinstance(item, dict) or "id" not in item:
                results.append([])
                continue
            if self.store.get(itemtype, item["id"]) is None:
                failed += 1
                continue  # GLPI's `continue` skips the append: the error message is then null
            self.store.update(itemtype, item["id"], {k: v for k, v in item.items() if k != "id"}, user_id)
            results.append({str(item["id"]): True, "message": ""})
        if failed and (not multiple or failed == len(given)):
            first = results[0]["message"] if results and isinstance(results[0], dict) else None
            self.error(first if not multiple else results, 400, "ERROR_GLPI_UPDATE", doc=False)
        if failed:
            self.error(results, 207, "ERROR_GLPI_PARTIAL_UPDATE", doc=False)
        return results, 200, {}

    def _delete(self, itemtype: str, params: dict):
        """API::deleteItems (src/Api/API.php:2032-2125); 200 with a list (apirest.md says 204)."""
        given = params.get("input")
        if not isinstance(given, (dict, list)):
            self._bad_array()
        multiple = isinstance(given, list)
        force = params.get("force_purge", False)
        force = force is True or str(force).lower() in ("1", "true", "on", "yes")
        results, failed = [], 0
        for item in (given if multiple else [given]):
            if not isinstance(item, dict) or "id" not in item:
                continue
            row = self.store.get(itemtype, item["id"])
            if row is None:
                failed += 1
                results.append({str(item["id"]): False, "message": "Item not found"})
                continue
            if force or self.store.must_purge(itemtype, row):
                self.store.purge(itemtype, row["id"])
            else:
                self.store.modify(itemtype, row["id"], {"is_deleted": 1})
            results.append({str(item["id"]): True, "message": ""})
        if failed and (not multiple or failed == len(given)):
            self.error(results[0]["message"] if not multiple else results, 400, "ERROR_GLPI_DELETE", doc=False)
        if failed:
            self.error(results, 207, "ERROR_GLPI_PARTIAL_DELETE", doc=False)
        return results, 200, {}

