"""A GLPI 10.0.12 double: the REST API (`/apirest.php/…`, also `/api/…`) and the native inventory
(`/front/inventory.php`, and a POST with a body to `/` or `/index.php` as GLPI's index.php:69-74 does); the same
paths under `/glpi/` too.

Standard library only. In tests: `GlpiDouble(config).start()` gives the base URL. In a lab container, as a script
with its sibling modules (copy the whole directory):
    python3 /opt/glpi-double/server.py --config /etc/glpi-double/config.json --state /var/lib/glpi-double/state.json \
        --http-port 80 --https-port 443 --cert /etc/ssl/certs/ssl-cert-snakeoil.pem \
        --key /etc/ssl/private/ssl-cert-snakeoil.key
Config: {"user_token": "…", "app_token": "…" or null, "users": {"glpi": "password"}, "enabled_inventory": true,
"list_limit": 20, "api_clients": [{"ipv4_range": ["192.168.59.0", "192.168.59.255"], "app_token": "…"}]} and optionally "url_base_api" (GLPI's default http://localhost/glpi/api), "enable_api",
"enable_api_login_credentials" (GLPI's default is off; the double's is on), "inventory_frequency" (24).
What it does and does not reproduce: FIDELITY.md beside this file."""
from __future__ import annotations

import argparse
import json
import signal
import ssl
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

try:
    from .api import Api
    from .native_inventory import NativeInventory
    from .store import Store
except ImportError:  # run as a script: the sibling modules are on sys.path[0]
    from api import Api
    from native_inventory import NativeInventory
    from store import Store

DEFAULTS = {"app_token": None, "users": {}, "enabled_inventory": False, "list_limit": 20,
            "url_base_api": "http://localhost/glpi/api", "enable_api": True, "enable_api_login_credentials": True,
            "inventory_frequency": 24}


class GlpiDouble:
    def __init__(self, config: dict, state_path: Path | None = None):
        self.config = {**DEFAULTS, **config}
        self.store = Store(self.config, state_path)
        self.api = Api(self.store, self.config)
        self.inventory = NativeInventory(self.store, self.config)
        self._servers: list[tuple[_Server, threading.Thread]] = []
        self.log = False

    def respond(self, method: str, target: str, headers: dict, body: bytes,
                peer: str = "127.0.0.1") -> tuple[int, dict, bytes]:
        path, _, query = target.partition("?")
        if path == "/glpi" or path.startswith("/glpi/"):  # GLPI installed under /glpi, as url_base_api suggests
            path = path[len("/glpi"):] or "/"
        if path.startswith("/apirest.php") or path == "/api" or path.startswith("/api/"):
            return self.api.handle(method, path, query, headers, body, peer)
        if path == "/front/inventory.php" or (path in ("/", "/index.php") and method == "POST" and body):
            return self.inventory.handle(method, query, headers, body)
        if path in ("/", "/index.php"):
            return 200, {"Content-Type": "text/html; charset=UTF-8"}, b"<html><body>GLPI double</body></html>"
        return 404, {"Content-Type": "text/html; charset=UTF-8"}, b"Not Found"

    def start(self, host: str = "127.0.0.1", port: int = 0, *, context: ssl.SSLContext | None = None) -> str:
        """Serve on host:port (0: any free port); the base URL, e.g. http://127.0.0.1:40123."""
        double = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            server_version = "Apache"
            sys_version = ""
            timeout = 30  # a client that stalls holds one thread, for 30 s at most

            def setup(self) -> None:
                if isinstance(self.request, ssl.SSLSocket):  # the TLS handshake in this thread, not the listener's
                    self.request.settimeout(self.timeout)
                    self.request.do_handshake()
                super().setup()

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length > 0 else b""
                try:
                    status, headers, data = double.respond(self.command, self.path, dict(self.headers), body,
                                                           self.client_address[0])
                except Exception as exc:  # a bug of the double: say so, as PHP would with a 500
                    status, headers, data = 500, {"Content-Type": "text/plain"}, f"double error: {exc!r}".encode()
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = _serve

            def log_message(self, format, *args):  # noqa: A002 - the base class's name
                if double.log:
                    sys.stderr.write("glpi-double: " + format % args + "\n")

        server = _Server((host, port), Handler)
        server.double = self
        if context is not None:
            server.socket = context.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                  name=f"glpi-double-{port}", daemon=True)
        thread.start()
        self._servers.append((server, thread))
        scheme = "https" if context is not None else "http"
        shown = f"[{host}]" if ":" in host else host
        return f"{scheme}://{shown}:{server.server_address[1]}"

    def stop(self) -> None:
        for server, thread in self._servers:
            server.shutdown()
            server.server_close()
            thread.join(timeout=5)
        self._servers.clear()
        self.store.save()


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:  # a client gone mid-request or a failed handshake
        if self.double.log:
            super().handle_error(request, client_address)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="GLPI 10.0 double: REST API and native inventory")
    parser.add_argument("--config", required=True, type=Path)
    parser.add_argument("--state", type=Path)
    parser.add_argument("--host", default="0.0.0.0")
    parser.add_argument("--http-port", type=int, default=80)
    parser.add_argument("--https-port", type=int)
    parser.add_argument("--cert", type=Path)
    parser.add_argument("--key", type=Path)
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    if args.state:
        args.state.parent.mkdir(parents=True, exist_ok=True)
    double = GlpiDouble(json.loads(args.config.read_text()), args.state)
    double.log = args.verbose
    print(double.start(args.host, args.http_port), flush=True)
    if args.https_port:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.cert, args.key)
        print(double.start(args.host, args.https_port, context=context), flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    done.wait()
    double.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
