"""The ShipEngine client as settings configure it. The only module that knows whether the API is
simulated: without SHIPENGINE_API_KEY every call goes to the in-process sandbox.

Also here, because they are part of that one decision: the sandbox's time origin and its webhook
signing key (files under var/, shared by every process on the machine), and the recorder that
writes one ApiCall row per HTTP attempt.
"""

from __future__ import annotations

import logging
from datetime import datetime
from functools import lru_cache
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings
from django.utils import timezone

from .. import sandbox
from ..models import ApiCall
from ..ops.logging import redact
from ..shipengine import CallRecord, ClientConfig, ShipEngineClient, webhook_signatures
from . import stopping
from .api_rate_limit import shared_rate_limiter

logger = logging.getLogger("shiptrack.services")


def is_simulated() -> bool:
    """True in sandbox mode (no API key): pages say so in a banner."""
    return bool(settings.SHIPENGINE_SANDBOX)


def _record_call(record: CallRecord) -> None:
    ApiCall.objects.create(
        method=record.method,
        endpoint=record.endpoint[:100],
        http_status=record.http_status,
        duration_ms=record.duration_ms,
        attempt=record.attempt,
        # The client already replaces the key in what it reports; this is the second lock.
        error_code=redact(record.error_code)[:64],
        request_id=redact(record.request_id)[:64],
        carrier_code=record.carrier_code[:64],
        tracking_number=record.tracking_number[:100],
        label_id=record.label_id[:64],
    )


@lru_cache(maxsize=4)
def _client_for(
    api_key: str, base_url: str, simulated: bool, timeouts: tuple[float, ...]
) -> ShipEngineClient:
    connect, read, attempts, budget, *rest = timeouts
    # Deadlines and the body limit; callers passing only the first four get the client's defaults.
    defaults = ClientConfig(api_key="")
    attempt_deadline, call_deadline, max_body = (
        *rest,
        defaults.attempt_deadline,
        defaults.call_deadline,
        float(defaults.max_body_bytes),
    )[:3]
    config = ClientConfig(
        api_key=api_key or "sandbox",
        base_url=base_url,
        connect_timeout=connect,
        read_timeout=read,
        max_attempts=int(attempts),
        retry_budget=budget,
        attempt_deadline=attempt_deadline,
        call_deadline=call_deadline,
        max_body_bytes=int(max_body),
    )
    session = None
    if simulated:
        simulator = sandbox.default_sandbox(epoch=sandbox_epoch(), carrier_pages=carrier_pages())
        session = sandbox.sandbox_session(base_url, simulator)
    return ShipEngineClient(
        config,
        session=session,
        observer=_record_call,
        limiter=shared_rate_limiter(),
        sleep=stopping.sleep,
        should_stop=stopping.should_stop,
    )


def get_client(*, interactive: bool = False) -> ShipEngineClient:
    """One pooled client per configuration. No API key -> the in-process sandbox.

    `interactive`: someone is waiting on a page, so the call gets fewer attempts, a short retry
    budget and a short deadline (a 429 or a shared pause asking for 60 s fails at once with "try
    again in N s" instead of hanging the page); workers and commands keep the full ones."""
    attempts, budget = settings.SHIPENGINE_MAX_ATTEMPTS, settings.SHIPENGINE_RETRY_BUDGET
    call_deadline = settings.SHIPENGINE_CALL_DEADLINE_SECONDS
    if interactive:
        attempts = min(attempts, 2)
        budget = min(budget, settings.SHIPENGINE_INTERACTIVE_RETRY_BUDGET)
        call_deadline = min(call_deadline, settings.SHIPENGINE_INTERACTIVE_CALL_DEADLINE_SECONDS)
    return _client_for(
        settings.SHIPENGINE_API_KEY,
        settings.SHIPENGINE_BASE_URL,
        is_simulated(),
        (
            settings.SHIPENGINE_CONNECT_TIMEOUT,
            settings.SHIPENGINE_READ_TIMEOUT,
            float(attempts),
            budget,
            min(settings.SHIPENGINE_ATTEMPT_DEADLINE_SECONDS, call_deadline),
            call_deadline,
            float(settings.SHIPENGINE_MAX_BODY_BYTES),
        ),
    )


def reset_clients() -> None:
    """Forget the configured clients (after settings change: tests, benchmarks)."""
    _client_for.cache_clear()


def sandbox_epoch() -> datetime:
    """The sandbox's time origin, shared by every process on this machine: from the setting
    SHIPENGINE_SANDBOX_EPOCH, else from var/sandbox-epoch.txt, written the first time it is needed."""
    if settings.SHIPENGINE_SANDBOX_EPOCH:
        return datetime.fromisoformat(settings.SHIPENGINE_SANDBOX_EPOCH)
    path = Path(settings.BASE_DIR) / "var" / "sandbox-epoch.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with path.open("x") as fh:  # exclusive create: the first process wins, the rest read it
            fh.write(timezone.now().replace(microsecond=0).isoformat())
    except FileExistsError:
        pass
    try:
        return datetime.fromisoformat(path.read_text().strip())
    except ValueError:  # a half-written or damaged file: start a new epoch
        path.write_text(timezone.now().replace(microsecond=0).isoformat())
        return datetime.fromisoformat(path.read_text().strip())


def carrier_pages() -> str:
    """Where the sandbox's answers link the carriers' own pages: this site's stand-ins
    (web/public/sandbox_pages.py), so that a link followed in the demo opens a page."""
    return settings.SITE_URL.rstrip("/") + "/sandbox/carrier"


def sandbox_signing_key() -> rsa.RSAPrivateKey:
    """Sandbox mode's webhook key, in a file under var/ so that every local process shares it."""
    path = Path(settings.BASE_DIR) / "var" / "sandbox-webhook-key.pem"
    return webhook_signatures.load_or_create_signing_key(path)


def local_sandbox(**options: object) -> sandbox.Sandbox:
    """A sandbox on this machine's epoch and webhook key (the sandbox server and webhook
    commands), so that what it sends this installation accepts."""
    return sandbox.Sandbox(
        epoch=sandbox_epoch(),
        signing_key=sandbox_signing_key(),
        **options,  # type: ignore[arg-type]
    )


def webhook_public_keys() -> dict[str, rsa.RSAPublicKey] | None:
    """In sandbox mode without a JWKS address: the sandbox's own key; else None (fetch them)."""
    if is_simulated() and not settings.SHIPENGINE_WEBHOOK_JWKS_URL:
        jwk = webhook_signatures.public_jwk(sandbox_signing_key().public_key())
        return webhook_signatures.keys_from_jwks({"keys": [jwk]})
    return None


def jwks_url() -> str:
    return settings.SHIPENGINE_WEBHOOK_JWKS_URL or (
        settings.SHIPENGINE_BASE_URL.rstrip("/") + "/jwks"
    )
