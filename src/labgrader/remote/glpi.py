"""The parc's inventory and tickets as GLPI holds them, through GLPI's REST API (`apirest.php`, GLPI 10.0).

Client: a thin one on urllib, like `web.py`, rather than glpi-api or glpi-utils. The calls are few (a session,
items with their sub-items, lists, search, add/update/delete), and the grader must own GLPI's contract where the
libraries blur it: an error is the JSON list `[CODE, message]`, a page short of the total is 206 with a
`Content-Range`, a search with no row has no `data` key, a DELETE answers 200. Every call is recorded as evidence
(tokens redacted) so an evaluator sees what GLPI answered; `tests/glpi_double/` serves exactly these calls.

Sources: GLPI 10.0's `apirest.md` and `src/Api/API.php`, `src/Api/APIRest.php` (cited in the double)."""
from __future__ import annotations

import base64
import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Iterable

from .base import HostUnreachable, ProtocolError
from .evidence import Recorder
from .tls import TlsPolicy

TIMEOUT_S = 20
MAX_BODY = 8 << 20  # a computer with its software list is a few hundred kB
PAGE = 200  # rows per page: lists and searches are read whole, page by page


@dataclass(frozen=True)
class Criterion:
    """One `criteria[i]` of a search: a search option id (`listSearchOptions`), how to compare, the value."""
    field: int
    value: str
    searchtype: str = "contains"
    link: str = "AND"


@dataclass(frozen=True)
class SearchResult:
    total: int
    rows: list[dict]


class GlpiRefused(ProtocolError):
    """GLPI answered a call with one of its error codes (`["ERROR_…", "message"]`)."""

    def __init__(self, host: str, call: str, status: int, code: str, message: str):
        self.status, self.code = status, code
        super().__init__(f"{host} : GLPI a refusé « {call} » (HTTP {status}, {code}) : {message[:300]}")


def error_of(status: int, body: bytes) -> tuple[str, str]:
    """(code, message) of a GLPI error body, e.g. `["ERROR_ITEM_NOT_FOUND", "Item not found"]`."""
    try:
        parsed = json.loads(body or b"null")
    except ValueError:
        parsed = None
    if isinstance(parsed, list) and parsed and isinstance(parsed[0], str):
        return parsed[0], str(parsed[1]) if len(parsed) > 1 else ""
    return f"HTTP_{status}", body[:300].decode("utf-8", errors="replace")


def content_range_total(header: str | None) -> int | None:
    """The total of a `Content-Range: 0-49/123` header (GLPI sends none when there is no row)."""
    if not header or "/" not in header:
        return None
    try:
        return int(header.rsplit("/", 1)[1])
    except ValueError:
        return None


def query(params: dict[str, Any]) -> str:
    """A query string as GLPI reads it: booleans as true/false, lists as `name[]` or `name[i][key]`."""
    pairs: list[tuple[str, str]] = []
    for name, value in params.items():
        if isinstance(value, bool):
            pairs.append((name, "true" if value else "false"))
        elif isinstance(value, (list, tuple)):
            for i, element in enumerate(value):
                if isinstance(element, dict):
                    pairs += [(f"{name}[{i}][{key}]", str(v)) for key, v in element.items()]
                else:
                    pairs.append((f"{name}[]", str(element)))
        elif value is not None:
            pairs.append((name, str(value)))
    return urllib.parse.urlencode(pairs)


