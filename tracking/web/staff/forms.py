"""Staff forms: the list state (read from the query string), "Add a package", a shipment's staff
details, and the CSV upload. Validation rules come from domain/; these forms word them."""

from __future__ import annotations

import csv
import io
import re
from datetime import date
from typing import Any

from django import forms
from django.conf import settings
from django.http import QueryDict
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ...domain import statuses
from ...domain.numbers import TrackingInputError, validate_tracking_number
from ...domain.statuses import NEVER_FETCHED_PARAM
from ...models import Carrier, Shipment
from ...models.shipments import DEFAULT_QUIET_DAYS
from ...queries.shipment_list import DEFAULT_PER_PAGE, DEFAULT_SORT, ORDERINGS, ListState
from ...services import csv_import

_STATUS_VALUE = re.compile(r"^[A-Z]{1,8}$")
# Dates a person can mean; beyond them the date arithmetic of a filter would overflow.
_FIRST_DAY = date(1900, 1, 1)
_LAST_DAY = date(2999, 12, 31)


class StatusField(forms.MultipleChoiceField):
    """Known codes are offered; any well-formed code is accepted, because the API may send codes
    this program has never seen and staff must still be able to filter by them."""

    def valid_value(self, value: Any) -> bool:
        return value == NEVER_FETCHED_PARAM or bool(_STATUS_VALUE.match(str(value).upper()))


class DayField(forms.DateField):
    def validate(self, value: Any) -> None:
        super().validate(value)
        if value and not _FIRST_DAY <= value <= _LAST_DAY:
            raise forms.ValidationError(
                gettext_lazy("Choose a date between %(first)s and %(last)s.")
                % {"first": _FIRST_DAY.year, "last": _LAST_DAY.year}
            )


class ShipmentFilterForm(forms.Form):
    """The whole list state, from the query string. Invalid values are reported on the form and
    ignored, never a server error."""

    SORTS = [
        ("-updated", gettext_lazy("Last update, newest first")),
        ("updated", gettext_lazy("Last update, oldest first")),
        ("eta", gettext_lazy("ETA, soonest first")),
        ("-eta", gettext_lazy("ETA, latest first")),
    ]
    ATTENTION = [
        ("exception", gettext_lazy("Exceptions")),
        ("attempt", gettext_lazy("Failed delivery attempts")),
        ("quiet", gettext_lazy("No new event for N days")),
        ("failed", gettext_lazy("Last refresh failed")),
    ]
    PAGE_SIZES = [(25, "25"), (50, "50"), (100, "100")]

    q = forms.CharField(label=gettext_lazy("Search"), required=False, max_length=200, strip=True)
    status = StatusField(
        label=gettext_lazy("Status"),
        required=False,
        choices=[(code, code) for code in statuses.CODES] + [(NEVER_FETCHED_PARAM, "")],
    )
    carrier = forms.CharField(label=gettext_lazy("Carrier"), required=False, max_length=64)
    shipped_from = DayField(label=gettext_lazy("Shipped from"), required=False)
    shipped_to = DayField(label=gettext_lazy("Shipped to"), required=False)
    updated_from = DayField(label=gettext_lazy("Last update from"), required=False)
    updated_to = DayField(label=gettext_lazy("Last update to"), required=False)
    attention = forms.MultipleChoiceField(
        label=gettext_lazy("Needs attention"), required=False, choices=ATTENTION
    )
    quiet_days = forms.IntegerField(
        label=gettext_lazy("Days without a new event"), required=False, min_value=1, max_value=365
    )
    sort = forms.ChoiceField(label=gettext_lazy("Sort by"), required=False, choices=SORTS)
    # An exact match (a whole tracking number or reference) is the answer by itself; this asks
    # for the shipments that merely contain the text too.
    contains = forms.BooleanField(label=gettext_lazy("Also partial matches"), required=False)
    per_page = forms.TypedChoiceField(
        label=gettext_lazy("Per page"),
        required=False,
        choices=PAGE_SIZES,
        coerce=int,
        empty_value=None,
    )

    def clean_status(self) -> list[str]:
        return [s.upper() if s != NEVER_FETCHED_PARAM else s for s in self.cleaned_data["status"]]

    def clean_carrier(self) -> str:
        return (self.cleaned_data.get("carrier") or "").strip().lower()

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for start, end in (("shipped_from", "shipped_to"), ("updated_from", "updated_to")):
            if data.get(start) and data.get(end) and data[start] > data[end]:
                self.add_error(end, _("The end date is before the start date."))
        return data

    def list_state(self) -> ListState:
        """The valid part of what was asked (call after is_valid())."""
        data: dict[str, Any] = dict(getattr(self, "cleaned_data", {}))
        sort = data.get("sort") or DEFAULT_SORT
        return ListState(
            q=data.get("q") or "",
            statuses=tuple(data.get("status") or ()),
            carrier=data.get("carrier") or "",
            shipped_from=data.get("shipped_from"),
            shipped_to=data.get("shipped_to"),
            updated_from=data.get("updated_from"),
            updated_to=data.get("updated_to"),
            attention=tuple(data.get("attention") or ()),
            quiet_days=data.get("quiet_days") or DEFAULT_QUIET_DAYS,
            sort=sort if sort in ORDERINGS else DEFAULT_SORT,
            per_page=data.get("per_page") or DEFAULT_PER_PAGE,
            contains=bool(data.get("contains")),
        )


