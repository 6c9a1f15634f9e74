"""Public pages: no login, nothing private.

- `home`: the lookup form (one field, an optional carrier select).
- `lookup`: POST; rate-limited per client address; a number with a carrier the format decides (or
  the customer chose) that the portal knows -> 303 to its page; anything else -> the same form
  page with one helpful sentence. Whether the form asks for the carrier depends on the number's
  format only, never on the database, so the answers list no parcels.
- `order_lookup`: POST; the order number with its email or postcode -> the list of that order's
  parcels, each linking to its page; a wrong pair and an unknown order get the same answer.
- `track_page`: the shareable page at /t/<token>/ (a random 256-bit token, not derived from the
  number). Shows only public fields: never customer, order reference, notes or the raw answer.
"""

from __future__ import annotations

import hashlib
import logging
import re
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.humanize.templatetags.humanize import naturaltime
from django.core.cache import BaseCache, caches
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.middleware.csp import get_nonce
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import get_conditional_response, patch_vary_headers
from django.utils.html import escape
from django.utils.http import http_date
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from ...domain import carrier_formats
from ...domain.numbers import TrackingInputError
from ...models import Shipment
from ...presentation.estimates import our_estimate
from ...presentation.facts import shipment_facts
from ...presentation.guidance import next_steps
from ...presentation.map import map_points
from ...presentation.milestones import milestones
from ...presentation.words import eta_text, headline, status_words
from ...queries.carriers import carrier_names
from ...services import throttling, tracking
from ...shipengine import ShipEngineError
from ..client_address import client_key
from .forms import LookupForm, OrderLookupForm

logger = logging.getLogger("shiptrack.public")

TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{32,64}$")
MAX_EVENTS = 200


def _form_page(
    request: HttpRequest,
    form: LookupForm,
    *,
    message: str = "",
    status: int = 200,
    **extra: Any,
) -> HttpResponse:
    """The lookup page again, with one sentence about the number (and `extra` context)."""
    context = {
        "form": form,
        "order_form": OrderLookupForm(),
        "message": message,
        "ask_carrier": bool(form.data.get("number")),
        **extra,
    }
    return render(request, "tracking/public/home.html", context, status=status)


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "tracking/public/home.html",
        {"form": LookupForm(), "order_form": OrderLookupForm()},
    )


def _not_found_message() -> str:
    return _(
        "We could not find a parcel with that number and carrier. Check the number (it is in "
        "your shipping confirmation), choose the carrier if you know it, and try again. New "
        "parcels can take a few hours to appear."
    )


def _too_many(request: HttpRequest, retry_after: int, *, order: bool = False) -> HttpResponse:
    response = render(
        request,
        "tracking/public/too_many.html",
        {
            "retry_after": retry_after,
            "number": request.POST.get("number", "")[:100],
            "order_form": OrderLookupForm(initial={"order": request.POST.get("order", "")[:100]})
            if order
            else None,
        },
        status=429,
    )
    response["Retry-After"] = str(retry_after)
    return response


def _count_lookup(request: HttpRequest) -> throttling.ThrottleResult:
    """One lookup of either kind (number or order) against the same budgets."""
    limit = throttling.hit(
        client_key(request),
        limit=settings.PUBLIC_LOOKUP_RATE_LIMIT,
        window_seconds=settings.PUBLIC_LOOKUP_RATE_WINDOW_SECONDS,
    )
    if limit.allowed and settings.PUBLIC_LOOKUP_GLOBAL_RATE_LIMIT > 0:
        # All addresses together: forged or rotating addresses cannot multiply the budget.
        limit = throttling.hit(
            throttling.shared_key("lookup-global", "all"),
            limit=settings.PUBLIC_LOOKUP_GLOBAL_RATE_LIMIT,
            window_seconds=settings.PUBLIC_LOOKUP_RATE_WINDOW_SECONDS,
        )
    return limit


def _stored_token(number: str, codes: tuple[str, ...]) -> str | None:
    return (
        Shipment.objects.filter(tracking_number=number, carrier__code__in=codes)
        .order_by("-updated_at")
        .values_list("public_token", flat=True)
        .first()
    )


