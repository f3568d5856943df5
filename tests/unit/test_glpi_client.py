"""The GLPI client (labgrader.remote.glpi) against GLPI 10.0's REST contract and native inventory, served by the
double of tests/glpi_double (loopback only). Live mode: with LABGRADER_GLPI_LIVE_URL (…/apirest.php),
LABGRADER_GLPI_LIVE_USER_TOKEN, LABGRADER_GLPI_LIVE_APP_TOKEN (and LABGRADER_GLPI_LIVE_CA for a private CA) the same
tests run against a real GLPI; the few that need the double's internals are skipped. Live tests purge what they
create, and the inventory tests need the native inventory enabled on that GLPI."""
from __future__ import annotations

import json
import os
import re
import urllib.error
import urllib.request
import zlib
from pathlib import Path

import pytest

from labgrader.remote import glpi as glpi_module
from labgrader.remote.base import RemoteError
from labgrader.remote.evidence import Recorder
from labgrader.remote.glpi import Criterion, Glpi, GlpiRefused
from labgrader.remote.tls import TlsPolicy

from ..glpi_double.server import GlpiDouble

LIVE_URL = os.environ.get("LABGRADER_GLPI_LIVE_URL", "").rstrip("/")
live = bool(LIVE_URL)
double_only = pytest.mark.skipif(live, reason="needs the double's internals (live GLPI)")
USER_TOKEN = os.environ.get("LABGRADER_GLPI_LIVE_USER_TOKEN") if live else "k8Fz3Qp1Lw7Xr2Vb9Nc4Ht6Jy0Ds5Ga1Me8Ui3O"
APP_TOKEN = os.environ.get("LABGRADER_GLPI_LIVE_APP_TOKEN") if live else "Zt4Wq9Er2Ty7Ui1Op3As6Df8Gh0Jk5Lz2Xc7Vb4"
PASSWORD = "Glpi-pass-0042"
TLS = TlsPolicy(ca_file=os.environ.get("LABGRADER_GLPI_LIVE_CA") or None)
SAMPLE = (Path(__file__).parent.parent / "glpi_double" / "sample_inventory.xml").read_text()
CONFIG = {"user_token": USER_TOKEN, "app_token": APP_TOKEN, "users": {"glpi": PASSWORD}, "enabled_inventory": True,
          "list_limit": 20}


@pytest.fixture
def double():
    server = GlpiDouble(CONFIG)
    server.base = server.start()
    yield server
    server.stop()


@pytest.fixture
def api_url(request) -> str:
    return LIVE_URL if live else request.getfixturevalue("double").base + "/apirest.php"


@pytest.fixture
def recorder() -> Recorder:
    return Recorder(secrets=(USER_TOKEN, APP_TOKEN))


@pytest.fixture
def glpi(api_url, recorder):
    client = Glpi("glpi", api_url, user_token=USER_TOKEN, app_token=APP_TOKEN, tls=TLS, recorder=recorder)
    made: list[tuple[str, int]] = []
    client.made = made
    yield client
    for itemtype, item_id in reversed(made):  # live GLPI: leave nothing behind
        try:
            client.delete(itemtype, item_id, purge=True)
        except GlpiRefused:
            pass
    client.close()


def add(client: Glpi, itemtype: str, fields: dict) -> int:
    item_id = client.add(itemtype, fields)
    client.made.append((itemtype, item_id))
    return item_id


def raw(url: str, method: str = "GET", headers: dict | None = None, body: bytes | None = None):
    """(status, headers, body) of one request, whatever the status."""
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    context = TLS.context() if url.startswith("https://") else None
    try:
        with urllib.request.urlopen(request, timeout=10, context=context) as answer:  # noqa: S310 - loopback/live
            return answer.status, answer.headers, answer.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()