def read_list_state(params: QueryDict) -> tuple[ShipmentFilterForm, ListState]:
    form = ShipmentFilterForm(params)
    form.is_valid()  # errors are shown on the form; only the valid fields filter
    return form, form.list_state()


# The list state kept in the URL, in this order (the paginator and the chips rebuild links).
_STATE_FIELDS = (
    ("q", "q"),
    ("status", "statuses"),
    ("carrier", "carrier"),
    ("shipped_from", "shipped_from"),
    ("shipped_to", "shipped_to"),
    ("updated_from", "updated_from"),
    ("updated_to", "updated_to"),
    ("attention", "attention"),
    ("quiet_days", "quiet_days"),
    ("sort", "sort"),
    ("per_page", "per_page"),
    ("contains", "contains"),
)
_DEFAULTS: dict[str, Any] = {
    "sort": DEFAULT_SORT,
    "per_page": DEFAULT_PER_PAGE,
    "quiet_days": None,
    "contains": False,
}


def state_query(state: ListState, **changes: Any) -> str:
    """The list state as a query string (without page), with `changes` applied (by URL name;
    None removes). Defaults and empty values are left out, so URLs stay short."""
    out = QueryDict(mutable=True)
    for param, attr in _STATE_FIELDS:
        value = changes[param] if param in changes else getattr(state, attr)
        if param == "quiet_days" and param not in changes and not state.attention:
            continue
        if value in (None, "", [], ()) or value == _DEFAULTS.get(param, object()):
            continue
        if isinstance(value, list | tuple):
            out.setlist(param, [str(v) for v in value])
        elif isinstance(value, date):
            out[param] = value.isoformat()
        else:
            out[param] = str(value)
    return out.urlencode()


class AddShipmentForm(forms.Form):
    carrier = forms.ModelChoiceField(
        label=gettext_lazy("Carrier"),
        queryset=Carrier.objects.active(),
        to_field_name="code",
        empty_label=gettext_lazy("Choose a carrier"),
    )
    tracking_number = forms.CharField(
        label=gettext_lazy("Tracking number"),
        max_length=100,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    reference = forms.CharField(
        label=gettext_lazy("Order reference"), required=False, max_length=100
    )
    customer_name = forms.CharField(
        label=gettext_lazy("Customer name"), required=False, max_length=200
    )
    customer_email = forms.EmailField(label=gettext_lazy("Customer email"), required=False)

    def clean_tracking_number(self) -> str:
        try:
            return validate_tracking_number(self.cleaned_data["tracking_number"])
        except TrackingInputError as exc:
            raise forms.ValidationError(exc.message) from None


class ShipmentDetailsForm(forms.ModelForm):
    class Meta:
        model = Shipment
        fields = ["reference", "customer_name", "customer_email", "notes"]
        widgets = {"notes": forms.Textarea(attrs={"rows": 3})}


class ImportUploadForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("CSV file"),
        help_text=gettext_lazy(
            "Columns: carrier_code, tracking_number, reference, customer_name, customer_email "
            "(header row first; the last three may be empty)."
        ),
    )
    fetch = forms.BooleanField(
        label=gettext_lazy("Fetch tracking for the new packages now"), required=False, initial=True
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if not str(upload.name or "").lower().endswith((".csv", ".txt")):
            raise forms.ValidationError(_("Choose a .csv file."))
        if upload.size == 0:
            raise forms.ValidationError(_("The file is empty."))
        if upload.size > settings.IMPORT_MAX_BYTES:
            raise forms.ValidationError(
                _("The file is larger than %(limit)d MB.")
                % {"limit": settings.IMPORT_MAX_BYTES // 1_000_000}
            )
        # Check the header now, so that a wrong file is said at once, not after a queue wait.
        upload.seek(0)
        head = upload.read(64 * 1024)
        upload.seek(0)
        try:
            # Only the header line matters here (the 64 KB cut may split a later character).
            first_line = head.split(b"\n", 1)[0].decode("utf-8-sig")
            csv_import.read_header(io.StringIO(first_line))
        except csv_import.ImportFileError as exc:
            raise forms.ValidationError(str(exc)) from None
        except (UnicodeDecodeError, csv.Error):
            raise forms.ValidationError(_("The file is not UTF-8 CSV text.")) from None
        return upload
