"""A thin client of the Incus REST API (stdlib only), over the daemon's unix socket or over HTTPS.

Why not pylxd: labgrader needs a dozen calls, and pylxd's session honours REQUESTS_CA_BUNDLE and friends, which
broke the HTTPS pinning in the prototype (FINDINGS). Every request opens its own connection (as urllib does), so
a client can be shared between threads; every request is bounded in time.

Over HTTPS the cluster's certificate is pinned by its SHA-256 fingerprint, whatever the address used (a cluster
certificate names no IP address), and the client authenticates with its own certificate, trusted beforehand
(`incus config trust add-certificate`).
"""
from __future__ import annotations

import http.client
import json
import socket
import ssl
import time
import urllib.parse
from dataclasses import dataclass
from typing import Any, BinaryIO

from ..errors import LabError
from ..remote.tls import CertificateMismatch, PinnedContext, normalize

TIMEOUT_S = 30          # one request (an operation's /wait asks for less than this, see wait())
OPERATION_TIMEOUT_S = 300
WAIT_SLICE_S = 20       # one /wait call; the loop in wait() goes on until the caller's deadline


class IncusError(LabError):
    """Incus refused a request or an operation failed: Incus's own message, on one line (exit 3)."""

    def __init__(self, message: str, *, status: int | None = None):
        self.status = status
        super().__init__(" ".join(message.split()))


class IncusTimeout(IncusError):
    """A request or an operation did not finish in time."""


@dataclass(frozen=True)
class Response:
    type: str            # "sync" or "async"
    metadata: Any
    operation: str       # the operation's URL for an async response, else ""


@dataclass(frozen=True)
class ExecResult:
    status: int
    stdout: str
    stderr: str


def parse_response(status: int, body: bytes, what: str) -> Response:
    """One answer of the API (its JSON envelope) → Response, or IncusError carrying Incus's message."""
    try:
        doc = json.loads(body)
    except ValueError:
        raise IncusError(f"{what}: HTTP {status}, not JSON: {body[:200]!r}", status=status) from None
    if not isinstance(doc, dict):
        raise IncusError(f"{what}: HTTP {status}, unexpected answer {str(doc)[:200]}", status=status)
    if doc.get("type") == "error" or status >= 400:
        message = doc.get("error") or f"HTTP {status}"
        raise IncusError(f"{what}: {message}", status=int(doc.get("error_code") or status))
    return Response(doc.get("type", ""), doc.get("metadata"), doc.get("operation") or "")


def with_query(path: str, **params: str | int | None) -> str:
    """Add query parameters to a path that may already carry some (Incus's URLs often do: ?project=…)."""
    base, _, query = path.partition("?")
    pairs = urllib.parse.parse_qsl(query, keep_blank_values=True)
    names = {name for name, _ in pairs}
    pairs += [(name, str(value)) for name, value in params.items() if value is not None and name not in names]
    return f"{base}?{urllib.parse.urlencode(pairs)}" if pairs else base


def wait_path(operation: str, timeout: int) -> str:
    """`/1.0/operations/<id>?project=p` → `/1.0/operations/<id>/wait?project=p&timeout=N`.

    The operation URL carries a query string: appending `/wait` to it gives `…?project=p/wait…`, a plain GET
    that answers "Running" at once (the prototype's trap). The path and the query must be split first."""
    base, _, query = operation.partition("?")
    return with_query(f"{base.rstrip('/')}/wait" + (f"?{query}" if query else ""), timeout=timeout)


def wait_expired(exc: IncusError) -> bool:
    """/wait?timeout=N on an operation still running after N s: Incus 6.0 answers an *error* envelope (error_code
    500, "context deadline exceeded"), not the operation. That means "ask again", not "failed"."""
    return exc.status == 500 and str(exc).endswith("context deadline exceeded")


def operation_outcome(op: dict, what: str) -> dict:
    """A finished operation → its metadata; a failed or cancelled one → IncusError with Incus's `err`."""
    code = int(op.get("status_code") or 0)
    if code >= 400 or op.get("status") in ("Failure", "Cancelled"):
        raise IncusError(f"{what}: {op.get('err') or op.get('status')}", status=code)
    return op


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float):
        super().__init__("incus", timeout=timeout)  # the Host header only; the socket is a file
        self.socket_path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self.socket_path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


class _HttpsConnection(http.client.HTTPSConnection):
    """HTTPS whose TCP socket may be opened in a given network namespace (where the cluster is reachable)."""

    def __init__(self, host: str, port: int, context: ssl.SSLContext, timeout: float, namespace: str | None):
        super().__init__(host, port, context=context, timeout=timeout)
        self.namespace = namespace

    def connect(self) -> None:
        if self.namespace is None:
            return super().connect()
        from ..netjoin import run_inside  # a socket keeps the namespace it was created in
        sock = run_inside(self.namespace, lambda: socket.create_connection((self.host, self.port), self.timeout))
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