def post_inventory(api_url: str, xml: str, content_type: str = "application/x-compress-zlib"):
    base = api_url[: -len("/apirest.php")] if api_url.endswith("/apirest.php") else api_url
    body = zlib.compress(xml.encode()) if "zlib" in content_type else xml.encode()
    status, headers, data = raw(base + "/front/inventory.php", "POST", {"Content-Type": content_type}, body)
    return status, headers, zlib.decompress(data) if "zlib" in content_type and status < 500 and data else data


def computers_named(client: Glpi, name: str) -> list[dict]:
    return client.search("Computer", [Criterion(1, f"^{name}$")], display=[2, 47]).rows


# --- sessions ---------------------------------------------------------------------------------------------------

def test_session_opens_once_and_close_kills_it(glpi, api_url, recorder):
    token = glpi.session_token
    assert glpi.get("Entity", 0)["id"] == 0 and glpi.get("Entity", 0)["name"]
    assert recorder.connections[("glpi", "glpi_api")] == 1
    glpi.close()
    status, _headers, body = raw(f"{api_url}/Entity/0", headers={"Session-Token": token, "App-Token": APP_TOKEN})
    assert status == 401 and json.loads(body)[0] == "ERROR_SESSION_TOKEN_INVALID"
    assert glpi.get("Entity", 0)["id"] == 0  # a new session after close


def test_wrong_user_token_is_refused(api_url):
    client = Glpi("glpi", api_url, user_token="not-the-token", app_token=APP_TOKEN, tls=TLS, recorder=Recorder())
    with pytest.raises(GlpiRefused) as refused:
        client.get("Computer", 1)
    assert isinstance(refused.value, RemoteError)
    assert (refused.value.status, refused.value.code) == (401, "ERROR_GLPI_LOGIN_USER_TOKEN")


@double_only
def test_app_tokens_are_those_of_the_api_clients_matching_the_callers_address():
    # API::initApi picks the active API clients by the caller's IP, API::checkAppToken wants one of their tokens;
    # GLPI's own localhost client has none, so a token sent from loopback is refused (seen on a real GLPI 10.0.12:
    # the lab's seed got ERROR_WRONG_APP_TOKEN_PARAMETER from 127.0.0.1 with the lab client's token).
    lab = GlpiDouble({**CONFIG, "app_token": None,
                      "api_clients": [{"ipv4_range": ["192.168.59.0", "192.168.59.255"], "app_token": APP_TOKEN}]})
    login = {"Authorization": f"user_token {USER_TOKEN}"}

    def init(peer: str, app_token: str | None) -> tuple[int, object]:
        headers = {**login, **({"App-Token": app_token} if app_token else {})}
        status, _headers, body = lab.respond("GET", "/apirest.php/initSession", headers, b"", peer)
        return status, json.loads(body)

    assert init("192.168.59.30", APP_TOKEN)[0] == 200
    assert init("127.0.0.1", None)[0] == 200
    for peer, app_token, code in (("192.168.59.30", None, "ERROR_APP_TOKEN_PARAMETERS_MISSING"),
                                  ("192.168.59.30", "wrong", "ERROR_WRONG_APP_TOKEN_PARAMETER"),
                                  ("127.0.0.1", APP_TOKEN, "ERROR_WRONG_APP_TOKEN_PARAMETER"),
                                  ("10.0.0.5", APP_TOKEN, "ERROR_NOT_ALLOWED_IP")):
        status, body = init(peer, app_token)
        assert (status, body[0]) == (400, code), (peer, app_token, body)


@double_only
def test_login_and_password(api_url):
    client = Glpi("glpi", api_url, user="glpi", password=PASSWORD, app_token=APP_TOKEN, recorder=Recorder())
    assert client.get("Entity", 0)["completename"] == "Root entity"
    wrong = Glpi("glpi", api_url, user="glpi", password="nope", app_token=APP_TOKEN, recorder=Recorder())
    with pytest.raises(GlpiRefused) as refused:
        wrong.get("Entity", 0)
    assert (refused.value.status, refused.value.code) == (401, "ERROR_GLPI_LOGIN")


