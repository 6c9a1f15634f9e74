"""A hostile fake ShipEngine: a real HTTP server on loopback whose behaviour is chosen by the
tracking number's prefix (the way the adversarial review's evil_shipengine.py worked).

    R429LONG-*  429 with Retry-After: 3600          R429INF-*  429 with Retry-After: 1e308
    R429NAN-*   429 with Retry-After: nan           SLOW-*     200, one byte every 0.5 s
    BIG-*       200, a 50 MB body (Content-Length)  BIGCHUNK-* 200, 3 MB chunked, no length
    MANY-N      200 with N events (MANY-X: 100,000)
    DEEP-*      100,000 levels of nesting           DEEPISH-*  50 levels (parses, too deep to keep)
    EDGE-*      dates at the calendar's edges with offsets, a 400-digit latitude,
                carrier_id > 2^63, NUL bytes in values and keys, a 50,000-character description
    KEYECHO-*   400 whose error echoes the API-Key header (message, code and request id)
    anything else: a normal answer with two events
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

EDGE_DATES = ("9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00+05:00")


def event(n: int, **extra: Any) -> dict[str, Any]:
    return {
        "occurred_at": f"2026-11-{1 + n % 28:02d}T{n % 24:02d}:{n % 60:02d}:00Z",
        "description": f"Scan {n}",
        "city_locality": "MEMPHIS",
        "state_province": "TN",
        "country_code": "US",
        "status_code": "IT",
        "latitude": 35.1 + (n % 100) / 1000,
        "longitude": -90.0,
        **extra,
    }


def answer(number: str, events: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {
        "tracking_number": number,
        "status_code": "IT",
        "status_description": "In Transit",
        "carrier_code": "fedex",
        "events": events,
        **extra,
    }


def edge_answer(number: str) -> dict[str, Any]:
    huge = int("9" * 400)
    return answer(
        number,
        [
            event(1, occurred_at=EDGE_DATES[0], carrier_occurred_at=EDGE_DATES[0]),
            event(2, occurred_at=EDGE_DATES[1], carrier_occurred_at=EDGE_DATES[1]),
            event(3, latitude=huge, longitude=huge),
            event(4, description="NUL\x00inside", city_locality="MEM\x00PHIS", signer="J\x00S"),
            event(5, description="x" * 50_000),
            {"occurred_at": "2026-11-20T10:00:00Z", "description": "keys", "bad\x00key": "v\x00"},
        ],
        carrier_id=99999999999999999999,
        ship_date=EDGE_DATES[1],
        estimated_delivery_date=EDGE_DATES[0],
        actual_delivery_date="0001-01-01",
        exception_description="\x00" * 10,
    )


class Hostile:
    """The server and what it saw (paths asked, API keys sent)."""

    def __init__(self, api_key: str = "") -> None:
        self.api_key = api_key
        self.requests: list[str] = []
        self.slow_byte_seconds = 0.5
        hostile = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                hostile.requests.append(self.path)
                query = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
                number = query.get("tracking_number", "")
                if "/labels/" in self.path:
                    number = urlsplit(self.path).path.split("/")[3]
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    hostile.serve(self, number, query)

            def log_message(self, format: str, *args: object) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    # -- behaviours --------------------------------------------------------------------------
    def send(self, h: BaseHTTPRequestHandler, status: int, body: bytes, **headers: str) -> None:
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        for name, value in headers.items():
            h.send_header(name.replace("_", "-"), value)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    def serve(self, h: BaseHTTPRequestHandler, number: str, query: dict[str, str]) -> None:
        prefix = number.split("-", 1)[0].upper()
        rate_limited = json.dumps(
            {"errors": [{"error_code": "rate_limit_exceeded", "message": "Slow down"}]}
        ).encode()
        if prefix in {"R429LONG", "R429INF", "R429NAN"}:
            value = {"R429LONG": "3600", "R429INF": "1e308", "R429NAN": "nan"}[prefix]
            self.send(h, 429, rate_limited, Retry_After=value)
        elif prefix == "SLOW":
            body = json.dumps(answer(number, [event(1)])).encode()
            h.send_response(200)
            h.send_header("Content-Type", "application/json")
            h.send_header("Content-Length", str(len(body)))
            h.end_headers()
            for byte in body:
                h.wfile.write(bytes([byte]))
                h.wfile.flush()
                time.sleep(self.slow_byte_seconds)
        elif prefix == "BIG":
            h.send_response(200)
            h.send_header("Content-Type", "application/json")
            h.send_header("Content-Length", str(50_000_000))
            h.end_headers()
            chunk = b" " * 65536
            for _ in range(50_000_000 // 65536):
                h.wfile.write(chunk)
        elif prefix == "BIGCHUNK":
            h.send_response(200)
            h.send_header("Content-Type", "application/json")
            h.send_header("Transfer-Encoding", "chunked")
            h.end_headers()
            piece = b"[" + b" " * 65535
            for _ in range(48):  # 3 MB
                h.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            h.wfile.write(b"0\r\n\r\n")
        elif prefix == "MANY":
            suffix = number.split("-", 1)[-1]
            count = int(suffix) if suffix.isdigit() else 100_000
            self.send(h, 200, json.dumps(answer(number, [event(i) for i in range(count)])).encode())
        elif prefix == "DEEP":
            self.send(h, 200, b'{"events": ' + b"[" * 100_000 + b"]" * 100_000 + b"}")
        elif prefix == "DEEPISH":
            nested: Any = "bottom"
            for _ in range(50):
                nested = {"n": nested}
            self.send(h, 200, json.dumps(answer(number, [event(1)], extra=nested)).encode())
        elif prefix == "EDGE":
            self.send(h, 200, json.dumps(edge_answer(number)).encode())
        elif prefix == "KEYECHO":
            key = h.headers.get("API-Key", "")
            body = {
                "request_id": f"rid-{key}",
                "errors": [
                    {
                        "error_code": f"invalid_key {key}",
                        "message": f"Invalid API key {key}",
                        "error_source": "shipengine",
                    }
                ],
            }
            self.send(h, 400, json.dumps(body).encode(), x_shipengine_requestid=f"hdr-{key}")
        else:
            self.send(h, 200, json.dumps(answer(number, [event(1), event(2)])).encode())


@contextlib.contextmanager
def running(api_key: str = "") -> Iterator[Hostile]:
    hostile = Hostile(api_key)
    thread = threading.Thread(
        target=hostile.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield hostile
    finally:
        hostile.server.shutdown()
        hostile.server.server_close()