class Client:
    """Requests to one Incus server (a cluster member). `project` is added to every path that lacks one."""

    def __init__(self, endpoint: str, connect, *, timeout: float = TIMEOUT_S, project: str | None = None):
        self.endpoint, self._connect, self.timeout, self.project = endpoint, connect, timeout, project

    @classmethod
    def unix(cls, socket_path: str, **kwargs) -> Client:
        return cls(f"unix:{socket_path}", lambda timeout: _UnixConnection(socket_path, timeout), **kwargs)

    @classmethod
    def https(cls, address: str, *, cert: str, key: str, fingerprint: str, namespace: str | None = None,
              **kwargs) -> Client:
        """`address` is host:port; `fingerprint` the SHA-256 of the cluster certificate (any usual spelling)."""
        host, _, port = address.rpartition(":")
        context = PinnedContext(ssl.PROTOCOL_TLS_CLIENT)
        context.pinned = normalize(fingerprint)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE  # the pin replaces the chain: the cluster certificate is self-signed
        try:
            context.load_cert_chain(cert, key)
        except (OSError, ssl.SSLError) as exc:
            raise IncusError(f"the client certificate {cert} (key {key}) cannot be used: {exc}") from None
        return cls(f"https://{address}",
                   lambda timeout: _HttpsConnection(host, int(port), context, timeout, namespace), **kwargs)

    def with_project(self, project: str | None) -> Client:
        return Client(self.endpoint, self._connect, timeout=self.timeout, project=project)

    # --- raw requests ------------------------------------------------------------------------------------------

    def request(self, method: str, path: str, body: Any = None, *, data: BinaryIO | bytes | None = None,
                headers: dict[str, str] | None = None, timeout: float | None = None) -> tuple[int, bytes]:
        """(HTTP status, body). `body` is sent as JSON; `data` as is (a file is streamed)."""
        path = with_query(path, project=self.project)
        what = f"{method} {self.endpoint}{path}"
        sent = dict(headers or {})
        if body is not None:
            data = json.dumps(body).encode()
            sent.setdefault("Content-Type", "application/json")
        conn = self._connect(self.timeout if timeout is None else timeout)
        try:
            conn.request(method, path, body=data, headers=sent)
            answer = conn.getresponse()
            return answer.status, answer.read()
        except CertificateMismatch:
            raise IncusError(f"{what}: the server's certificate is not the pinned one") from None
        except (socket.timeout, TimeoutError):
            raise IncusTimeout(f"{what}: no answer within {conn.timeout} s") from None
        except (OSError, http.client.HTTPException) as exc:
            raise IncusError(f"{what}: {exc}") from None
        finally:
            conn.close()

    def call(self, method: str, path: str, body: Any = None, **kwargs) -> Response:
        status, raw = self.request(method, path, body, **kwargs)
        return parse_response(status, raw, f"{method} {path}")

    # --- what callers use ----------------------------------------------------------------------------------------

    def get(self, path: str, **kwargs) -> Any:
        return self.call("GET", path, **kwargs).metadata

    def exists(self, path: str) -> bool:
        try:
            self.call("GET", path)
        except IncusError as exc:
            if exc.status == 404:
                return False
            raise
        return True

    def run(self, method: str, path: str, body: Any = None, *, timeout: float = OPERATION_TIMEOUT_S,
            **kwargs) -> Any:
        """A request, and for an async answer its operation waited on: the metadata either way."""
        answer = self.call(method, path, body, **kwargs)
        if answer.type != "async":
            return answer.metadata
        return self.wait(answer.operation, timeout=timeout, what=f"{method} {path}").get("metadata")

    def wait(self, operation: str, *, timeout: float = OPERATION_TIMEOUT_S, what: str = "") -> dict:
        """Block until the operation ends (success: its record; failure: IncusError), at most `timeout` s.

        /wait is asked in slices shorter than the request timeout, so a slow operation never looks like a dead
        server, and an operation on another cluster member is waited on as well as a local one."""
        what = what or operation
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise IncusTimeout(f"{what}: operation {operation} still running after {timeout:.0f} s")
            slice_s = max(1, min(WAIT_SLICE_S, int(left)))
            try:
                op = self.get(wait_path(operation, slice_s), timeout=slice_s + TIMEOUT_S)
            except IncusTimeout:
                continue
            except IncusError as exc:
                if wait_expired(exc):
                    continue
                raise
            if op.get("status") not in ("Running", "Pending"):
                return operation_outcome(op, what)

    def exec(self, instance: str, command: list[str], *, environment: dict[str, str] | None = None,
             cwd: str | None = None, timeout: float = 120) -> ExecResult:
        """Run a command in an instance, output recorded by Incus (no websocket): (exit status, stdout, stderr).

        On timeout the command is not stopped (Incus cannot cancel a recorded exec): IncusTimeout says so."""
        body: dict[str, Any] = {"command": command, "environment": environment or {}, "interactive": False,
                                "wait-for-websocket": False, "record-output": True}
        if cwd:
            body["cwd"] = cwd
        meta = self.run("POST", f"/1.0/instances/{instance}/exec", body, timeout=timeout) or {}
        logs = meta.get("output") or {}
        out = {}
        for fd, log in logs.items():
            status, raw = self.request("GET", log)
            out[fd] = raw.decode("utf-8", errors="replace") if status == 200 else ""
            self.request("DELETE", log)  # the logs stay in the instance's log directory otherwise
        return ExecResult(int(meta.get("return", -1)), out.get("1", ""), out.get("2", ""))
