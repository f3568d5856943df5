"""GLPI 10.0.12's native inventory (`front/inventory.php`) as the double serves it: the agent protocol (PROLOG,
INVENTORY, CONTACT in JSON), compression, errors; the XML becomes JSON in inventory_format.py and the computer is
imported by inventory_import.py.

Sources: front/inventory.php, src/Agent/Communication/AbstractRequest.php, src/Inventory/Request.php."""
from __future__ import annotations

import gzip
import json
import xml.etree.ElementTree as ET
import zlib

try:
    from .inventory_format import Invalid, convert, validate
    from .inventory_import import Importer
except ImportError:
    from inventory_format import Invalid, convert, validate
    from inventory_import import Importer

ZLIB, GZIP, DEFLATE = "application/x-compress-zlib", "application/x-compress-gzip", "application/x-compress-deflate"


class Answer:
    """AbstractRequest's response: mode (xml/json), compression and HTTP code."""

    def __init__(self, content_type: str):
        self.mode, self.code, self.nodes, self.json = None, 200, [], {}
        kind = content_type.lower()  # AbstractRequest::handleContentType :565-600 (exact match)
        self.compression = {"application/x-zlib": ZLIB, ZLIB: ZLIB, "application/x-gzip": GZIP, GZIP: GZIP,
                            "application/x-deflate": DEFLATE, DEFLATE: DEFLATE}.get(kind)
        if kind in ("application/xml", "application/json"):
            self.mode = kind.split("/")[1]

    def add(self, **entries) -> None:
        if self.mode == "json":
            self.json.update(entries)
        else:
            self.nodes += list(entries.items())

    def error(self, message: str | None, code: int = 500) -> None:
        """AbstractRequest::addError :359: an ERROR node in CDATA (Html::resume_text at 250 characters)."""
        self.code = code
        if message:
            message = message if len(message) <= 250 else message[:250] + "&nbsp;(...)"
            if self.mode == "json":
                self.json.update(status="error", message=message, expiration=24)
            else:
                self.nodes.append(("ERROR", ET.Element("cdata", text=message)))

    def render(self) -> tuple[dict, bytes]:
        if self.mode is None and not self.nodes:
            return {}, b""
        if self.mode == "json":
            data = json.dumps(self.json, separators=(",", ":")).encode()
        else:
            parts = []
            for name, value in self.nodes:
                if isinstance(value, ET.Element):
                    parts.append(f"<{name}><![CDATA[{value.get('text')}]]></{name}>")
                else:
                    parts.append(f"<{name}>{_escape(value)}</{name}>")
            data = ('<?xml version="1.0"?>\n<REPLY>' + "".join(parts) + "</REPLY>").encode()  # DOMDocument::saveXML
        if self.compression == ZLIB:
            data = zlib.compress(data)                       # gzcompress
        elif self.compression == GZIP:
            data = gzip.compress(data)                       # gzencode
        elif self.compression == DEFLATE:
            data = zlib.compress(data)[2:-4]                 # gzdeflate (raw deflate)
        kind = self.compression or ("application/json" if self.mode == "json" else "application/xml")
        return {"Content-Type": kind}, data


def _escape(value) -> str:
    return str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class NativeInventory:
    def __init__(self, store, config: dict):
        self.store, self.config = store, config
        self.refused: list[dict] = []  # glpi_refusedequipments, not exposed by the double's API

    def handle(self, method: str, query: str, headers: dict, body: bytes) -> tuple[int, dict, bytes]:
        """front/inventory.php."""
        if not self.config.get("enabled_inventory", False):
            # `die("Inventory is disabled")`: HTTP 200, text (src/Inventory/Conf.php default: 0)
            return 200, {"Content-Type": "text/html; charset=UTF-8"}, b"Inventory is disabled"
        lower = {k.lower(): v for k, v in headers.items()}
        answer = Answer(lower.get("content-type", ""))
        if method != "POST":
            if "action=getConfig" in (query or ""):
                answer.mode = "json"
                answer.error("Protocol not supported", 400)
            else:
                answer.error(None, 405)
        else:
            try:
                with self.store.lock:
                    self._request(answer, body, lower)
                    self.store.save()
            except Exception as exc:  # front/inventory.php catches \Throwable: addError(message), HTTP 500
                answer.error(str(exc) or type(exc).__name__)
        out, data = answer.render()
        return answer.code, out, data

    def _request(self, answer: Answer, body: bytes, headers: dict) -> None:
        """AbstractRequest::handleRequest :200-250, handleXMLRequest :282, handleJSONRequest :320."""
        try:
            if answer.compression == ZLIB:
                body = zlib.decompress(body)
            elif answer.compression == GZIP:
                body = gzip.decompress(body)
            elif answer.compression == DEFLATE:
                body = zlib.decompress(body, -15)
        except (zlib.error, OSError, EOFError):
            body = b""  # gz*() return false
        if answer.mode is None:
            answer.mode = "json" if body[:1] == b"{" else "xml"
        if answer.mode == "xml":
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError:
                text = body.decode("latin-1")  # iconv('ISO-8859-1', 'UTF-8')
            try:
                root = ET.fromstring(text)
            except ET.ParseError:
                return answer.error("XML not well formed!", 400)
            action = (root.findtext("QUERY") or "inventory").lower()
            return self._action(answer, action, headers, xml=text)
        try:
            document = json.loads(body)
        except ValueError:
            return answer.error("JSON not well formed!", 400)
        action = document.get("action") or document.get("query") or "inventory"
        return self._action(answer, action, headers, document=document)

    def _action(self, answer: Answer, action: str, headers: dict, xml: str = "", document=None) -> None:
        """Request::handleAction (src/Inventory/Request.php:74-110)."""
        frequency = int(self.config.get("inventory_frequency", 24))
        if action == "prolog":
            if "glpi-agent-id" in headers:
                answer.mode = "json"
                return answer.add(expiration=frequency, status="ok")
            return answer.add(PROLOG_FREQ=frequency, RESPONSE="SEND")     # Request::prolog :193-221
        if action == "contact" and answer.mode == "json":
            tasks = {}
            for task in document.get("enabled-tasks", []):
                if task == "inventory":
                    tasks["inventory"] = {"server": "glpi", "version": "10.0.12"}
                else:
                    answer.json["message"] = ";".join(filter(None, [answer.json.get("message"),
                                                                    f"{task} task not supported"]))
                    answer.json.setdefault("disabled", []).append(task)
            return answer.add(expiration=frequency, status="ok", **({"tasks": tasks} if tasks else {}))
        if action != "inventory":
            return answer.error(f"Query '{action}' is not supported.", 501)
        try:
            data = convert(xml) if answer.mode == "xml" else document
            validate(data)
        except Invalid as invalid:
            return answer.error(str(invalid), 400 if "JSON does not validate" in str(invalid) else 500)
        for section in ("error", "consumables"):
            if section in data["content"]:  # Inventory::processInventoryData: no asset for these keys
                raise RuntimeError(f"Unhandled schema entry {section}")
        Importer(self, data).run()
        if "glpi-agent-id" in headers:
            return answer.add(expiration=frequency, status="ok")
        return answer.add(RESPONSE="SEND")                                    # Request::inventory :347-385