def test_missing_session_token_and_get_with_a_body(glpi, api_url):
    status, _headers, body = raw(f"{api_url}/Computer", headers={"App-Token": APP_TOKEN})
    assert status == 400 and json.loads(body)[0] == "ERROR_SESSION_TOKEN_MISSING"
    headers = {"App-Token": APP_TOKEN, "Session-Token": glpi.session_token, "Content-Type": "application/json"}
    status, _headers, body = raw(f"{api_url}/Computer", "GET", headers, b'{"input": {}}')
    assert status == 400 and json.loads(body)[0] == "ERROR_JSON_PAYLOAD_FORBIDDEN"


def test_tokens_never_reach_the_evidence(glpi, recorder):
    token = glpi.session_token
    glpi.items("Entity")
    glpi.get("Computer", 987654321)
    glpi.close()
    assert recorder.entries
    for entry in recorder.entries:
        for secret in (USER_TOKEN, token):
            assert secret not in entry.action and secret not in entry.detail


# --- reading ----------------------------------------------------------------------------------------------------

def test_get_with_devices_disks_softwares_infocoms(glpi):
    computer = add(glpi, "Computer", {"name": "pc-shapes", "serial": "SN-SHAPES-1"})
    cpu = add(glpi, "DeviceProcessor", {"designation": "Test CPU 3000", "frequency_default": 3000})
    link = add(glpi, "Item_DeviceProcessor", {"itemtype": "Computer", "items_id": computer,
                                              "deviceprocessors_id": cpu, "frequency": 3000, "nbcores": 4})
    disk = add(glpi, "Item_Disk", {"itemtype": "Computer", "items_id": computer, "name": "/", "device": "/dev/sda1",
                                   "mountpoint": "/", "filesystems_id": 4, "totalsize": 20000, "freesize": 5000})
    software = add(glpi, "Software", {"name": "test-editor"})
    version = add(glpi, "SoftwareVersion", {"softwares_id": software, "name": "2.1"})
    add(glpi, "Item_SoftwareVersion", {"itemtype": "Computer", "items_id": computer, "softwareversions_id": version})
    bare = glpi.get("Computer", computer, with_infocoms=True)
    assert bare["_infocoms"] == []  # no infocom: an empty list, not an object
    add(glpi, "Infocom", {"itemtype": "Computer", "items_id": computer, "warranty_duration": 36,
                          "warranty_date": "2024-01-15"})
    item = glpi.get("Computer", computer, with_devices=True, with_disks=True, with_softwares=True,
                    with_infocoms=True)
    assert item["name"] == "pc-shapes" and item["serial"] == "SN-SHAPES-1"
    row = item["_devices"]["Item_DeviceProcessor"][str(link)]
    assert row["deviceprocessors_id"] == cpu and row["nbcores"] == 4 and "items_id" not in row
    assert [d["name"]["id"] for d in item["_disks"]] == [disk]  # each disk wrapped in {"name": row}
    assert item["_disks"][0]["name"]["fsname"] == "ext4" and item["_disks"][0]["name"]["totalsize"] == 20000
    [installed] = item["_softwares"]  # ids only, plus hateoas links to them (parseDropdowns is recursive)
    assert {k: v for k, v in installed.items() if k != "links"} == {
        "softwarecategories_id": 0, "softwares_id": software, "softwareversions_id": version, "is_dynamic": 0,
        "states_id": 0, "is_valid": 1}
    assert item["_infocoms"]["warranty_duration"] == 36 and item["_infocoms"]["items_id"] == computer
    assert {"rel": "Entity", "href": item["links"][0]["href"]} in item["links"]
    named = glpi.get("Computer", computer, with_devices=True, with_softwares=True, with_infocoms=True,
                     expand_dropdowns=True)
    assert named["entities_id"] == "Root entity"
    assert named["_devices"]["Item_DeviceProcessor"][str(link)]["deviceprocessors_id"] == "Test CPU 3000"
    assert named["_softwares"][0]["softwares_id"] == "test-editor" and named["_softwares"][0]["softwareversions_id"] \
        == "2.1"
    assert named["_infocoms"]["items_id"] == "pc-shapes"  # items_id follows itemtype


