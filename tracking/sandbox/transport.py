"""The sandbox as a `requests` transport: the real client runs unchanged, without a network."""

from __future__ import annotations

import threading
from datetime import datetime
from http import HTTPStatus
from typing import Any

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

from .simulator import Sandbox


class SandboxAdapter(BaseAdapter):
    """A requests transport that hands requests to a Sandbox instead of the network."""

    def __init__(self, sandbox: Sandbox) -> None:
        super().__init__()
        self.sandbox = sandbox

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: Any = None,
    ) -> requests.Response:  # type: ignore[override]
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode()
        answer = self.sandbox.handle(
            request.method or "GET", request.url or "", dict(request.headers), body
        )
        if answer.stall or answer.drip:
            raise requests.ReadTimeout(
                "Sandbox simulated a timeout: no answer before the read timeout"
            )
        response = requests.Response()
        response.status_code = answer.status
        response._content = answer.body
        response.headers = CaseInsensitiveDict(answer.headers)
        response.url = request.url or ""
        response.request = request
        response.reason = _reason(answer.status)
        response.encoding = "utf-8"
        return response

    def close(self) -> None:
        return None


_default_sandbox: Sandbox | None = None
_default_lock = threading.Lock()


def default_sandbox(epoch: datetime | None = None, **options: Any) -> Sandbox:
    global _default_sandbox
    with _default_lock:
        if _default_sandbox is None:
            _default_sandbox = Sandbox(epoch=epoch, **options)
        return _default_sandbox


def sandbox_session(base_url: str, sandbox: Sandbox | None = None) -> requests.Session:
    session = requests.Session()
    adapter = SandboxAdapter(sandbox or default_sandbox())
    session.mount(base_url.rstrip("/") + "/", adapter)
    return session


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""
