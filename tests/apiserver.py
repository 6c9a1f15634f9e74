"""A scripted HTTP server for the client's tests: pytest-httpserver, threaded, with the answers
these tests need (in order, once each; slow; a dropped connection) and the requests read back
exactly as they were sent.

The `httpserver` fixture (tests/conftest.py) gives one per test process, emptied before every test
and checked after it: a request nothing was scripted for fails the test."""

from __future__ import annotations

import json
import re
import socket
import threading
from typing import Any

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

ANY_PATH = re.compile(".*")
JSON = {"Content-Type": "application/json"}


def as_bytes(body: bytes | dict | list) -> bytes:
    return body if isinstance(body, bytes) else json.dumps(body).encode()


class ApiServer(HTTPServer):
    def __init__(self) -> None:
        super().__init__(host="127.0.0.1", port=0, threaded=True)
        self._idle = threading.Condition()
        self._in_flight = 0
        self._release = threading.Event()

    # -- scripting -------------------------------------------------------------------------------
    def then(
        self,
        status: int = 200,
        body: bytes | dict | list = b"{}",
        headers: dict[str, str] | None = None,
        *,
        delay: float = 0.0,
        drop: bool = False,
    ) -> None:
        """The answer to the next request, whatever its path (answers are given in order).
        `delay`: seconds before the status line (a read timeout when longer than the client's);
        `drop`: close the connection without an answer."""
        response = Response(
            as_bytes(body), status=status, headers=JSON if headers is None else headers
        )

        def handle(request: Request) -> Response:
            if delay:
                self._release.wait(delay)
            if drop:
                connection: socket.socket = request.environ["werkzeug.socket"]
                connection.shutdown(socket.SHUT_RDWR)
            return response

        self.expect_ordered_request(ANY_PATH).respond_with_handler(handle)

    def always(self, status: int, body: bytes | dict | list) -> None:
        """The same answer to every request."""
        self.expect_request(ANY_PATH).respond_with_data(as_bytes(body), status=status, headers=JSON)

    # -- what was asked --------------------------------------------------------------------------
    @property
    def url(self) -> str:
        """The base URL, as the client's SHIPENGINE_BASE_URL."""
        return self.url_for("/").rstrip("/")

    @property
    def requests(self) -> list[Request]:
        return [request for request, _response in self.log]

    @staticmethod
    def target(request: Request) -> str:
        """The path and query exactly as sent (werkzeug's `path` is percent-decoded)."""
        return request.environ["RAW_URI"]

    @property
    def paths(self) -> list[str]:
        return [f"{request.method} {self.target(request)}" for request in self.requests]

    # -- between tests ---------------------------------------------------------------------------
    def application(self, request: Request) -> Any:
        with self._idle:
            self._in_flight += 1
        try:
            return super().application(request)
        finally:
            with self._idle:
                self._in_flight -= 1
                self._idle.notify_all()

    def reset(self) -> None:
        """Cut short any answer still waiting, let every request finish (so that none is logged
        into the next test), then forget all scripts and requests."""
        self._release.set()
        with self._idle:
            self._idle.wait_for(lambda: self._in_flight == 0, timeout=10)
        self._release.clear()
        self.clear()
