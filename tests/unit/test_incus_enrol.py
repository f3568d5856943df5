"""`labgrader cluster enrol`'s parts without a cluster: the trust token (Incus's CertificateAddToken, base64 of
JSON) and each way it can be bad, then the whole enrolment against a fake Incus API on 127.0.0.1 (TLS, the
cluster certificate pinned): the file written, its modes, remote.load() reading it back, the secret never shown,
and an old enrolment kept when a new one fails. Against the real cluster: tests/incus/test_enrol.py."""
from __future__ import annotations

import base64
import json
import re
import socket
import stat
from datetime import datetime, timezone

import pytest
import yaml

from labgrader import cli
from labgrader.errors import InputError, LabError
from labgrader.incus import enrol, remote
from labgrader.remote.tls import fingerprint_of

from .tls_servers import TlsServer, _header, _more, self_signed

SECRET = "2b2284d44db32675923fe0d2020477e0e9be11801ff70c435e032b97028c35cd"
FINGERPRINT = "57bb0ff4340b5bb28517e062023101adf788c37846dc8b619eb2c3cb4ef29436"
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)


def token_doc(**changes) -> dict:
    # What `incus config trust add grader` prints, decoded (field names from shared/api/certificate.go).
    doc = {"client_name": "grader", "fingerprint": FINGERPRINT, "addresses": ["10.250.0.11:8443"],
           "secret": SECRET, "expires_at": "2026-12-01T15:38:37.753398689-04:00"}
    for name, value in changes.items():
        if value is None:
            doc.pop(name, None)
        else:
            doc[name] = value
    return doc


def encode(doc) -> str:
    return base64.b64encode(json.dumps(doc).encode()).decode()


def refused(text: str) -> InputError:
    with pytest.raises(InputError) as caught:
        enrol.parse_token(text, now=NOW)
    message = str(caught.value)
    assert "\n" not in message and SECRET not in message
    return caught.value


# --- the token -----------------------------------------------------------------------------------------------

def test_a_good_token():
    token = enrol.parse_token(encode(token_doc()), now=NOW)
    assert (token.client_name, token.fingerprint, token.addresses) == ("grader", FINGERPRINT, ("10.250.0.11:8443",))
    assert token.secret == SECRET and token.expires_at == datetime(2026, 12, 1, 19, 38, 37, 753398, timezone.utc)
    assert SECRET not in repr(token)


def test_a_token_pasted_across_lines_and_one_without_expiry():
    text = encode(token_doc(expires_at=None))
    assert enrol.parse_token(f"  {text[:30]}\n{text[30:]}\n", now=NOW).expires_at is None
    # Incus marshals an unset expiry as Go's zero time.
    assert enrol.parse_token(encode(token_doc(expires_at="0001-01-01T00:00:00Z")), now=NOW).expires_at is None


@pytest.mark.parametrize("text", ["not a token!", base64.b64encode(b"{not json").decode(), "",
                                  base64.b64encode(b"[1, 2]").decode()])
def test_not_base64_of_a_json_object(text):
    assert str(refused(text)).startswith("trust token: not an Incus trust token")


@pytest.mark.parametrize("field", ["client_name", "fingerprint", "addresses", "secret"])
def test_each_missing_field_is_named(field):
    assert refused(encode(token_doc(**{field: None}))).field == field


@pytest.mark.parametrize("field,value", [("client_name", ""), ("secret", 42), ("fingerprint", "abcd"),
                                         ("addresses", []), ("addresses", "10.250.0.11:8443"),
                                         ("addresses", ["10.250.0.11"]), ("expires_at", "tomorrow")])
def test_each_bad_field_is_named(field, value):
    error = refused(encode(token_doc(**{field: value})))
    assert error.field == field and str(error).startswith(f"trust token: {field}: ")


def test_an_expired_token():
    error = refused(encode(token_doc(expires_at="2026-12-01T11:59:59Z")))
    assert error.field == "expires_at" and "expired at 2026-12-01T11:59:59+00:00" in str(error)


def test_a_cluster_join_token_is_not_a_trust_token():
    join = {"server_name": "m3", "fingerprint": FINGERPRINT, "addresses": ["10.250.0.11:8443"], "secret": SECRET,
            "expires_at": "0001-01-01T00:00:00Z"}
    assert refused(encode(join)).field == "client_name"