class Glpi:
    """One GLPI, one API session for a whole run (opened at the first call, killed by `close`)."""

    def __init__(self, name: str, url: str, *, user_token: str | None = None, app_token: str | None = None,
                 user: str | None = None, password: str | None = None, tls: TlsPolicy = TlsPolicy(),
                 recorder: Recorder):
        if not user_token and not (user and password):
            raise ValueError("GLPI needs a user token or a login and password")
        self.name, self.url = name, url.rstrip("/")
        self._user_token, self._app_token, self._user, self._password = user_token, app_token, user, password
        self._tls, self.recorder = tls, recorder
        self.failure: str | None = None  # once GLPI has not answered, other checks need not wait again

    # --- transport --------------------------------------------------------------------------------------------

    def _headers(self, session: bool = True) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self._app_token:
            headers["App-Token"] = self._app_token
        if session:
            headers["Session-Token"] = self.session_token
        elif self._user_token:
            headers["Authorization"] = f"user_token {self._user_token}"
        else:
            pair = f"{self._user}:{self._password}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
        return headers

    def _send(self, method: str, path: str, params: dict[str, Any] | None = None, body: Any = None, *,
              session: bool = True, record: bool = True) -> tuple[int, dict[str, str], bytes]:
        """(status, headers, body) of one call; no answer at all is HostUnreachable. `record=False`: the caller
        records the answer itself (initSession's carries the session token, a secret only once it is parsed)."""
        if self.failure:
            raise HostUnreachable(self.failure)
        shown = f"{method} {path}" + (f"?{query(params)}" if params else "")
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{self.url}/{path}" + (f"?{query(params)}" if params else ""),
                                         data=data, method=method, headers=self._headers(session))
        context = self._tls.context() if self.url.lower().startswith("https://") else None
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_S, context=context) as answer:  # noqa: S310
                status, headers, raw = answer.status, dict(answer.headers), answer.read(MAX_BODY)
        except urllib.error.HTTPError as exc:  # GLPI answered with an error status: an answer
            status, headers, raw = exc.code, dict(exc.headers or {}), exc.read(MAX_BODY) if exc.fp else b""
        except OSError as exc:
            self.recorder.record(self.name, f"glpi {shown}", f"no answer: {exc!r}")
            self.failure = f"{self.name} : l'API GLPI ({self.url}) n'a pas répondu : {exc}"
            raise HostUnreachable(self.failure) from None
        if record:
            self._record(shown, status, headers, raw)
        return status, headers, raw

    def _record(self, shown: str, status: int, headers: dict[str, str], raw: bytes) -> None:
        self.recorder.record(self.name, f"glpi {shown}",
                             f"HTTP {status}" + (f" Content-Range: {headers['Content-Range']}"
                                                 if "Content-Range" in headers else "")
                             + f"\n{raw.decode('utf-8', errors='replace')}")

    def _json(self, method: str, path: str, params: dict[str, Any] | None = None, body: Any = None, *,
              ok: Iterable[int] = (200, 206), session: bool = True) -> tuple[int, dict[str, str], Any]:
        status, headers, raw = self._send(method, path, params, body, session=session)
        if status not in ok:
            code, message = error_of(status, raw)
            raise GlpiRefused(self.name, f"{method} {path}", status, code, message)
        try:
            return status, headers, json.loads(raw or b"null")
        except ValueError:
            raise ProtocolError(f"{self.name} : GLPI a répondu à « {method} {path} » par autre chose que du "
                                f"JSON : {raw[:120]!r}") from None

    @cached_property
    def session_token(self) -> str:
        status, headers, raw = self._send("GET", "initSession", session=False, record=False)
        try:
            body = json.loads(raw or b"null")
        except ValueError:
            body = None
        token = body.get("session_token") if isinstance(body, dict) else None
        if isinstance(token, str) and token:
            self.recorder.add_secrets([token])  # before the answer that carries it becomes evidence
        self._record("GET initSession", status, headers, raw)
        if status != 200:
            code, message = error_of(status, raw)
            raise GlpiRefused(self.name, "GET initSession", status, code, message)
        if not isinstance(token, str) or not token:
            raise ProtocolError(f"{self.name} : GLPI n'a pas donné de jeton de session : {str(body)[:200]}")
        self.recorder.opened(self.name, "glpi_api")
        return token

    # --- reading ----------------------------------------------------------------------------------------------

    def get(self, itemtype: str, item_id: int, **options: Any) -> dict | None:
        """One item (options: with_devices, with_disks, with_softwares, with_infocoms, expand_dropdowns…), or
        None if GLPI has no such item (404 ERROR_ITEM_NOT_FOUND)."""
        try:
            return self._json("GET", f"{itemtype}/{int(item_id)}", options or None)[2]
        except GlpiRefused as exc:
            if exc.status == 404:
                return None
            raise

    def items(self, itemtype: str, **options: Any) -> list[dict]:
        """Every item of a type (all pages), e.g. `items("Computer", is_deleted=False)`."""
        return self._pages(itemtype, options)

    def sub_items(self, itemtype: str, item_id: int, sub_itemtype: str, **options: Any) -> list[dict]:
        """The sub-items of one item (`/Computer/3/Item_OperatingSystem`), all pages."""
        return self._pages(f"{itemtype}/{int(item_id)}/{sub_itemtype}", options)

    def _pages(self, path: str, options: dict[str, Any]) -> list[dict]:
        rows: list[dict] = []
        while True:
            params = {**options, "range": f"{len(rows)}-{len(rows) + PAGE - 1}"}
            _status, headers, page = self._json("GET", path, params)
            if not isinstance(page, list):
                raise ProtocolError(f"{self.name} : GLPI a répondu à « GET {path} » par autre chose qu'une liste")
            rows += page
            total = content_range_total(_header(headers, "Content-Range"))
            if not page or total is None or len(rows) >= total:
                return rows

    def search(self, itemtype: str, criteria: list[Criterion], display: Iterable[int] = ()) -> SearchResult:
        """Rows of `search/<itemtype>` keyed by search option id ("1": name, "2": id…), all pages."""
        base = {"criteria": [{"link": c.link, "field": c.field, "searchtype": c.searchtype, "value": c.value}
                             for c in criteria], "forcedisplay": list(display)}
        rows: list[dict] = []
        while True:
            _status, _headers, body = self._json("GET", f"search/{itemtype}",
                                                 {**base, "range": f"{len(rows)}-{len(rows) + PAGE - 1}"})
            if not isinstance(body, dict) or "totalcount" not in body:
                raise ProtocolError(f"{self.name} : réponse de recherche GLPI inattendue : {str(body)[:200]}")
            page = body.get("data") or []  # no row: GLPI sends no `data` key at all
            rows += page
            if not page or len(rows) >= int(body["totalcount"]):
                return SearchResult(int(body["totalcount"]), rows)

    def search_options(self, itemtype: str) -> dict[str, dict]:
        """`listSearchOptions/<itemtype>`: option id → {name, table, field, uid…}. Headings are dropped: GLPI sends
        them as {"name": "Characteristics"} under a key that is not a number (API::listSearchOptions)."""
        body = self._json("GET", f"listSearchOptions/{itemtype}")[2]
        return {key: value for key, value in body.items() if key.isdigit() and isinstance(value, dict)}

    # --- writing (setup, solution, tests; never a check) ------------------------------------------------------

    def add(self, itemtype: str, fields: dict[str, Any]) -> int:
        body = self._json("POST", itemtype, body={"input": fields}, ok=(201,))[2]
        if not isinstance(body, dict) or not isinstance(body.get("id"), int):
            raise ProtocolError(f"{self.name} : GLPI n'a pas donné l'id de l'élément ajouté : {str(body)[:200]}")
        return body["id"]

    def update(self, itemtype: str, item_id: int, fields: dict[str, Any]) -> None:
        body = self._json("PUT", f"{itemtype}/{int(item_id)}", body={"input": fields})[2]
        if not (isinstance(body, list) and body and isinstance(body[0], dict) and body[0].get(str(item_id))):
            raise ProtocolError(f"{self.name} : GLPI n'a pas modifié {itemtype} {item_id} : {str(body)[:200]}")

    def delete(self, itemtype: str, item_id: int, *, purge: bool = False) -> None:
        """To the trash (`is_deleted`), or purged for good; GLPI 10 answers 200 (its doc says 204)."""
        self._json("DELETE", f"{itemtype}/{int(item_id)}", {"force_purge": purge}, ok=(200, 204))

    def close(self) -> None:
        if "session_token" in self.__dict__ and not self.failure:
            try:
                self._send("GET", "killSession")
            except Exception:  # a GLPI that stopped answering: nothing to learn from its logout
                pass
        self.__dict__.pop("session_token", None)


def _header(headers: dict[str, str], name: str) -> str | None:
    return next((value for key, value in headers.items() if key.lower() == name.lower()), None)
