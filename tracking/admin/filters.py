"""List filters shared by the admin pages. "Needs attention" is the one rule of
ShipmentQuerySet.needs_attention(), as on the staff list."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from ..domain import statuses
from ..domain.statuses import NEVER_FETCHED, NEVER_FETCHED_PARAM
from ..models.shipments import DEFAULT_QUIET_DAYS


class SetOrNotFilter(admin.SimpleListFilter):
    """Yes/no on whether a timestamp field is set."""

    field = ""
    labels: tuple[Any, Any] = (_("Yes"), _("No"))

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("yes", self.labels[0]), ("no", self.labels[1])]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() in {"yes", "no"}:
            return queryset.filter(**{f"{self.field}__isnull": self.value() == "no"})
        return queryset


def status_choices() -> list[tuple[str, Any]]:
    return [(code, f"{statuses.words(code)} ({code})") for code in statuses.CODES]


class StatusFilter(admin.SimpleListFilter):
    title = _("status")
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [*status_choices(), (NEVER_FETCHED_PARAM, statuses.words(NEVER_FETCHED))]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        if value == NEVER_FETCHED_PARAM:
            return queryset.filter(status_code=NEVER_FETCHED)
        if value:
            return queryset.filter(status_code=value)
        return queryset


class NeedsAttentionFilter(admin.SimpleListFilter):
    """The staff portal's "needs attention": an exception, a delivery attempt, no news for a
    while, or refreshes failing."""

    title = _("needs attention")
    parameter_name = "attention"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [
            ("yes", _("Any reason")),
            ("exception", _("Exception")),
            ("attempt", _("Delivery attempt")),
            ("quiet", _("No news for %(days)d days") % {"days": DEFAULT_QUIET_DAYS}),
            ("failed", _("Refresh failing")),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        if value == "yes":
            return queryset.needs_attention()  # type: ignore[attr-defined]
        if value in {"exception", "attempt", "quiet", "failed"}:
            return queryset.needs_attention([value])  # type: ignore[attr-defined]
        return queryset


class EventStatusFilter(admin.SimpleListFilter):
    # A fixed list: listing the distinct values would scan the whole (large) events table.
    title = _("status")
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return status_choices()

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return queryset.filter(status_code=self.value()) if self.value() else queryset