def test_missing_item_is_none_and_unknown_itemtype_is_refused(glpi):
    assert glpi.get("Computer", 987654321) is None
    with pytest.raises(GlpiRefused) as refused:
        glpi.get("NoSuchThing", 1)
    assert (refused.value.status, refused.value.code) == (400, "ERROR_RESOURCE_NOT_FOUND_NOR_COMMONDBTM")


@double_only
def test_items_are_read_whole_page_by_page(glpi, double, api_url, recorder):
    for i in range(450):
        double.store.insert("Computer", {"name": f"pc-{i:03d}"})
    rows = glpi.items("Computer")
    assert len(rows) == 450 and len({r["id"] for r in rows}) == 450
    pages = [e.detail.split("\n")[0] for e in recorder.entries if e.action.startswith("glpi GET Computer?")]
    # 206 for every page short of the whole list, the last one too (APIRest.php:281-286)
    assert pages == ["HTTP 206 Content-Range: 0-199/450", "HTTP 206 Content-Range: 200-399/450",
                     "HTTP 206 Content-Range: 400-449/450"]
    status, headers, body = raw(f"{api_url}/Computer", headers={"Session-Token": glpi.session_token,
                                                                "App-Token": APP_TOKEN})
    # no range: 20 rows (list_limit) but a header ending at list_limit, not list_limit - 1 (APIRest.php:271-291)
    assert status == 206 and headers["Content-Range"] == "0-20/450" and len(json.loads(body)) == 20
    assert headers["Accept-Range"] == "Computer 1000"


def test_items_paging_and_trash(glpi, monkeypatch):
    monkeypatch.setattr(glpi_module, "PAGE", 2)
    ids = [add(glpi, "Computer", {"name": f"pc-page-{i}"}) for i in range(5)]
    mine = [r for r in glpi.items("Computer") if r["id"] in ids]
    assert sorted(r["id"] for r in mine) == ids
    glpi.delete("Computer", ids[0])
    assert ids[0] not in {r["id"] for r in glpi.items("Computer")}
    assert ids[0] in {r["id"] for r in glpi.items("Computer", is_deleted=True)}


def test_sub_items(glpi):
    computer = add(glpi, "Computer", {"name": "pc-sub"})
    disks = [add(glpi, "Item_Disk", {"itemtype": "Computer", "items_id": computer, "name": n, "mountpoint": n})
             for n in ("/", "/home")]
    assert [d["id"] for d in glpi.sub_items("Computer", computer, "Item_Disk")] == disks
    assert glpi.sub_items("Computer", computer, "Item_OperatingSystem") == []
    with pytest.raises(GlpiRefused) as refused:
        glpi.sub_items("Computer", 987654321, "Item_Disk")
    assert refused.value.status == 404


def test_search_with_criteria_and_without_rows(glpi, recorder):
    first = add(glpi, "Computer", {"name": "srv-search-a", "serial": "SRCH-0001", "uuid": "uuid-search-a"})
    add(glpi, "Computer", {"name": "srv-search-b", "serial": "SRCH-0002"})
    found = glpi.search("Computer", [Criterion(1, "srv-search")], display=[2, 5, 47])
    assert found.total == 2 and {r["5"] for r in found.rows} == {"SRCH-0001", "SRCH-0002"}
    assert list(found.rows[0])[:4] == ["1", "2", "5", "47"]  # name first, then forcedisplay
    exact = glpi.search("Computer", [Criterion(5, "SRCH-0001", "equals")], display=[2])
    assert [r["2"] for r in exact.rows] == [first]
    both = glpi.search("Computer", [Criterion(1, "srv-search-a"), Criterion(47, "uuid-search-a", "contains", "AND")])
    assert both.total == 1
    # 'equals' on the name (an itemlink) compares the id: GLPI finds nothing (Search.php:5373)
    assert glpi.search("Computer", [Criterion(1, "srv-search-a", "equals")]).total == 0
    assert glpi.search("Computer", [Criterion(1, str(first), "equals")]).rows[0]["1"] == "srv-search-a"
    mark = recorder.mark()
    nothing = glpi.search("Computer", [Criterion(1, "no-such-computer-anywhere")])
    assert nothing.total == 0 and nothing.rows == []
    answer = json.loads(recorder.since(mark)[-1].detail.split("\n", 1)[1])
    assert "data" not in answer and answer["content-range"] == "0--1/0" and answer["sort"] == ["1"]
    with pytest.raises(GlpiRefused) as refused:
        glpi.search("Computer", [Criterion(987654, "x")])
    assert refused.value.code == "ERROR" and "Bad field ID" in str(refused.value)


