"""Local TLS servers for the grader's LDAPS and Zabbix API clients: a self-signed certificate naming a host (as
Samba's does), a server that records whether any application byte (a bind, a login) ever reached it, and one
that accepts connections but never completes the handshake."""
from __future__ import annotations

import datetime
import json
import socket
import ssl
import threading
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def self_signed(directory: Path, name: str = "dc1.durand.test") -> tuple[Path, Path, bytes]:
    """(certificate, key, DER) of a self-signed certificate that names `name`, not the address it answers on."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / f"{name}.pem", directory / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path, cert.public_bytes(serialization.Encoding.DER)


@dataclass
class TlsServer:
    """Accepts on 127.0.0.1; `mode` is 'answer' (TLS, then the handler), 'stall' (TCP only, no handshake)."""
    cert: Path
    key: Path
    mode: str = "answer"
    handler: object = None  # callable(ssl_socket, first_bytes, record) answering the client
    received: list[bytes] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(self.cert, self.key)
        self.stop = threading.Event()
        self.open: list[socket.socket] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        self.listener.settimeout(0.2)
        while not self.stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except (TimeoutError, OSError):
                continue
            self.open.append(conn)
            if self.mode == "stall":
                continue  # hold the connection, say nothing: the client must give up on its own
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        try:
            tls = self.context.wrap_socket(conn, server_side=True)
            tls.settimeout(5)
            data = tls.recv(65536)
            if data:
                if self.handler:  # it records the whole request before answering: the client may look right after
                    self.handler(tls, data, self.received.append)
                else:
                    self.received.append(data)
        except (ssl.SSLError, OSError):
            pass  # the client refused our certificate: what the tests expect to see happen

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=2)
        for conn in self.open:
            conn.close()
        self.listener.close()


def zabbix_handler(tls: ssl.SSLSocket, data: bytes, record) -> None:
    """Just enough of Zabbix's JSON-RPC for zabbix-utils: apiinfo.version, user.login, one request per
    connection (urllib opens a new one for each call)."""
    while b"\r\n\r\n" not in data:  # TCP may cut anywhere: the headers first, then the announced body
        data += _more(tls)
    while len(data) < int(_header(data, b"content-length") or 0) + data.index(b"\r\n\r\n") + 4:
        data += _more(tls)
    record(data)
    request = json.loads(data.split(b"\r\n\r\n", 1)[1] or b"{}")
    result = {"apiinfo.version": "6.0.36", "user.login": "0424bd59b807674191e7d77572075f33",
              "user.logout": True}.get(request.get("method"), [])
    body = json.dumps({"jsonrpc": "2.0", "result": result, "id": request.get("id")}).encode()
    tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n" + body)
    tls.close()


def _more(tls: ssl.SSLSocket) -> bytes:
    chunk = tls.recv(65536)
    if not chunk:
        raise ConnectionError("the client closed the request half-way")
    return chunk


def _header(data: bytes, name: bytes) -> bytes | None:
    for line in data.split(b"\r\n"):
        if line.lower().startswith(name + b":"):
            return line.split(b":", 1)[1].strip()
    return None