def test_the_enrolment_document_is_remote_format():
    assert enrol.enrolment_document("10.250.0.11:8443", FINGERPRINT, None, "10.250.1.1", "3fa9c1") == {
        "address": "10.250.0.11:8443", "fingerprint": FINGERPRINT, "client_cert": "client.crt",
        "client_key": "client.key", "tunnel_local": "10.250.1.1", "owner": "3fa9c1"}
    assert enrol.enrolment_document("a:1", FINGERPRINT, "lgit-grader", "10.250.1.1", "x")["namespace"] == "lgit-grader"


# --- the whole enrolment, against a fake Incus API ----------------------------------------------------------------

class FakeIncus:
    """GET /1.0 (untrusted until the secret is posted), POST /1.0/certificates (the token's secret, once),
    GET /1.0/cluster/members. Like Incus, it reads the secret from the posted token itself."""

    def __init__(self, secret: str = SECRET):
        self.secret, self.trusted, self.requests = secret, False, []

    def __call__(self, tls, data: bytes, record) -> None:
        while b"\r\n\r\n" not in data:
            data += _more(tls)
        while len(data) < int(_header(data, b"content-length") or 0) + data.index(b"\r\n\r\n") + 4:
            data += _more(tls)
        record(data)
        method, path = data.split(b" ", 2)[:2]
        body = json.loads(data.split(b"\r\n\r\n", 1)[1] or b"null")
        self.requests.append((method.decode(), path.decode(), body))
        status, answer = self.answer(method.decode(), path.decode(), body)
        raw = json.dumps(answer).encode()
        tls.sendall(f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {len(raw)}\r\n"
                    "Connection: close\r\n\r\n".encode() + raw)
        tls.close()

    def answer(self, method: str, path: str, body) -> tuple[int, dict]:
        ok = {"type": "sync", "status_code": 200, "error_code": 0, "error": ""}
        if (method, path) == ("GET", "/1.0"):
            return 200, ok | {"metadata": {"auth": "trusted" if self.trusted else "untrusted"}}
        if (method, path) == ("GET", "/1.0/cluster/members"):
            return 200, ok | {"metadata": ["/1.0/cluster/members/m1", "/1.0/cluster/members/m2"]}
        if (method, path) == ("POST", "/1.0/certificates"):
            posted = json.loads(base64.b64decode(body.get("trust_token", "")) or b"{}")
            if posted.get("secret") == self.secret and not self.trusted:
                self.trusted = True
                return 200, ok | {"metadata": {}}
        return 403, {"type": "error", "error_code": 403, "error": "No matching certificate add operation found"}


@pytest.fixture
def fake_cluster(tmp_path):
    cert, key, der = self_signed(tmp_path, "incus-cluster")
    api = FakeIncus()
    server = TlsServer(cert, key, handler=api)
    server.api, server.fingerprint = api, fingerprint_of(der).replace("SHA256:", "").replace(":", "").lower()
    server.address = f"127.0.0.1:{server.port}"
    yield server
    server.close()


@pytest.fixture
def config(tmp_path, monkeypatch):
    path = tmp_path / "state" / "incus" / "cluster.yml"
    monkeypatch.setenv("LABGRADER_INCUS_CONFIG", str(path))
    return path


def token_for(server, **changes) -> str:
    return encode(token_doc(**{"fingerprint": server.fingerprint, "addresses": [server.address]} | changes))