def test_search_options(glpi):
    options = glpi.search_options("Computer")
    assert "common" not in options  # headings are dropped by the client
    assert options["1"]["uid"] == "Computer.name" and options["2"]["field"] == "id"
    assert options["45"]["uid"] == "Computer.Item_OperatingSystem.OperatingSystem.name"
    assert options["9"]["field"] == "last_inventory_update" and options["47"]["field"] == "uuid"
    assert "equals" in options["1"]["available_searchtypes"]


# --- writing ----------------------------------------------------------------------------------------------------

def test_add_update_then_trash_then_purge(glpi, api_url):
    computer = add(glpi, "Computer", {"name": "pc-crud"})
    glpi.update("Computer", computer, {"name": "pc-crud-2", "serial": "CRUD-1"})
    assert glpi.get("Computer", computer)["name"] == "pc-crud-2"
    glpi.delete("Computer", computer)
    assert glpi.get("Computer", computer)["is_deleted"] == 1  # in the trash
    glpi.delete("Computer", computer, purge=True)
    assert glpi.get("Computer", computer) is None
    # an item that could be dynamic but is not is purged even without force_purge (API.php:2068-2079)
    cpu = add(glpi, "DeviceProcessor", {"designation": "Purged CPU"})
    link = glpi.add("Item_DeviceProcessor", {"itemtype": "Computer", "items_id": 1, "deviceprocessors_id": cpu})
    glpi.delete("Item_DeviceProcessor", link)
    assert glpi.get("Item_DeviceProcessor", link) is None
    with pytest.raises(GlpiRefused) as refused:
        glpi.update("Computer", computer, {"name": "gone"})
    assert (refused.value.status, refused.value.code) == (400, "ERROR_GLPI_UPDATE")
    status, headers, body = raw(f"{api_url}/Computer", "POST", {
        "Session-Token": glpi.session_token, "App-Token": APP_TOKEN, "Content-Type": "application/json"},
        json.dumps({"input": {"name": "pc-location"}}).encode())
    created = json.loads(body)
    glpi.made.append(("Computer", created["id"]))
    assert status == 201 and headers["location"].endswith(f"/Computer/{created['id']}")
    assert created["message"].startswith("Item successfully added")


def test_ticket_followup_and_solution(glpi):
    ticket = add(glpi, "Ticket", {"name": "Imprimante HS", "content": "Plus d'impression au 2e"})
    assert glpi.get("Ticket", ticket)["status"] == 1
    with pytest.raises(GlpiRefused) as refused:
        glpi.add("ITILFollowup", {"itemtype": "Ticket", "items_id": ticket, "content": ""})
    assert (refused.value.status, refused.value.code) == (400, "ERROR_GLPI_ADD")
    assert "without description" in str(refused.value)
    add(glpi, "ITILFollowup", {"itemtype": "Ticket", "items_id": ticket, "content": "Toner changé"})
    solution = add(glpi, "ITILSolution", {"itemtype": "Ticket", "items_id": ticket, "content": "Réparé"})
    solved = glpi.get("Ticket", ticket)
    assert solved["status"] == 5 and solved["solvedate"]  # ITILSolution::post_addItem
    assert glpi.get("ITILSolution", solution)["status"] == 2  # waiting for approval: autoclose is "never"
    assert [f["content"] for f in glpi.sub_items("Ticket", ticket, "ITILFollowup")] == ["Toner changé"]


