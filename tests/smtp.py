"""A real SMTP server for tests (aiosmtpd on loopback, in a thread), that can refuse on demand.

`SmtpSink.start()` listens on a free port; `messages` are the parsed messages it accepted, with
their envelope recipients. `refuse[address] = "451 4.3.0 Try later"` (or "550 ...") makes RCPT
for that address answer so (`refuse_once` for one time only); `fail_data` makes DATA answer with
that reply for every message.
"""

from __future__ import annotations

import email
import email.policy
import socket
import threading
from dataclasses import dataclass, field
from email.message import EmailMessage

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Received:
    envelope_to: list[str]
    message: EmailMessage


@dataclass
class SmtpSink:
    port: int = 0
    messages: list[Received] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)
    refuse_once: dict[str, str] = field(default_factory=dict)
    fail_data: str = ""
    #: Keep only a count (the benchmark: parsing 10,000 messages is not what it measures).
    count_only: bool = False
    count: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _controller: Controller | None = None

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        with self._lock:
            reply = self.refuse_once.pop(address, "") or self.refuse.get(address, "")
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.fail_data:
            return self.fail_data
        with self._lock:
            self.count += 1
            if not self.count_only:
                parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
                self.messages.append(Received(list(envelope.rcpt_tos), parsed))  # type: ignore[arg-type]
        return "250 Message accepted"

    def start(self) -> SmtpSink:
        self.port = self.port or free_port()
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def mailers(self) -> dict:
        return {
            "default": {
                "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
                "OPTIONS": {"host": "127.0.0.1", "port": self.port, "timeout": 5},
            }
        }

    def to(self, address: str) -> list[EmailMessage]:
        return [r.message for r in self.messages if address in r.envelope_to]
