"""The Incus client's pure parts: the API's envelope, operation URLs (the `?project=` trap), failed operations.
Against the real daemon: tests/incus/."""
from __future__ import annotations

import json
import time

import pytest

from labgrader.incus import client as client_module
from labgrader.incus.client import (Client, IncusError, IncusTimeout, operation_outcome, parse_response, wait_expired, wait_path,
                                    with_query)


def envelope(**fields) -> bytes:
    return json.dumps({"type": "sync", "status": "Success", "status_code": 200, "operation": "", "error_code": 0,
                       "error": "", "metadata": None} | fields).encode()


def test_wait_path_keeps_the_query_after_wait():
    # What Incus returns as the operation URL of an instance created through a cluster member.
    assert (wait_path("/1.0/operations/5b8e?project=default", 20)
            == "/1.0/operations/5b8e/wait?project=default&timeout=20")
    assert wait_path("/1.0/operations/5b8e", 7) == "/1.0/operations/5b8e/wait?timeout=7"


def test_with_query_adds_without_overriding():
    assert with_query("/1.0/instances", project="lg-a") == "/1.0/instances?project=lg-a"
    assert with_query("/1.0/instances?recursion=1", project="lg-a") == "/1.0/instances?recursion=1&project=lg-a"
    # A URL Incus gave for another project keeps it; None adds nothing.
    assert with_query("/1.0/operations/x?project=default", project="lg-a") == "/1.0/operations/x?project=default"
    assert with_query("/1.0", project=None) == "/1.0"


def test_sync_and_async_answers():
    sync = parse_response(200, envelope(metadata={"api_version": "1.0"}), "GET /1.0")
    assert (sync.type, sync.metadata, sync.operation) == ("sync", {"api_version": "1.0"}, "")
    op = "/1.0/operations/5b8e?project=default"
    answer = parse_response(202, envelope(type="async", status="Operation created", status_code=100,
                                          operation=op, metadata={"id": "5b8e"}), "POST /1.0/instances")
    assert (answer.type, answer.operation) == ("async", op)


def test_an_error_carries_incus_message_on_one_line():
    body = json.dumps({"type": "error", "error": "Instance not found\n(project default)", "error_code": 404,
                       "metadata": None}).encode()
    with pytest.raises(IncusError) as caught:
        parse_response(404, body, "GET /1.0/instances/dc1")
    assert str(caught.value) == "GET /1.0/instances/dc1: Instance not found (project default)"
    assert caught.value.status == 404 and caught.value.exit_code == 3


def test_an_answer_that_is_not_the_envelope_is_an_error():
    with pytest.raises(IncusError, match="not JSON"):
        parse_response(502, b"<html>Bad gateway</html>", "GET /1.0")
    with pytest.raises(IncusError, match="unexpected answer"):
        parse_response(200, b"[1, 2]", "GET /1.0")
    with pytest.raises(IncusError, match="HTTP 500"):
        parse_response(500, envelope(), "GET /1.0")  # an error status without a message still fails


def test_a_failed_operation_raises_its_err():
    with pytest.raises(IncusError, match="create dc1: Failed creating instance record: exists") as caught:
        operation_outcome({"status": "Failure", "status_code": 400, "err": "Failed creating instance record: exists"},
                          "create dc1")
    assert caught.value.status == 400
    with pytest.raises(IncusError, match="Cancelled"):
        operation_outcome({"status": "Cancelled", "status_code": 401, "err": ""}, "create dc1")
    done = {"status": "Success", "status_code": 200, "metadata": {"return": 0}}
    assert operation_outcome(done, "exec") is done


def test_an_expired_wait_is_not_a_failure():
    # Incus 6.0.4's answer to /wait?timeout=1 on an instance still being created on another member (seen for real).
    body = (b'{"type":"error","status":"","status_code":0,"operation":"","error_code":500,'
            b'"error":"context deadline exceeded","metadata":null}')
    with pytest.raises(IncusError) as caught:
        parse_response(200, body, "GET /1.0/operations/c38c/wait")
    assert wait_expired(caught.value)
    with pytest.raises(IncusError) as caught:
        parse_response(500, envelope(type="error", error="Failed to start", error_code=500), "PUT state")
    assert not wait_expired(caught.value)


class _Server:
    """An HTTP server on a unix socket, answering every GET with `reply(path)` (None: never answer)."""

    def __init__(self, path, reply):
        import http.server
        import socketserver
        import threading
        self.seen: list[str] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 — http.server's name
                outer.seen.append(self.path)
                body = reply(self.path)
                if body is None:
                    time.sleep(3)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
            daemon_threads = True

            def get_request(self):  # http.server wants a (host, port) client address
                sock, _ = super().get_request()
                return sock, ("incus", 0)

        self.server = Server(str(path), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_a_server_that_never_answers_is_a_timeout(tmp_path):
    server = _Server(tmp_path / "unix.socket", lambda path: None)
    try:
        started = time.monotonic()
        with pytest.raises(IncusTimeout, match="no answer within 0.5 s"):
            Client.unix(str(tmp_path / "unix.socket"), timeout=0.5).get("/1.0")
        assert time.monotonic() - started < 2
    finally:
        server.close()


def test_an_operation_that_never_ends_is_a_timeout_on_the_callers_deadline(tmp_path, monkeypatch):
    expired = json.dumps({"type": "error", "error": "context deadline exceeded", "error_code": 500}).encode()
    server = _Server(tmp_path / "unix.socket", lambda path: expired)
    monkeypatch.setattr(client_module, "WAIT_SLICE_S", 1)
    try:
        started = time.monotonic()
        with pytest.raises(IncusTimeout, match="still running after 2 s"):
            Client.unix(str(tmp_path / "unix.socket")).wait("/1.0/operations/abc?project=lg-a", timeout=2)
        assert time.monotonic() - started < 4
        assert server.seen[0] == "/1.0/operations/abc/wait?project=lg-a&timeout=1"
    finally:
        server.close()


def test_a_missing_client_certificate_is_one_line(tmp_path):
    with pytest.raises(IncusError, match=r"the client certificate .*client.crt .* cannot be used"):
        Client.https("10.0.0.1:8443", cert=str(tmp_path / "client.crt"), key=str(tmp_path / "client.key"),
                     fingerprint="AB" * 32)