# --- native inventory -------------------------------------------------------------------------------------------

def _forget(glpi: Glpi, name: str) -> None:
    for row in computers_named(glpi, name):
        glpi.made.append(("Computer", row["2"]))


def test_prolog_then_inventory_then_read_with_the_client(glpi, api_url):
    prolog = ('<?xml version="1.0" encoding="UTF-8" ?>\n<REQUEST>\n  <DEVICEID>ws01.lab.local-2024-05-14-10-32-11'
              '</DEVICEID>\n  <QUERY>PROLOG</QUERY>\n  <TOKEN>12345678</TOKEN>\n</REQUEST>\n')
    status, headers, body = post_inventory(api_url, prolog)
    assert status == 200 and headers["Content-Type"] == "application/x-compress-zlib"
    assert body == b'<?xml version="1.0"?>\n<REPLY><PROLOG_FREQ>24</PROLOG_FREQ><RESPONSE>SEND</RESPONSE></REPLY>'
    status, _headers, body = post_inventory(api_url, SAMPLE)
    _forget(glpi, "ws01")
    assert status == 200 and body == b'<?xml version="1.0"?>\n<REPLY><RESPONSE>SEND</RESPONSE></REPLY>'
    [row] = computers_named(glpi, "ws01")
    assert row["47"] == "94c3fdeb9ba43331c19a976210579d3ec93308a4"
    computer = glpi.get("Computer", row["2"], with_devices=True, with_disks=True, with_softwares=True,
                        expand_dropdowns=True)
    assert computer["is_dynamic"] == 1 and computer["serial"] is None and computer["last_inventory_update"]
    assert computer["computertypes_id"] == "lxc" and computer["manufacturers_id"] == "QEMU"
    [system] = glpi.sub_items("Computer", row["2"], "Item_OperatingSystem", expand_dropdowns=True)
    assert system["operatingsystems_id"] == "Debian GNU/Linux 12 (bookworm)"  # FULL_NAME, not NAME
    assert system["operatingsystemversions_id"] == "12.5" and system["operatingsystemarchitectures_id"] == "x86_64"
    [cpu] = computer["_devices"]["Item_DeviceProcessor"].values()
    assert cpu["deviceprocessors_id"] == "Intel(R) Xeon(R) Gold 6230 CPU @ 2.10GHz"
    assert (cpu["frequency"], cpu["nbcores"], cpu["nbthreads"], cpu["is_dynamic"]) == (2100, 2, 2, 1)
    assert "Item_DeviceMemory" not in computer["_devices"]  # no MEMORIES node, nothing from HARDWARE/MEMORY
    disks = {d["name"]["mountpoint"]: d["name"] for d in computer["_disks"]}
    assert disks["/"]["fsname"] == "ext4" and disks["/"]["totalsize"] == 19992 and disks["/"]["freesize"] == 15230
    assert disks["/srv"]["fsname"] == "XFS"  # "xfs" matched the Filesystem GLPI ships
    softwares = {s["softwares_id"]: s["softwareversions_id"] for s in computer["_softwares"]}
    assert softwares["openssh-server"] == "1:9.2p1-2+deb12u2" and softwares["bash"] == "5.2.15-2+b2"
    assert softwares["Debian GNU/Linux 12 (bookworm)"] == "12.5"  # the OS is a software too
    found = glpi.search("Computer", [Criterion(45, "Debian"), Criterion(1, "^ws01$")], display=[9, 45])
    assert found.rows[0]["45"] == "Debian GNU/Linux 12 (bookworm)" and found.rows[0]["9"]


