"""The grader trusts a candidate's LDAPS and Zabbix API only as the inventory says: a pinned fingerprint (which
works with an IP address and a self-signed certificate naming a host), a CA file, or the system's CAs. Anything
else is an error before a credential leaves the grader; a server that stalls the handshake is an error within
the bound. Real TLS servers on 127.0.0.1, no lab."""
from __future__ import annotations

import time

import pytest
import yaml

from labgrader import inventory
from labgrader.errors import InputError
from labgrader.remote import ldap, zabbix
from labgrader.remote.base import HostUnreachable
from labgrader.remote.evidence import Recorder
from labgrader.remote.tls import TlsPolicy, fingerprint_of, normalize, pem_fingerprint

from .tls_servers import TlsServer, self_signed, zabbix_handler

PASSWORD = "Grader-secret-0042"


@pytest.fixture
def certificate(tmp_path):
    return self_signed(tmp_path)


@pytest.fixture
def serve(certificate):
    cert, key, _der = certificate
    servers = []

    def start(mode="answer", handler=None):
        servers.append(TlsServer(cert, key, mode=mode, handler=handler))
        return servers[-1]
    yield start
    for server in servers:
        server.close()


def directory(port, tls):
    return ldap.Directory("dc1", "127.0.0.1", user="Administrator@DURAND.TEST", password=PASSWORD,
                          base_dn="DC=durand,DC=test", port=port, tls=tls, recorder=Recorder([PASSWORD]))


def supervision(port, tls):
    return zabbix.Supervision("zbx1", f"https://127.0.0.1:{port}/zabbix/api_jsonrpc.php", user="Admin",
                              password=PASSWORD, tls=tls, recorder=Recorder([PASSWORD]))


def test_a_fingerprint_is_normalised_whatever_way_it_is_written(certificate):
    _cert, _key, der = certificate
    pinned = fingerprint_of(der)
    assert pinned.startswith("SHA256:") and len(pinned) == 7 + 32 * 3 - 1, f"forme attendue SHA256:AB:…, lu {pinned}"
    assert normalize(pinned.lower()) == pinned, "la casse ne compte pas"
    assert normalize(pinned.removeprefix("SHA256:").replace(":", "")) == pinned, "les deux-points sont facultatifs"
    assert pem_fingerprint(_cert.read_text()) == pinned, "l'empreinte lue d'un PEM est celle du certificat"


def test_the_pinned_certificate_is_trusted_over_an_ip_address_although_it_names_a_host(serve, certificate):
    server = serve(handler=zabbix_handler)
    api = supervision(server.port, TlsPolicy(fingerprint=fingerprint_of(certificate[2])))
    assert api.version() == "6.0.36", "le service épinglé répond : la connexion est acceptée"
    assert any(PASSWORD.encode() in data for data in server.received), \
        "la connexion (mot de passe compris) est bien arrivée au serveur épinglé"


def test_another_certificate_than_the_pinned_one_is_an_error_and_no_password_is_sent(serve, tmp_path):
    server = serve(handler=zabbix_handler)
    _cert, _key, other = self_signed(tmp_path / ".", name="impostor.durand.test")
    api = supervision(server.port, TlsPolicy(fingerprint=fingerprint_of(other)))
    with pytest.raises(HostUnreachable, match="n'est pas celui que l'inventaire épingle"):
        api.version()
    assert server.received == [], "aucun octet (et donc aucun mot de passe) n'a été envoyé au serveur usurpateur"


def test_an_ldaps_bind_to_another_certificate_is_an_error_before_the_password_leaves(serve, tmp_path):
    server = serve()
    _cert, _key, other = self_signed(tmp_path / ".", name="impostor.durand.test")
    with pytest.raises(HostUnreachable, match="ne répond pas en LDAPS") as raised:
        directory(server.port, TlsPolicy(fingerprint=fingerprint_of(other))).connection
    assert "épingle" in str(raised.value), f"la raison est dite : {raised.value}"
    assert server.received == [], "le bind (et son mot de passe) n'est jamais parti"


