"""E-mail updates on the public page: subscribe (double opt-in), confirm, unsubscribe.

- `subscribe`: POST from the form on the tracking page (templates/tracking/public/_subscribe.html);
  rate-limited per client address; the same "check your inbox" answer whether the address was new,
  waiting or confirmed already, so the form tells nobody who follows a parcel. No CSRF token: the
  form is the same for every visitor (the tracking page can be cached), and a forged request can
  do no more than the attacker could do with the form itself -- send a confirmation to an address,
  which starts nothing until its owner follows the link.
- `confirm` and `unsubscribe`: a page with one button (GET never changes anything: mail scanners
  open links); the POST does it. `unsubscribe` also takes RFC 8058's one-click POST
  ("List-Unsubscribe=One-Click") that mail clients send without a page or a cookie. The signed
  token is the authority for both, so they are CSRF-exempt: a forged request would need the
  token, and these pages send no Referer (their URL holds it), so a browser posts them with
  `Origin: null`, which Django's CSRF check would refuse.
- A tampered token, or one that has expired, gets a page saying so (400 / 410), changing nothing.
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from ...models import EMAIL_MAX, Frequency, Shipment
from ...services import notifications, throttling
from ..client_address import client_key
from .views import TOKEN_RE


class SubscribeForm(forms.Form):
    # Longer input is read (and refused with a clear sentence), never cut silently.
    email = forms.CharField(
        label=_("Your e-mail address"),
        max_length=EMAIL_MAX * 4,
        strip=False,
        error_messages={"required": _("Enter your e-mail address.")},
    )
    frequency = forms.ChoiceField(
        label=_("Which e-mails?"), choices=Frequency.choices, initial=Frequency.IMPORTANT
    )

    def clean_email(self) -> str:
        try:
            return notifications.normalise_email(self.cleaned_data["email"])
        except notifications.EmailRefused as exc:
            raise forms.ValidationError(exc.message, code=exc.code) from None


def _page(request: HttpRequest, context: dict[str, object], *, status: int = 200) -> HttpResponse:
    response = render(request, "tracking/public/email_updates.html", context, status=status)
    # Pages reached by a token: no search engine, no Referer carrying the token onwards.
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Referrer-Policy"] = "no-referrer"
    return response


@csrf_exempt
@require_POST
@never_cache
def subscribe(request: HttpRequest, token: str) -> HttpResponse:
    shipment = (
        Shipment.objects.only("id", "public_token", "tracking_number")
        .filter(public_token=token)
        .first()
        if TOKEN_RE.match(token)
        else None
    )
    if shipment is None:
        return _page(request, {"state": "no_parcel"}, status=404)
    form = SubscribeForm(request.POST)
    if not form.is_valid():
        # A refused address reads nothing and uses up none of the visitor's requests.
        return _page(request, {"state": "form", "form": form, "shipment": shipment}, status=400)
    limit = throttling.hit(
        client_key(request, "subscribe"),
        limit=settings.NOTIFY_SUBSCRIBE_RATE_LIMIT,
        window_seconds=settings.NOTIFY_SUBSCRIBE_RATE_WINDOW_SECONDS,
    )
    if not limit.allowed:
        response = _page(
            request,
            {"state": "too_many", "retry_after": limit.retry_after, "shipment": shipment},
            status=429,
        )
        response["Retry-After"] = str(limit.retry_after)
        return response
    notifications.subscribe(
        shipment_id=shipment.pk,
        email=form.cleaned_data["email"],
        frequency=form.cleaned_data["frequency"],
        language=get_language() or "",
    )
    return _page(
        request,
        {"state": "check_inbox", "email": form.cleaned_data["email"], "shipment": shipment},
    )


def _token_problem(request: HttpRequest, error: notifications.TokenError) -> HttpResponse:
    status = 410 if error.reason == "expired" else 400
    return _page(request, {"state": f"token_{error.reason}"}, status=status)


@csrf_exempt
@require_http_methods(["GET", "POST"])
@never_cache
def confirm(request: HttpRequest, token: str) -> HttpResponse:
    try:
        subscription = notifications.read_confirm_token(token)
    except notifications.TokenError as exc:
        return _token_problem(request, exc)
    if request.method == "POST":
        subscription = notifications.confirm(subscription_id=subscription.pk)
        return _page(request, {"state": "confirmed", "subscription": subscription, "token": token})
    return _page(request, {"state": "confirm", "subscription": subscription, "token": token})


@csrf_exempt
@require_http_methods(["GET", "POST"])
@never_cache
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    try:
        subscription = notifications.read_unsubscribe_token(token)
    except notifications.TokenError as exc:
        return _token_problem(request, exc)
    if request.method == "POST":
        subscription = notifications.unsubscribe(subscription_id=subscription.pk)
        return _page(
            request, {"state": "unsubscribed", "subscription": subscription, "token": token}
        )
    return _page(request, {"state": "unsubscribe", "subscription": subscription, "token": token})
