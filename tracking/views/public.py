"""Public pages: no login, nothing private.

- `home`: the lookup form (one field, an optional carrier select).
- `lookup`: POST; rate-limited per client address; a number with a carrier the format decides (or
  the customer chose) that the portal knows -> 303 to its page; anything else -> the same form
  page with one helpful sentence. Whether the form asks for the carrier depends on the number's
  format only, never on the database, so the answers list no parcels.
- `track_page`: the shareable page at /t/<token>/ (a random 256-bit token, not derived from the
  number). Shows only public fields: never customer, order reference, notes or the raw answer.
"""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from typing import Any

from django import forms
from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET, require_http_methods

from .. import carrier_formats, presentation, services, throttle
from ..context_processors import brand_accent
from ..models import Carrier, Shipment
from ..shipengine import ShipEngineError

logger = logging.getLogger("shiptrack.public")

TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{32,64}$")
MAX_EVENTS = 200
_NUMBER_OK = re.compile(r"^[A-Z0-9][A-Z0-9\-_.]*$")


# --------------------------------------------------------------------------------------------
# Lookup form
# --------------------------------------------------------------------------------------------
def carrier_choices() -> list[tuple[str, str]]:
    """Active carriers for the select, cached briefly (the list changes only through the admin)."""
    choices = cache.get("public:carrier-choices")
    if choices is None:
        choices = list(Carrier.objects.active().order_by("name").values_list("code", "name"))
        cache.set("public:carrier-choices", choices, 300)
    return choices


