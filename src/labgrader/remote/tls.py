"""TLS to the candidate's services (LDAPS, the Zabbix API): verified, or pinned to a certificate fingerprint.

A lab's services carry self-signed certificates that name a host (Samba's names the DC's FQDN), while the
inventory reaches them by IP address: a CA file then fails on the name even when the certificate is right. A
SHA-256 fingerprint of the certificate itself works with any address: the handshake is checked against it before
a single byte of credentials is sent, on every connection (urllib opens one per API call)."""
from __future__ import annotations

import hashlib
import re
import ssl
from dataclasses import dataclass

FINGERPRINT = r"^(?i:sha256:)?([0-9A-Fa-f]{2}:?){31}[0-9A-Fa-f]{2}$"


class CertificateMismatch(ssl.SSLCertVerificationError):
    """The service presented a certificate other than the one the inventory pins."""


def normalize(fingerprint: str) -> str:
    """'sha256:ab:cd…', 'ABCD…' → 'SHA256:AB:CD:…' (the form `openssl x509 -fingerprint -sha256` prints)."""
    digits = re.sub(r"[^0-9A-F]", "", fingerprint.upper().removeprefix("SHA256:"))
    return "SHA256:" + ":".join(digits[i:i + 2] for i in range(0, len(digits), 2))


def fingerprint_of(der: bytes) -> str:
    return normalize(hashlib.sha256(der).hexdigest())


def pem_fingerprint(pem: str) -> str:
    """The fingerprint of the first certificate of a PEM text (what `up` reads from a lab machine)."""
    found = re.search(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", pem, flags=re.DOTALL)
    if not found:
        raise ValueError("no PEM certificate")
    return fingerprint_of(ssl.PEM_cert_to_DER_cert(found.group(0)))


def check_pinned(sock: ssl.SSLSocket, pinned: str) -> None:
    """Raise CertificateMismatch unless the peer's certificate has the pinned fingerprint (closing the socket)."""
    der = sock.getpeercert(binary_form=True)
    presented = fingerprint_of(der) if der else "aucun certificat"
    if presented != normalize(pinned):
        sock.close()
        raise CertificateMismatch(f"le certificat présenté ({presented}) n'est pas celui que l'inventaire épingle "
                                  f"({normalize(pinned)})")


class PinnedContext(ssl.SSLContext):
    """A client context that trusts exactly one certificate, by fingerprint, whatever the address or name."""
    pinned = ""

    def wrap_socket(self, *args, **kwargs):  # noqa: ANN001,ANN002,ANN003 — ssl.SSLContext's own signature
        sock = super().wrap_socket(*args, **kwargs)
        check_pinned(sock, self.pinned)  # http.client wraps a connected socket: the handshake is done here
        return sock


@dataclass(frozen=True)
class TlsPolicy:
    """How the grader trusts a service: a pinned fingerprint, else a CA file (or the system's CAs) with the name
    checked, else — only when the inventory says tls_verify: false — nothing."""
    verify: bool = True
    ca_file: str | None = None
    fingerprint: str | None = None

    def context(self) -> ssl.SSLContext:
        if self.fingerprint:
            context = PinnedContext(ssl.PROTOCOL_TLS_CLIENT)
            context.pinned = normalize(self.fingerprint)
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE  # the pin replaces the chain: a self-signed certificate is the norm
            return context
        context = ssl.create_default_context(cafile=self.ca_file)
        if not self.verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context
