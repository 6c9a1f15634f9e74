"""Carriers: the seed's list, kept in step with the account by `sync_carriers`."""

from __future__ import annotations

from urllib.parse import quote

from django.db import models
from django.utils.translation import gettext_lazy as _

from ..domain.numbers import CARRIER_CODE_MAX


class InactiveReason(models.TextChoices):
    ADMIN = "admin", _("switched off by an administrator")
    BILLING_PLAN = "billing_plan", _("disabled by the ShipEngine billing plan")
    PENDING_APPROVAL = "pending_approval", _("the ShipEngine connection awaits approval")


class CarrierQuerySet(models.QuerySet["Carrier"]):
    def active(self) -> CarrierQuerySet:
        return self.filter(is_active=True)


class Carrier(models.Model):
    code = models.CharField(_("carrier code"), max_length=CARRIER_CODE_MAX, unique=True)
    name = models.CharField(_("name"), max_length=120)
    # Other names the same code is known by (the seed lists "Australia Post eParcel" under
    # australia_post too); searched like the name.
    alternate_names = models.CharField(_("other names"), max_length=255, blank=True)
    shipengine_carrier_id = models.CharField(_("ShipEngine carrier_id"), max_length=25, blank=True)
    nickname = models.CharField(max_length=120, blank=True)
    friendly_name = models.CharField(max_length=120, blank=True)
    connection_status = models.CharField(max_length=32, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    #: Why an inactive carrier is inactive: an admin switched it off, or the account cannot
    #: track with it (sync_carriers: disabled by the billing plan, connection pending approval),
    #: in which case the next sync switches it on again once the account can.
    inactive_reason = models.CharField(
        _("why inactive"), max_length=32, blank=True, choices=InactiveReason.choices
    )
    tracking_url_template = models.CharField(
        _("tracking URL template"),
        max_length=500,
        blank=True,
        help_text=_("Used when the API gives no tracking URL; {tracking_number} is replaced."),
    )
    last_synced_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = CarrierQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def tracking_url_for(self, tracking_number: str) -> str:
        if not self.tracking_url_template:
            return ""
        return self.tracking_url_template.replace("{tracking_number}", quote(tracking_number))
