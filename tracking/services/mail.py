"""Customer e-mails as messages: rendered in the recipient's language, branded, HTML with its CSS
inlined (css-inline) beside a plain-text part, with the one-click unsubscribe headers of RFC 8058
and RFC 2369 (`List-Unsubscribe`, `List-Unsubscribe-Post`), and sent through Django 6.1's
MAILERS (settings.EMAIL_URL). services/notifications.py decides what to send and when.

Nothing private reaches an e-mail: no customer name, order reference or staff note, only the
parcel's public facts and the link to its public page.
"""

from __future__ import annotations

import hashlib
import smtplib
from collections.abc import Sequence
from dataclasses import dataclass
from email.utils import parseaddr
from functools import lru_cache
from urllib.parse import urlsplit

import css_inline
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from ..domain.links import safe_http_url
from ..models import Notification, NotificationKind, Shipment, TrackingEvent
from ..presentation import dates
from ..presentation.brand import text_colour_on
from ..presentation.words import eta_text, event_place, event_text, headline, newest_event
from ..presentation.words import status_words as plain_status

#: Scans a message reads (the newest decides the headline and the "last scan" line).
EVENTS_FOR_MESSAGE = 10

_INLINER = css_inline.CSSInliner(keep_style_tags=False, load_remote_stylesheets=False)


@dataclass(frozen=True)
class Links:
    track: str
    unsubscribe: str = ""
    confirm: str = ""


def site_url(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


@lru_cache(maxsize=8)
def _url_around(name: str, site: str) -> tuple[str, str]:
    """The absolute URL of a one-token route, split around the token (reverse() once per route,
    not once per e-mail of a 10,000-e-mail run)."""
    marker = "TOKEN0marker0TOKEN"
    url = site.rstrip("/") + reverse(name, args=[marker])
    before, _marker, after = url.partition(marker)
    return before, after


def _url(name: str, token: str) -> str:
    before, after = _url_around(name, settings.SITE_URL)
    return f"{before}{token}{after}"


def track_url(shipment: Shipment) -> str:
    return _url("public:track_page", shipment.public_token)


def language_for(code: str) -> str:
    """A language this site speaks, closest to `code` (the default for anything unknown)."""
    try:
        return translation.get_supported_language_variant(code or settings.LANGUAGE_CODE)
    except LookupError:
        return settings.LANGUAGE_CODE


@lru_cache(maxsize=4)
def _mail_domain(from_email: str) -> str:
    address = parseaddr(from_email)[1]
    domain = address.rpartition("@")[2] or urlsplit(settings.SITE_URL).hostname or "localhost"
    return domain


def message_id(notification: Notification) -> str:
    """The same Message-ID for every attempt of one notification: a retry after a crash that
    came between the server's "250 OK" and our record of it can be recognised downstream."""
    digest = hashlib.sha256(f"{settings.SECRET_KEY}:{notification.dedupe_key}".encode())
    return f"<shiptrack.{notification.pk}.{digest.hexdigest()[:16]}@{_mail_domain(settings.DEFAULT_FROM_EMAIL)}>"


def _logo_url() -> str:
    value = settings.BRAND_LOGO_URL.strip()
    if value.startswith("/") and not value.startswith("//"):
        return site_url(value)
    return safe_http_url(value) or ""


def _support_url() -> str:
    value = settings.BRAND_SUPPORT_URL.strip()
    if value.startswith("mailto:"):
        return value
    return safe_http_url(value) or ""


def _last_scan(events: Sequence[TrackingEvent]) -> dict[str, str] | None:
    newest = newest_event(events)
    if newest is None:
        return None
    moment = dates.event_moment(newest)
    return {
        "what": event_text(newest),
        "where": event_place(newest),
        "when": dates.when(moment) if moment else "",
        "utc": dates.utc_text(moment),
    }


def _subject(notification: Notification, shipment: Shipment, status: str) -> str:
    brand = settings.BRAND_NAME
    if notification.kind == NotificationKind.CONFIRMATION:
        return _("Confirm e-mail updates for your parcel from %(brand)s") % {"brand": brand}
    if notification.kind == NotificationKind.TRACKING_LINK:
        return _("Track your parcel from %(brand)s") % {"brand": brand}
    return _("Your parcel: %(status)s") % {"status": status}


def build(
    notification: Notification,
    shipment: Shipment,
    events: Sequence[TrackingEvent],
    links: Links,
) -> EmailMultiAlternatives:
    """The message for one notification, in its language."""
    with translation.override(language_for(notification.language or shipment.language)):
        status = plain_status(shipment)
        line = headline(shipment, events)
        context = {
            "kind": notification.kind,
            "brand_name": settings.BRAND_NAME,
            "brand_accent": settings.BRAND_ACCENT_COLOR,
            "brand_on_accent": text_colour_on(settings.BRAND_ACCENT_COLOR),
            "brand_logo_url": _logo_url(),
            "support_url": _support_url(),
            "status_words": status,
            "headline": line.text,
            "headline_detail": line.detail,
            "eta": eta_text(shipment),
            "last_scan": _last_scan(events),
            "tracking_number": shipment.tracking_number,
            "links": links,
            "language": translation.get_language(),
            "confirm_hours": settings.NOTIFY_CONFIRM_TOKEN_HOURS,
        }
        scan = context["last_scan"]
        if scan and line.detail == " · ".join(p for p in (scan["what"], scan["where"]) if p):
            context["headline_detail"] = ""  # the "last scan" line says it already
        subject = _subject(notification, shipment, status)
        context["subject"] = subject
        text = render_to_string("tracking/email/message.txt", context)
        html = _INLINER.inline(render_to_string("tracking/email/message.html", context))
    headers = {
        "Message-ID": message_id(notification),
        # RFC 3834: an automatic message; vacation responders stay quiet.
        "Auto-Submitted": "auto-generated",
    }
    if links.unsubscribe:
        headers["List-Unsubscribe"] = f"<{links.unsubscribe}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[notification.recipient],
        headers=headers,
    )
    message.attach_alternative(html, "text/html")
    return message


def unsubscribe_url(token: str) -> str:
    return _url("public:unsubscribe", token)


def confirm_url(token: str) -> str:
    return _url("public:confirm_subscription", token)


# -- failures ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class SendFailure:
    message: str
    #: The server refused for good (5xx): retrying will not help.
    permanent: bool


def classify(exc: BaseException) -> SendFailure:
    """What an exception from the mail backend means for the retry."""
    code: int | None = None
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [c for c, _m in exc.recipients.values()]
        code = min(codes) if codes else None
        detail = "; ".join(
            f"{c} {m.decode(errors='replace') if isinstance(m, bytes) else m}"
            for c, m in exc.recipients.values()
        )
        text = f"Recipient refused: {detail}"
    elif isinstance(exc, smtplib.SMTPResponseException):
        code = exc.smtp_code
        error = exc.smtp_error
        text = f"{type(exc).__name__}: {code} {error.decode(errors='replace') if isinstance(error, bytes) else error}"
    else:
        text = f"{type(exc).__name__}: {exc}"
    permanent = code is not None and 500 <= code < 600
    return SendFailure(message=text[:1000], permanent=permanent)