def test_reinventory_updates_the_same_computer(glpi, api_url):
    post_inventory(api_url, SAMPLE)
    _forget(glpi, "ws01")
    [first] = computers_named(glpi, "ws01")
    before = glpi.get("Computer", first["2"], with_disks=True, with_softwares=True)
    changed = SAMPLE.replace("<FREE>15230</FREE>", "<FREE>14000</FREE>")
    changed = re.sub(r"\s*<SOFTWARES>(?:(?!</SOFTWARES>).)*openssh-server.*?</SOFTWARES>", "", changed, flags=re.S)
    status, _headers, _body = post_inventory(api_url, changed)
    assert status == 200
    [again] = computers_named(glpi, "ws01")
    after = glpi.get("Computer", first["2"], with_disks=True, with_softwares=True, expand_dropdowns=True)
    assert again["2"] == first["2"]
    assert sorted(d["name"]["id"] for d in after["_disks"]) == sorted(d["name"]["id"] for d in before["_disks"])
    assert {d["name"]["mountpoint"]: d["name"]["freesize"] for d in after["_disks"]}["/"] == 14000
    assert "openssh-server" not in {s["softwares_id"] for s in after["_softwares"]}
    assert len(after["_softwares"]) == len(before["_softwares"]) - 1
    assert len(glpi.sub_items("Computer", first["2"], "Item_OperatingSystem")) == 1


def test_inventory_links_to_a_computer_entered_by_hand_with_the_same_name(glpi, api_url):
    by_hand = add(glpi, "Computer", {"name": "ws01", "comment": "saisi à la main"})
    status, _headers, _body = post_inventory(api_url, SAMPLE)
    _forget(glpi, "ws01")
    assert status == 200
    # default rule "Computer update (by name)" (RuleImportAsset.xml ranking 17): no serial, so the name links
    assert [r["2"] for r in computers_named(glpi, "ws01")] == [by_hand]
    linked = glpi.get("Computer", by_hand)
    assert linked["is_dynamic"] == 1 and linked["uuid"] == "94c3fdeb9ba43331c19a976210579d3ec93308a4"
    assert linked["comment"] == "saisi à la main"


@double_only
def test_inventory_refused_when_disabled_or_malformed(double):
    api_url = double.base + "/apirest.php"
    status, headers, body = post_inventory(api_url, "<REQUEST><QUERY>INVENTORY</QUERY><CONTENT/></REQUEST>")
    assert status == 400 and b"JSON does not validate" in body
    status, _headers, body = post_inventory(api_url, "not xml at all")
    assert status == 400 and b"XML not well formed!" in body
    bad = SAMPLE.replace("<VMSYSTEM>lxc</VMSYSTEM>", "<VMSYSTEM>lxc</VMSYSTEM><VMNAME>x</VMNAME>")
    status, _headers, body = post_inventory(api_url, bad, "application/xml")
    assert status == 400 and b"Additional properties not allowed: vmname" in body
    status, _headers, _body = raw(double.base + "/front/inventory.php")
    assert status == 405
    double.config["enabled_inventory"] = False
    status, headers, body = raw(double.base + "/front/inventory.php", "POST",
                                {"Content-Type": "application/x-compress-zlib"}, zlib.compress(SAMPLE.encode()))
    assert (status, body) == (200, b"Inventory is disabled")  # die("Inventory is disabled"), front/inventory.php
    assert double.store.find("Computer", name="ws01") == []


@double_only
def test_state_survives_a_restart(tmp_path):
    state = tmp_path / "state.json"
    first = GlpiDouble(CONFIG, state)
    base = first.start()
    client = Glpi("glpi", base + "/apirest.php", user_token=USER_TOKEN, app_token=APP_TOKEN, recorder=Recorder())
    computer = client.add("Computer", {"name": "pc-persist"})
    first.stop()
    second = GlpiDouble(CONFIG, state)
    base = second.start()
    try:
        client = Glpi("glpi", base + "/apirest.php", user_token=USER_TOKEN, app_token=APP_TOKEN,
                      recorder=Recorder())
        assert client.get("Computer", computer)["name"] == "pc-persist"
    finally:
        second.stop()