def test_an_ldaps_bind_to_the_pinned_certificate_is_sent(serve, certificate):
    server = serve()  # answers nothing to the bind: what matters is that it was sent, over the pinned TLS
    with pytest.raises(HostUnreachable):
        directory(server.port, TlsPolicy(fingerprint=fingerprint_of(certificate[2]))).connection
    assert any(PASSWORD.encode() in data for data in server.received), "le bind a traversé la connexion épinglée"


def test_a_self_signed_certificate_without_pin_or_ca_is_an_error_not_a_verdict(serve):
    server = serve(handler=zabbix_handler)
    with pytest.raises(HostUnreachable, match="CERTIFICATE_VERIFY_FAILED|certificate verify failed"):
        supervision(server.port, TlsPolicy()).version()
    with pytest.raises(HostUnreachable):
        directory(server.port, TlsPolicy()).connection
    assert server.received == [], "rien n'est envoyé à un serveur dont le certificat n'est pas vérifié"


def test_a_ca_file_verifies_the_name_so_an_ip_address_fails_where_a_pin_works(serve, certificate):
    server = serve(handler=zabbix_handler)
    with pytest.raises(HostUnreachable, match="IP address mismatch|doesn't match|mismatch"):
        supervision(server.port, TlsPolicy(ca_file=str(certificate[0]))).version()


@pytest.mark.parametrize("client", ["ldaps", "zabbix"])
def test_a_server_that_never_completes_the_handshake_is_an_error_within_the_bound(serve, certificate, monkeypatch,
                                                                                  client):
    monkeypatch.setattr(ldap, "TIMEOUT_S", 2)
    monkeypatch.setattr(zabbix, "TIMEOUT_S", 2)
    server = serve(mode="stall")
    pinned = TlsPolicy(fingerprint=fingerprint_of(certificate[2]))
    started = time.monotonic()
    with pytest.raises(HostUnreachable):
        if client == "ldaps":
            directory(server.port, pinned).connection
        else:
            supervision(server.port, pinned).version()
    assert time.monotonic() - started < 10, "une poignée de main qui ne vient jamais est abandonnée à temps"


def write_inventory(tmp_path, transport):
    path = tmp_path / "inv.yml"
    path.write_text(yaml.safe_dump({"hosts": {"zbx1": {"address": "10.0.0.2", "transports": {
        "zabbix_api": {"user": "Admin", "password": {"env": "LABGRADER_PW"}, **transport}}}}}))
    return path


def test_plain_http_for_the_api_is_refused_unless_explicitly_allowed(tmp_path):
    with pytest.raises(InputError, match="inv.yml: hosts.zbx1.transports.zabbix_api: http:// would send"):
        inventory.load(write_inventory(tmp_path, {"url": "http://10.0.0.2/zabbix/api_jsonrpc.php"}))
    allowed = inventory.load(write_inventory(tmp_path, {"url": "http://10.0.0.2/api_jsonrpc.php",
                                                        "allow_plain_http": True}))
    assert allowed.hosts["zbx1"].transports.zabbix_api.allow_plain_http, "l'évaluateur peut l'autoriser"


@pytest.mark.parametrize("transport, message", [
    ({"tls_fingerprint": "SHA256:abc"}, "tls_fingerprint: expected the certificate's SHA-256 fingerprint"),
    ({"tls_fingerprint": "AB" * 32, "tls_verify": False}, "tls_verify: false would ignore tls_fingerprint"),
])
def test_a_wrong_tls_field_is_one_line(tmp_path, transport, message):
    with pytest.raises(InputError, match=message):
        inventory.load(write_inventory(tmp_path, {"url": "https://10.0.0.2/api_jsonrpc.php", **transport}))


def test_a_relative_ca_file_is_read_beside_the_inventory(tmp_path):
    loaded = inventory.load(write_inventory(tmp_path, {"url": "https://zbx1/api_jsonrpc.php", "ca_file": "ca.pem"}))
    policy = loaded.hosts["zbx1"].transports.zabbix_api.tls()
    assert policy.ca_file == str(tmp_path / "ca.pem"), f"le fichier est cherché à côté de l'inventaire : {policy}"