class LookupForm(forms.Form):
    number = forms.CharField(
        label=gettext_lazy("Tracking number"),
        required=False,
        strip=True,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "off",
                "autocapitalize": "characters",
                "spellcheck": "false",
                "inputmode": "text",
                "maxlength": "100",
                "aria-describedby": "number-help",
            }
        ),
    )
    carrier = forms.ChoiceField(
        label=gettext_lazy("Carrier"),
        required=False,
        widget=forms.Select(attrs={"aria-describedby": "carrier-help"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        carrier_field = self.fields["carrier"]
        assert isinstance(carrier_field, forms.ChoiceField)
        self._carriers = carrier_choices()
        carrier_field.choices = [("", _("Recognise it from the number")), *self._carriers]

    def put_first(self, codes: tuple[str, ...]) -> None:
        """List the carriers the number's format fits at the top of the select."""
        carrier_field = self.fields["carrier"]
        assert isinstance(carrier_field, forms.ChoiceField)
        likely = [c for c in self._carriers if c[0] in codes]
        others = [c for c in self._carriers if c[0] not in codes]
        carrier_field.choices = [("", _("Recognise it from the number")), *likely, *others]

    def clean_number(self) -> str:
        raw = self.cleaned_data.get("number") or ""
        number = services.normalize_tracking_number(raw)
        if not number:
            raise forms.ValidationError(
                _("Enter your tracking number: you will find it in your shipping confirmation.")
            )
        if len(number) > services.TRACKING_NUMBER_MAX:
            raise forms.ValidationError(
                _(
                    "That is too long for a tracking number (at most %(max)d characters). "
                    "Check that you copied only the number."
                )
                % {"max": services.TRACKING_NUMBER_MAX}
            )
        if not _NUMBER_OK.match(number):
            raise forms.ValidationError(
                _(
                    "A tracking number has only the letters A to Z and digits (and sometimes "
                    "dashes). Check the number and try again."
                )
            )
        return number

    def clean_carrier(self) -> str:
        return self.cleaned_data.get("carrier") or ""


def _carrier_names(codes: tuple[str, ...]) -> str:
    names = dict(carrier_choices())
    return _(" or ").join(names.get(code, code) for code in codes)


def _form_page(
    request: HttpRequest, form: LookupForm, *, message: str = "", status: int = 200
) -> HttpResponse:
    return render(
        request,
        "tracking/home.html",
        {"form": form, "message": message, "ask_carrier": bool(form.data.get("number"))},
        status=status,
    )


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "tracking/home.html", {"form": LookupForm()})


def _not_found_message() -> str:
    return _(
        "We could not find a parcel with that number and carrier. Check the number (it is in "
        "your shipping confirmation), choose the carrier if you know it, and try again. New "
        "parcels can take a few hours to appear."
    )


@require_http_methods(["GET", "POST"])
def lookup(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return redirect("public:home")
    limit = throttle.hit(
        throttle.client_key(request),
        limit=settings.PUBLIC_LOOKUP_RATE_LIMIT,
        window_seconds=settings.PUBLIC_LOOKUP_RATE_WINDOW_SECONDS,
    )
    if not limit.allowed:
        response = render(
            request,
            "tracking/public/too_many.html",
            {"retry_after": limit.retry_after},
            status=429,
        )
        response["Retry-After"] = str(limit.retry_after)
        return response

    form = LookupForm(request.POST)
    if not form.is_valid():
        return _form_page(request, form, status=400)
    number: str = form.cleaned_data["number"]
    chosen: str = form.cleaned_data["carrier"]

    if chosen:
        codes = carrier_formats.codes_for(chosen)
        carrier_code = chosen
    else:
        detection = carrier_formats.detect(number)
        if not detection.is_certain:
            if detection.candidates:
                form.put_first(detection.candidates)
                message = _(
                    "This number could be from %(carriers)s. Choose the carrier below and "
                    "look it up again."
                ) % {"carriers": _carrier_names(detection.candidates)}
            else:
                message = _(
                    "We could not tell the carrier from this number. Choose the carrier below "
                    "and look it up again."
                )
            return _form_page(request, form, message=message)
        codes, carrier_code = detection.codes, detection.carrier

    token = (
        Shipment.objects.filter(tracking_number=number, carrier__code__in=codes)
        .order_by("-updated_at")
        .values_list("public_token", flat=True)
        .first()
    )
    if token is None and settings.PUBLIC_LOOKUP_FETCH_UNKNOWN:
        token = _fetch_unknown(carrier_code, number)
    if token is None:
        return _form_page(request, form, message=_not_found_message())
    response = HttpResponseRedirect(reverse("public:track_page", args=[token]))
    response.status_code = 303  # See Other: the browser GETs the page, the POST is not repeated
    return response


def _fetch_unknown(carrier_code: str, number: str) -> str | None:
    try:
        shipment = services.track_shipment(
            carrier_code=carrier_code, tracking_number=number, interactive=True
        )
    except (ShipEngineError, services.TrackingInputError) as exc:
        # The customer sees the same "not found" sentence as for any unknown number.
        logger.info("public lookup fetch failed carrier=%s: %s", carrier_code, exc)
        return None
    return shipment.public_token


# --------------------------------------------------------------------------------------------
# The shareable page
# --------------------------------------------------------------------------------------------
def _refresh_if_stale(shipment: Shipment) -> tuple[Shipment, bool]:
    """Refresh an undelivered shipment not checked for PUBLIC_STALE_MINUTES, at most once per
    that interval per shipment (however many people open it), through the shared API rate limit.
    Returns the shipment to show and whether a refresh failed."""
    minutes = settings.PUBLIC_STALE_MINUTES
    if minutes <= 0 or shipment.is_final or not shipment.carrier.is_active:
        return shipment, False
    now = timezone.now()
    if shipment.last_checked_at and shipment.last_checked_at > now - timedelta(minutes=minutes):
        return shipment, False
    claim = throttle.hit(
        throttle.shared_key("refresh-on-open", str(shipment.pk)),
        limit=1,
        window_seconds=minutes * 60,
    )
    if not claim.allowed:
        return shipment, False
    try:
        services.refresh_shipment(shipment_id=shipment.pk, interactive=True)
    except ShipEngineError as exc:
        logger.info("refresh on open failed shipment=%s: %s", shipment.pk, exc.one_line())
        failed = True
    else:
        failed = False
    return Shipment.objects.select_related("carrier").get(pk=shipment.pk), failed


def _not_found_page(request: HttpRequest) -> HttpResponse:
    return render(request, "tracking/public/not_found.html", {"form": LookupForm()}, status=404)


@require_GET
@cache_control(private=True, no_cache=True)
def track_page(request: HttpRequest, token: str) -> HttpResponse:
    if not TOKEN_RE.match(token):
        return _not_found_page(request)
    shipment = (
        Shipment.objects.select_related("carrier")
        .only(*PUBLIC_FIELDS)
        .filter(public_token=token)
        .first()
    )
    if shipment is None:
        return _not_found_page(request)
    shipment, refresh_failed = _refresh_if_stale(shipment)
    events = list(shipment.events.newest_first().only(*PUBLIC_EVENT_FIELDS)[:MAX_EVENTS])
    last_updated = shipment.last_checked_at if not shipment.consecutive_failures else None
    context = {
        "shipment": shipment,
        "headline": presentation.headline(shipment, events),
        "status_words": presentation.status_words(shipment),
        "milestones": presentation.milestones(shipment, events),
        "eta": presentation.eta_text(shipment),
        "events": events,
        "points": presentation.map_points(events),
        "carrier_link": shipment.carrier_link,
        "last_updated": last_updated,
        "show_stale_note": refresh_failed or shipment.consecutive_failures > 0,
    }
    response = render(request, "tracking/public/track.html", context)
    # The token is the key to this page: no search engine, no Referer leaking it onwards.
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Referrer-Policy"] = "no-referrer"
    return response


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
    "tracking_url",
    "estimated_delivery_date",
    "actual_delivery_date",
    "exception_description",
    "signer",
    "last_event_at",
    "last_event_description",
    "last_checked_at",
    "consecutive_failures",
    "carrier__id",
    "carrier__code",
    "carrier__name",
    "carrier__is_active",
    "carrier__tracking_url_template",
)
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
    "latitude",
    "longitude",
)


# --------------------------------------------------------------------------------------------
# Branding
# --------------------------------------------------------------------------------------------
def _luminance(hex_color: str) -> float:
    value = hex_color.lstrip("#")
    if len(value) == 3:
        value = "".join(c * 2 for c in value)
    channels = [int(value[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


@require_GET
@cache_control(public=True, max_age=86400)
def brand_css(request: HttpRequest) -> HttpResponse:
    """The accent colour as a CSS rule (no inline style under the CSP), with the text colour
    that contrasts best with it."""
    accent = brand_accent()
    lum = _luminance(accent)
    # White text needs contrast (1.05 / (lum + .05)) >= 4.5; otherwise near-black text.
    on_accent = "#ffffff" if 1.05 / (lum + 0.05) >= 4.5 else "#111111"
    css = f":root {{ --brand: {accent}; --on-brand: {on_accent}; }}\n"
    return HttpResponse(css, content_type="text/css; charset=utf-8")
