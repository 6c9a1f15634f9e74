"""The sandbox as a real HTTP server on the API's URLs (`manage.py shipengine_sandbox`)."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .simulator import Sandbox


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

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            if latency:
                time.sleep(latency)
            answer = sandbox.handle(self.command, self.path, dict(self.headers.items()), body)
            if answer.stall:
                time.sleep(stall_seconds)
            self.send_response(answer.status)
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            if answer.body:
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    if answer.drip:
                        for byte in answer.body:
                            self.wfile.write(bytes([byte]))
                            self.wfile.flush()
                            time.sleep(answer.drip)
                    else:
                        self.wfile.write(answer.body)

        do_GET = do_POST = do_PUT = do_DELETE = _serve

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
