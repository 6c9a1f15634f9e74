"""Staff forms: the shipment filters (read from the query string), "Add a package", and the
editable staff fields of a shipment."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Carrier, Shipment, Status
from .services import TrackingInputError, validate_tracking_number

NEVER_FETCHED = "none"  # status filter value for shipments the API has not answered for yet
_STATUS_VALUE = re.compile(r"^[A-Z]{1,8}$")


class StatusField(forms.MultipleChoiceField):
    """Known codes are offered; any well-formed code is accepted, because the API may send codes
    this program has never seen and staff must still be able to filter by them."""

    def valid_value(self, value: Any) -> bool:
        return value == NEVER_FETCHED or bool(_STATUS_VALUE.match(str(value).upper()))


class ShipmentFilterForm(forms.Form):
    SORTS = [
        ("-updated", _("Last update, newest first")),
        ("updated", _("Last update, oldest first")),
        ("eta", _("ETA, soonest first")),
        ("-eta", _("ETA, latest first")),
    ]
    ATTENTION = [
        ("exception", _("Exceptions")),
        ("attempt", _("Failed delivery attempts")),
        ("quiet", _("No new event for N days")),
        ("failed", _("Last refresh failed")),
    ]
    PAGE_SIZES = [(25, "25"), (50, "50"), (100, "100")]
    DEFAULT_QUIET_DAYS = 5

    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=200,
        strip=True,
        widget=forms.SearchInput(
            attrs={
                "placeholder": _("Tracking number, order, customer, city or postcode"),
                "autocomplete": "off",
                "spellcheck": "false",
            }
        ),
    )
    status = StatusField(
        label=_("Status"),
        required=False,
        choices=[*Status.choices, (NEVER_FETCHED, _("Not fetched yet"))],
        widget=forms.CheckboxSelectMultiple,
    )
    carrier = forms.CharField(label=_("Carrier"), required=False, max_length=64)
    shipped_from = forms.DateField(
        label=_("Shipped from"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    shipped_to = forms.DateField(
        label=_("Shipped to"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    updated_from = forms.DateField(
        label=_("Last update from"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    updated_to = forms.DateField(
        label=_("Last update to"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    attention = forms.MultipleChoiceField(
        label=_("Needs attention"),
        required=False,
        choices=ATTENTION,
        widget=forms.CheckboxSelectMultiple,
    )
    quiet_days = forms.IntegerField(
        label=_("Days without a new event"),
        required=False,
        min_value=1,
        max_value=365,
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "size": 3}),
    )
    sort = forms.ChoiceField(label=_("Sort by"), required=False, choices=SORTS)
    per_page = forms.TypedChoiceField(
        label=_("Per page"), required=False, choices=PAGE_SIZES, coerce=int, empty_value=None
    )

    def clean_status(self) -> list[str]:
        return [s.upper() if s != NEVER_FETCHED else s for s in self.cleaned_data["status"]]

    def clean_carrier(self) -> str:
        return (self.cleaned_data.get("carrier") or "").strip().lower()

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for start, end in (("shipped_from", "shipped_to"), ("updated_from", "updated_to")):
            if data.get(start) and data.get(end) and data[start] > data[end]:
                self.add_error(end, _("The end date is before the start date."))
        return data


class AddShipmentForm(forms.Form):
    carrier = forms.ModelChoiceField(
        label=_("Carrier"),
        queryset=Carrier.objects.active(),
        to_field_name="code",
        empty_label=_("Choose a carrier"),
    )
    tracking_number = forms.CharField(
        label=_("Tracking number"),
        max_length=100,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    reference = forms.CharField(label=_("Order reference"), required=False, max_length=100)
    customer_name = forms.CharField(label=_("Customer name"), required=False, max_length=200)
    customer_email = forms.EmailField(label=_("Customer email"), required=False)

    def clean_tracking_number(self) -> str:
        try:
            return validate_tracking_number(self.cleaned_data["tracking_number"])
        except TrackingInputError as exc:
            raise forms.ValidationError(str(exc)) from None


class ShipmentDetailsForm(forms.ModelForm):
    class Meta:
        model = Shipment
        fields = ["reference", "customer_name", "customer_email", "notes"]
        widgets = {"notes": forms.Textarea(attrs={"rows": 3})}