@require_http_methods(["GET", "POST"])
def lookup(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return redirect("public:home")
    form = LookupForm(request.POST)
    if not form.is_valid():
        # A number we refuse reads no data: it does not use up the visitor's lookups.
        return _form_page(request, form, status=400)
    limit = _count_lookup(request)
    if not limit.allowed:
        return _too_many(request, limit.retry_after)
    number: str = form.cleaned_data["number"]
    chosen: str = form.cleaned_data["carrier"]

    if chosen:
        codes = carrier_formats.codes_for(chosen)
        carrier_code = chosen
    else:
        detection = carrier_formats.detect(number)
        if not detection.is_certain:
            number = detection.number or number
            # A format several carriers share: a parcel stored under exactly one of them is
            # the customer's (the same answer as choosing that carrier would give).
            candidates = detection.candidates
            tokens = {
                code: token
                for code in candidates
                if (token := _stored_token(number, carrier_formats.codes_for(code)))
            }
            if len(tokens) == 1:
                return _track_page_redirect(next(iter(tokens.values())))
            return _ask_carrier(request, form, candidates)
        codes, carrier_code = detection.codes, detection.carrier
        number = detection.number or number

    token = _stored_token(number, codes)
    if token is None and settings.PUBLIC_LOOKUP_FETCH_UNKNOWN:
        token = _fetch_unknown(carrier_code, number)
    if token is None:
        return _form_page(request, form, message=_not_found_message())
    return _track_page_redirect(token)


#: At most this many parcels are listed for one order (a shop splits an order into a few).
MAX_ORDER_PARCELS = 50


@require_POST
@never_cache
def order_lookup(request: HttpRequest) -> HttpResponse:
    """The parcels of an order, for the customer who knows its email or postcode. A wrong pair
    and an unknown order get the same page from the same one query (the lookup cannot tell
    anyone which orders exist), and both count against the same limits as a number lookup."""
    order_form = OrderLookupForm(request.POST)
    if not order_form.is_valid():
        # Refused input reads no data: it does not use up the visitor's lookups.
        return _order_page(request, order_form, status=400)
    limit = _count_lookup(request)
    if not limit.allowed:
        return _too_many(request, limit.retry_after, order=True)
    order: str = order_form.cleaned_data["order"]
    parcels = list(
        Shipment.objects.of_order(order, order_form.cleaned_data["contact"])
        .select_related("carrier")
        .only(*ORDER_FIELDS)
        .order_by("id")[:MAX_ORDER_PARCELS]
    )
    if not parcels:
        return _order_page(request, order_form, message=_order_not_found_message())
    rows = [{"shipment": s, "status_words": status_words(s), "eta": eta_text(s)} for s in parcels]
    return render(request, "tracking/public/order.html", {"order": order, "parcels": rows})


def _order_not_found_message() -> str:
    return _(
        "We could not find an order with that number and that email address or postcode. "
        "Check both against your order confirmation and try again: the email must be the one "
        "you ordered with. New orders can take a few hours to appear."
    )


def _order_page(
    request: HttpRequest, order_form: OrderLookupForm, *, message: str = "", status: int = 200
) -> HttpResponse:
    return render(
        request,
        "tracking/public/home.html",
        {
            "form": LookupForm(),
            "order_form": order_form,
            "order_message": message,
        },
        status=status,
    )


def _track_page_redirect(token: str) -> HttpResponse:
    response = HttpResponseRedirect(reverse("public:track_page", args=[token]))
    response.status_code = 303  # See Other: the browser GETs the page, the POST is not repeated
    return response


def _ask_carrier(
    request: HttpRequest, form: LookupForm, candidates: tuple[str, ...]
) -> HttpResponse:
    if candidates:
        form.put_first(candidates)
        message = _("This number could be from %(carriers)s. Which one sent your parcel?") % {
            "carriers": form.carrier_names(candidates)
        }
    else:
        message = _(
            "We could not tell the carrier from this number. Choose the carrier below and "
            "look it up again."
        )
    return _form_page(
        request,
        form,
        message=message,
        ask_carrier=True,
        candidates=form.candidate_choices(candidates),
        number=form.cleaned_data["number"],
    )


def _fetch_unknown(carrier_code: str, number: str) -> str | None:
    try:
        shipment = tracking.track_shipment(
            carrier_code=carrier_code, tracking_number=number, interactive=True
        )
    except (ShipEngineError, TrackingInputError) as exc:
        # The customer sees the same "not found" sentence as for any unknown number.
        logger.info("public lookup fetch failed carrier=%s: %s", carrier_code, exc)
        return None
    return shipment.public_token


def _not_found_page(request: HttpRequest) -> HttpResponse:
    return render(request, "tracking/public/not_found.html", {"form": LookupForm()}, status=404)


# Holes in a cached rendering, filled for each response: what is different for every request
# (the CSP nonce, the CSRF token) or with the time (how long ago, in words).
_NONCE, _CSRF = "@@shiptrack-csp-nonce@@", "@@shiptrack-csrf-token@@"
_UPDATED, _SCAN = "@@shiptrack-updated-words@@", "@@shiptrack-scan-words@@"
_CACHE_PREFIX = "shiptrack:public-page:v1:"


def _page_stamp(shipment: Shipment) -> str:
    """Everything of the stored shipment the page shows: the key of its cached rendering (the
    ingest changes updated_at and the summary with every new event)."""
    values = [getattr(shipment, name) for name in _STAMP_FIELDS]
    values += [getattr(shipment.carrier, f) for f in ("code", "name", "tracking_url_template")]
    # Our estimate changes apart from the shipment row (the analytics consumer writes it).
    estimate = getattr(shipment, "delivery_estimate", None)
    values += [getattr(estimate, f, None) for f in _ESTIMATE_FIELDS]
    return hashlib.sha256(repr(values).encode()).hexdigest()[:32]


def _render_page(request: HttpRequest, shipment: Shipment, *, show_stale_note: bool) -> str:
    """The page with its holes (see above): the same for everyone who opens it until the shipment
    changes."""
    events = list(shipment.events.newest_first().only(*PUBLIC_EVENT_FIELDS)[:MAX_EVENTS])
    facts = shipment_facts(shipment, events, carrier_names=carrier_names())
    context = {
        "shipment": shipment,
        "facts": facts,
        "our_estimate": our_estimate(shipment, carrier_name=facts.carrier_name),
        "guidance": next_steps(shipment, events, facts=facts, carrier_link=shipment.carrier_link),
        "share_url": settings.SITE_URL.rstrip("/") + request.path,
        # The page checks for news while it is open, until the parcel is delivered.
        "refresh_every": 0 if shipment.is_final else settings.PUBLIC_PAGE_REFRESH_SECONDS,
        "headline": headline(shipment, events),
        "status_words": status_words(shipment),
        "milestones": milestones(shipment, events),
        "eta": eta_text(shipment),
        "events": events,
        "points": map_points(events),
        "carrier_link": shipment.carrier_link,
        "last_updated": _last_updated(shipment),
        "last_updated_words": _UPDATED,
        "last_scan_words": _SCAN,
        "show_stale_note": show_stale_note,
        "csp_nonce": _NONCE,
        "csrf_token": _CSRF,
    }
    return render_to_string("tracking/public/track.html", context, request=request)


def _last_updated(shipment: Shipment) -> datetime | None:
    return shipment.last_checked_at if not shipment.consecutive_failures else None


def _time_words(shipment: Shipment) -> tuple[str, str]:
    """ "3 minutes ago" for the last check and the latest scan, as of now."""
    updated = _last_updated(shipment)
    return (
        str(naturaltime(updated)) if updated else "",
        str(naturaltime(shipment.last_event_at)) if shipment.last_event_at else "",
    )


@require_GET
def track_page(request: HttpRequest, token: str) -> HttpResponseBase:
    """Conditional GET: the ETag is a hash of everything the page says (the shipment's state, the
    language, the "how long ago" words), so a browser revalidating gets a 304 until something it
    would show changed; Last-Modified is the shipment's last change. The rendering is cached
    (PUBLIC_PAGE_CACHE_SECONDS) under the shipment's state: opening a page again costs one
    indexed query."""
    if not TOKEN_RE.match(token):
        return _not_found_page(request)
    shipment = (
        Shipment.objects.select_related("carrier", "delivery_estimate")
        .only(*PUBLIC_FIELDS)
        .filter(public_token=token)
        .first()
    )
    if shipment is None:
        return _not_found_page(request)
    shipment, refresh_failed = tracking.refresh_if_stale(shipment=shipment)
    stale_note = refresh_failed or shipment.consecutive_failures > 0
    language = get_language() or ""
    stamp = _page_stamp(shipment)
    words = _time_words(shipment)
    etag = hashlib.sha256(
        repr((stamp, language, stale_note, words, timezone.now().year)).encode()
    ).hexdigest()[:32]
    last_modified = shipment.updated_at
    headers = {
        # The token is the key to this page: no search engine, no Referer leaking it onwards.
        # same-origin, not no-referrer: no other site (carrier, map tiles) is told the URL, and
        # the page's own POST forms (the language switcher) keep a real Origin header, which
        # Django's CSRF check needs (no-referrer makes browsers send "Origin: null").
        "X-Robots-Tag": "noindex, nofollow",
        "Referrer-Policy": "same-origin",
        "ETag": f'"{etag}"',
        # Private: the page is for whoever holds the link, not for shared caches. Revalidated
        # every time (the parcel may have moved); an unchanged page is a 304 without a body.
        "Cache-Control": "private, no-cache",
    }
    conditional = get_conditional_response(
        request,
        etag=headers["ETag"],
        last_modified=int(last_modified.timestamp()) if last_modified else None,
    )
    if conditional is not None:
        for name, value in headers.items():
            conditional[name] = value
        return conditional
    ttl = settings.PUBLIC_PAGE_CACHE_SECONDS
    key = f"{_CACHE_PREFIX}{token}:{stamp}:{language}:{int(stale_note)}:{timezone.now().year}"
    html = page_cache().get(key) if ttl > 0 else None
    if html is None:
        html = _render_page(request, shipment, show_stale_note=stale_note)
        if ttl > 0 and not refresh_failed:
            page_cache().set(key, html, ttl)
    # Read here, the nonce goes into this response's CSP header too (it is lazy until read).
    nonce = get_nonce(request)
    body = (
        html.replace(_NONCE, str(nonce) if nonce is not None else "")
        .replace(_CSRF, get_token(request))
        .replace(_UPDATED, escape(words[0]))
        .replace(_SCAN, escape(words[1]))
    )
    response = HttpResponse(body)
    for name, value in headers.items():
        response[name] = value
    if last_modified:
        response["Last-Modified"] = http_date(last_modified.timestamp())
    patch_vary_headers(response, ["Accept-Language", "Cookie"])
    return response


def page_cache() -> BaseCache:
    """The cache of rendered public pages (settings.CACHES["public_pages"])."""
    return caches["public_pages"]


# Only what the page shows is loaded: the staff-only fields never leave the database here.
PUBLIC_FIELDS = (
    "id",
    "public_token",
    "tracking_number",
    "status_code",
    "status_description",
    "status_detail_code",
    "status_detail_description",
    "carrier_status_description",
    "api_carrier_code",
    "tracking_url",
    "estimated_delivery_date",
    "actual_delivery_date",
    "exception_description",
    "signer",
    "last_event_at",
    "last_event_description",
    "last_checked_at",
    "consecutive_failures",
    "updated_at",
    "event_count",
    "carrier__id",
    "carrier__code",
    "carrier__name",
    "carrier__is_active",
    "carrier__tracking_url_template",
    # Our estimate (its own table, joined on the key); nothing in it is private.
    "delivery_estimate__predicted_on",
    "delivery_estimate__earliest_on",
    "delivery_estimate__latest_on",
    "delivery_estimate__parcels",
    "delivery_estimate__basis",
    "delivery_estimate__origin",
    "delivery_estimate__destination",
    "delivery_estimate__reason",
)
#: The order page lists each parcel by these (no customer field is read back).
ORDER_FIELDS = (
    "id",
    "public_token",
    "tracking_number",
    "status_code",
    "status_description",
    "status_detail_code",
    "carrier_status_description",
    "estimated_delivery_date",
    "actual_delivery_date",
    "last_event_at",
    "last_event_description",
    "carrier__id",
    "carrier__code",
    "carrier__name",
)
# The state of the shipment row the page depends on (its events change with event_count,
# last_event_at and updated_at).
_STAMP_FIELDS = [name for name in PUBLIC_FIELDS if "__" not in name and name != "id"] + [
    "updated_at",
    "event_count",
]
_ESTIMATE_FIELDS = [
    name.removeprefix("delivery_estimate__")
    for name in PUBLIC_FIELDS
    if name.startswith("delivery_estimate__")
]
PUBLIC_EVENT_FIELDS = (
    "id",
    "shipment_id",
    "occurred_at",
    "carrier_occurred_at",
    "description",
    "city_locality",
    "state_province",
    "postal_code",
    "country_code",
    "signer",
    "status_code",
    "status_detail_code",
    "status_description",
    "carrier_status_description",
    "status_detail_description",
    "latitude",
    "longitude",
    "proof_of_delivery_url",
)
