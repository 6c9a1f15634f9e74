"""A ShipEngine-compatible simulator: demo mode, tests, load tests and fault injection.

No Django in here. One `Sandbox` answers the API's URLs; it is used two ways:

- in-process: `sandbox_session()` returns a `requests.Session` whose transport is the sandbox, so the
  real client code (headers, error parsing, retries) runs unchanged without a network;
- as a real HTTP server: `make_server()` / `serve_in_thread()` (``python manage.py shipengine_sandbox
  --port N``), with optional added latency and a random fault rate.

Demo tracking numbers (any carrier code unless one is named):

=========================  ==============  ====  ===================================================
number                     carrier         code  what it shows
=========================  ==============  ====  ===================================================
9405511899223197428490     stamps_com/usps DE    the seed document's example answer, verbatim
1Z999AA10123456784         ups             AC    label created, accepted at the origin hub
794698432183               fedex           IT    Los Angeles -> Memphis hub -> on to New York
9400111899562537683144     usps            NY    label printed, not yet in the carrier's system
4582917364                 dhl_express     EX    Leipzig -> Cincinnati, held by customs
1Z12345E0205271688         ups             AT    Louisville -> Chicago, delivery attempted
7023210039414604           canada_post     UN    two scans without a status mapping
9205590164917312751089     usps            SP    Seattle, left at a parcel locker for collection
1Z5R89390357567127         ups             DE    Louisville -> Atlanta, signed for by J SMITH
612999999999               fedex           IT    a live parcel: moves on over the next 30 hours
=========================  ==============  ====  ===================================================

Any other well-formed number gets a journey made up from the number itself (same number, same
journey), so load tests can use millions of numbers. Fault numbers answer with an error every time:
FAULT-429 (429 with Retry-After: 1), FAULT-500, FAULT-TIMEOUT (no answer until the client gives
up), FAULT-BADJSON (HTML instead of JSON), FAULT-TRUNCATED (cut-off JSON), FAULT-401, FAULT-404
(404 invalid_identifier). Label ids: se-324658 (the seed example), se-1001 .. se-1009 (the table
above, in order); others answer 404.

Webhooks: the sandbox signs its deliveries like ShipEngine (RSA-SHA256 over
"<x-shipengine-timestamp>.<raw body>", headers x-shipengine-rsa-sha256-key-id / -signature /
x-shipengine-timestamp) with its own RSA key, whose JWKS it serves at GET /jwks.
`deliver_track_webhook()` (or POST /v1/sandbox/webhooks/deliver?carrier_code=&tracking_number=)
sends an API_TRACK delivery to a URL or to every `track` webhook registered with it, with the
custom headers configured on each. `rate_limit_per_minute` makes it enforce a rate limit itself
(429 + Retry-After beyond it, counted in `rate_limited`), for load tests of the shared limiter.

Event times are fixed offsets from the sandbox's *epoch* (by default the moment demo mode first ran
on this machine), so every process and every poll sees the same events at the same times, and a
refresh adds only what is genuinely new.

Modules: `scenarios` (data), `journeys` (made-up journeys, answers), `simulator` (`Sandbox`),
`transport` (in-process), `server` (HTTP). Webhook signatures come from
`tracking.shipengine.webhook_signatures`, the one definition the receiver checks too.
"""

from .answers import SandboxResponse, error_body
from .journeys import generated_scenario, render_tracking
from .scenarios import (
    FAULT_NUMBERS,
    LABEL_CARRIERS,
    LABELS,
    SCENARIOS,
    SEED_NUMBER,
    STATUS_DESCRIPTIONS,
    seed_example,
)
from .server import make_server, serve_in_thread
from .simulator import SANDBOX_CARRIERS, Sandbox
from .transport import SandboxAdapter, default_sandbox, sandbox_session

__all__ = [
    "FAULT_NUMBERS",
    "LABELS",
    "LABEL_CARRIERS",
    "SANDBOX_CARRIERS",
    "SCENARIOS",
    "SEED_NUMBER",
    "STATUS_DESCRIPTIONS",
    "Sandbox",
    "SandboxAdapter",
    "SandboxResponse",
    "default_sandbox",
    "error_body",
    "generated_scenario",
    "make_server",
    "render_tracking",
    "sandbox_session",
    "seed_example",
    "serve_in_thread",
]