def test_enrol_writes_a_private_file_remote_reads(fake_cluster, config, capsys):
    token = token_for(fake_cluster)
    assert cli.main(["cluster", "enrol", token, "--tunnel-local", "10.250.1.1"]) == 0
    printed = capsys.readouterr()
    assert "m1, m2" in printed.out and "cluster.yml" in printed.out
    assert SECRET not in printed.out + printed.err and token not in printed.out + printed.err
    assert fake_cluster.api.requests[1] == ("POST", "/1.0/certificates", {"trust_token": token})

    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert stat.S_IMODE(config.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE((config.parent / "client.key").stat().st_mode) == 0o600
    assert sorted(p.name for p in config.parent.iterdir()) == ["client.crt", "client.key", "cluster.yml"]
    text = config.read_text()
    assert SECRET not in text and token not in text
    written = yaml.safe_load(text)
    assert re.fullmatch(r"[0-9a-f]{6}", written.pop("owner")), "a first enrolment names this host's labs anew"
    assert written == {"address": fake_cluster.address, "fingerprint": fake_cluster.fingerprint,
                       "client_cert": "client.crt", "client_key": "client.key", "tunnel_local": "10.250.1.1"}
    loaded = remote.load()
    assert (loaded.address, loaded.tunnel_local, loaded.namespace) == (fake_cluster.address, "10.250.1.1", None)
    assert loaded.client_key == config.parent / "client.key"
    assert "BEGIN CERTIFICATE" in loaded.client_cert.read_text()


def test_a_used_token_is_refused_and_the_old_enrolment_kept(fake_cluster, config, capsys):
    token = token_for(fake_cluster)
    enrol.enrol(token, tunnel_local="10.250.1.1")
    before = {p.name: p.read_bytes() for p in config.parent.iterdir()}
    assert cli.main(["cluster", "enrol", token, "--tunnel-local", "10.250.1.9"]) == 2
    err = capsys.readouterr().err
    assert "trust token: refused by the cluster" in err and "used already" in err and SECRET not in err
    assert len(err.strip().splitlines()) == 1
    assert {p.name: p.read_bytes() for p in config.parent.iterdir()} == before  # nothing left half-done


def test_another_certificate_than_the_pinned_one_gets_nothing(fake_cluster, config):
    token = token_for(fake_cluster, fingerprint="ab" * 32)
    with pytest.raises(LabError, match="not the pinned one") as caught:
        enrol.enrol(token, tunnel_local="10.250.1.1")
    assert "\n" not in str(caught.value)
    assert fake_cluster.received == [] and not fake_cluster.api.trusted  # not even the GET: no byte was sent
    assert not config.exists() and list(config.parent.iterdir()) == []


def test_an_address_that_does_not_answer(fake_cluster, config):
    closed = socket.create_server(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    dead = f"127.0.0.1:{port}"
    token = encode(token_doc(fingerprint=fake_cluster.fingerprint, addresses=[dead]))
    with pytest.raises(LabError, match=f"no cluster member answered.*{dead}.*refused") as caught:
        enrol.enrol(token, tunnel_local="10.250.1.1")
    assert "\n" not in str(caught.value) and not config.exists()
    # --address overrides the token's addresses; and a dead first address gives way to the next one.
    assert enrol.enrol(token, tunnel_local="10.250.1.1", address=fake_cluster.address).members == ["m1", "m2"]


def test_the_next_address_is_tried(fake_cluster, config):
    token = encode(token_doc(fingerprint=fake_cluster.fingerprint, addresses=["127.0.0.1:9", fake_cluster.address]))
    assert enrol.enrol(token, tunnel_local="10.250.1.1").address == fake_cluster.address


@pytest.mark.parametrize("options,field", [({"tunnel_local": "grader"}, "--tunnel-local"),
                                           ({"tunnel_local": "10.250.1.1", "address": "10.250.0.11"}, "--address"),
                                           ({"tunnel_local": "10.250.1.1", "namespace": "lgie-none"},
                                            "--namespace")])
def test_bad_options_before_anything_is_made(options, field, config):
    with pytest.raises(InputError) as caught:
        enrol.enrol(encode(token_doc()), **options)
    assert caught.value.field == field and not config.parent.exists()


def test_a_new_enrolment_keeps_the_owner_that_names_the_labs_already_on_the_cluster(tmp_path):
    (tmp_path / "client.crt").write_text("c")
    (tmp_path / "client.key").write_text("k")
    config = tmp_path / "cluster.yml"
    config.write_text("address: a:1\nfingerprint: ab\nclient_cert: client.crt\nclient_key: client.key\n"
                      "tunnel_local: 10.0.0.1\nowner: 3fa9c1\n")
    assert remote.owner_of(config) == "3fa9c1"
    config.write_text("not: [a, valid enrolment")
    assert re.fullmatch(r"[0-9a-f]{6}", remote.owner_of(config))
    assert remote.owner_of(tmp_path / "none.yml") != remote.owner_of(tmp_path / "none.yml")
