"""The sandbox as a real HTTP server on the API's URLs (`manage.py shipengine_sandbox`), plus the
carriers' own tracking pages its answers link to (GET /track/<carrier>/<number>/), so that a link
followed from a demo page opens a page that exists."""

from __future__ import annotations

import contextlib
import html
import json
import logging
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

from .answers import SandboxResponse, error
from .simulator import Sandbox

logger = logging.getLogger(__name__)

_MAX_BODY = 10_000_000


def carrier_page(sandbox: Sandbox, path: str) -> SandboxResponse:
    """A plain stand-in for the carrier's website: the journey as the sandbox tells it."""
    parts = [unquote(p) for p in path.strip("/").split("/")]
    if len(parts) < 3:
        return SandboxResponse(404, b"Not found", {"Content-Type": "text/plain; charset=utf-8"})
    _track, code, number = parts[:3]
    answer = sandbox.handle(
        "GET",
        f"/v1/tracking?carrier_code={code}&tracking_number={number}",
        {"API-Key": sandbox.api_key or "sandbox"},
    )
    if answer.status != 200:
        return SandboxResponse(404, b"Not found", {"Content-Type": "text/plain; charset=utf-8"})
    data = json.loads(answer.body)
    rows = "".join(
        f"<li>{html.escape(e.get('carrier_occurred_at') or e.get('occurred_at') or '')} "
        f"{html.escape(e.get('description') or '')} {html.escape(e.get('city_locality') or '')}"
        "</li>"
        for e in data.get("events") or []
    )
    proof = "<p>Proof of delivery: signed at the door (simulated).</p>" if len(parts) > 3 else ""
    page = (
        "<!doctype html><html lang='en'><meta charset='utf-8'>"
        f"<title>{html.escape(code)} {html.escape(number)} (sandbox)</title>"
        f"<h1>{html.escape(code)}: {html.escape(number)}</h1>"
        "<p>This is the ShipEngine sandbox's stand-in for the carrier's own tracking page.</p>"
        f"<p>Status: {html.escape(data.get('status_description') or '')}</p>{proof}<ol>{rows}</ol>"
    )
    return SandboxResponse(200, page.encode(), {"Content-Type": "text/html; charset=utf-8"})


def make_server(
    sandbox: Sandbox,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    latency: float = 0.0,
    stall_seconds: float = 60.0,
) -> ThreadingHTTPServer:
    """A real HTTP server speaking the API's URLs. Port 0 picks a free port (server.server_port)."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _body(self) -> bytes | None:
            """The request body; None when its Content-Length is unreadable or too big."""
            raw = self.headers.get("Content-Length")
            if raw is None:
                return b""
            try:
                length = int(raw)
            except ValueError:
                return None
            if length < 0 or length > _MAX_BODY:
                return None
            return self.rfile.read(length) if length else b""

        def _serve(self) -> None:
            body = self._body()
            if body is None:
                answer = error(400, "invalid_field_value", "Content-Length is not a length.")
                self.close_connection = True
            elif self.command == "GET" and urlsplit(self.path).path.startswith("/track/"):
                answer = carrier_page(sandbox, urlsplit(self.path).path)
            else:
                if latency:
                    time.sleep(latency)
                try:
                    answer = sandbox.handle(
                        self.command, self.path, dict(self.headers.items()), body
                    )
                except Exception:  # a sandbox bug answers 500 as the API would, never a hang-up
                    logger.exception("The sandbox failed on %s %s", self.command, self.path)
                    answer = error(500, "unspecified", "The sandbox failed.", error_type="system")
            if answer.stall:
                time.sleep(stall_seconds)
            self.send_response(answer.status)
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            if answer.body and self.command != "HEAD":
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    if answer.drip:
                        for byte in answer.body:
                            self.wfile.write(bytes([byte]))
                            self.wfile.flush()
                            time.sleep(answer.drip)
                    else:
                        self.wfile.write(answer.body)

        # Every method reaches the simulator, which answers 405 (JSON) where the API would.
        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _serve
        do_TRACE = do_QUERY = _serve

        def log_message(self, format: str, *args: Any) -> None:  # quiet: load tests send a lot
            return None

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    return server


@contextlib.contextmanager
def serve_in_thread(sandbox: Sandbox, **kwargs: Any) -> Iterator[str]:
    """`with serve_in_thread(sandbox) as base_url:` a running server for the block."""
    server = make_server(sandbox, **kwargs)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
