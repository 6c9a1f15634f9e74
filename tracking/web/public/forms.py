"""The public lookup forms: a tracking number (and the carrier when its format does not say), or
an order number with the email or postcode it was placed with."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ...domain import contacts
from ...domain.numbers import TrackingInputError, validate_tracking_number
from ...queries.carriers import active_carrier_choices

# The customer's wording of each reason a number is refused (the rule itself is domain's).
_MESSAGES = {
    "tracking_number_required": gettext_lazy(
        "Enter your tracking number: you will find it in your shipping confirmation."
    ),
    "tracking_number_too_long": gettext_lazy(
        "That is too long for a tracking number (at most %(max)d characters). "
        "Check that you copied only the number."
    ),
    "tracking_number_invalid": gettext_lazy(
        "A tracking number has only the letters A to Z and digits (and sometimes dashes). "
        "Check the number and try again."
    ),
}


class LookupForm(forms.Form):
    number = forms.CharField(label=gettext_lazy("Tracking number"), required=False, strip=True)
    carrier = forms.ChoiceField(label=gettext_lazy("Carrier"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        carrier_field = self.fields["carrier"]
        assert isinstance(carrier_field, forms.ChoiceField)
        self._carriers = active_carrier_choices()
        carrier_field.choices = [("", _("Recognise it from the number")), *self._carriers]

    def put_first(self, codes: tuple[str, ...]) -> None:
        """List the carriers the number's format fits at the top of the select."""
        carrier_field = self.fields["carrier"]
        assert isinstance(carrier_field, forms.ChoiceField)
        likely = [c for c in self._carriers if c[0] in codes]
        others = [c for c in self._carriers if c[0] not in codes]
        carrier_field.choices = [("", _("Recognise it from the number")), *likely, *others]

    def candidate_choices(self, codes: tuple[str, ...]) -> list[tuple[str, str]]:
        """(code, name) of the carriers a number could be from, for one button each."""
        names = dict(self._carriers)
        return [(code, names[code]) for code in codes if code in names]

    def carrier_names(self, codes: tuple[str, ...]) -> str:
        names = dict(self._carriers)
        return _(" or ").join(names.get(code, code) for code in codes)

    def clean_number(self) -> str:
        try:
            return validate_tracking_number(self.cleaned_data.get("number"))
        except TrackingInputError as exc:
            message = _MESSAGES.get(exc.code)
            if message is None:
                raise forms.ValidationError(exc.message) from None
            raise forms.ValidationError(str(message) % exc.params) from None

    def clean_carrier(self) -> str:
        return self.cleaned_data.get("carrier") or ""


_ORDER_MESSAGES = {
    "order_required": gettext_lazy("Enter your order number: it is in your order confirmation."),
    "order_too_long": gettext_lazy(
        "That is too long for an order number (at most %(max)d characters)."
    ),
    "order_invalid": gettext_lazy("An order number is a single line of letters and digits."),
    "contact_required": gettext_lazy("Enter the email address you ordered with, or your postcode."),
    "contact_too_long": gettext_lazy(
        "That is too long for an email address or a postcode (at most %(max)d characters)."
    ),
    "email_invalid": gettext_lazy(
        "That does not look like an email address. Check it, or enter your postcode instead."
    ),
    "postcode_invalid": gettext_lazy(
        "That does not look like a postcode. Enter it as on your address, or use your email "
        "address instead."
    ),
}


class OrderLookupForm(forms.Form):
    """Order number + the email or postcode the order was placed with."""

    order = forms.CharField(label=gettext_lazy("Order number"), required=False, strip=False)
    contact = forms.CharField(
        label=gettext_lazy("Email address or postcode"), required=False, strip=False
    )

    def clean_order(self) -> str:
        try:
            return contacts.read_order(self.cleaned_data.get("order"))
        except contacts.ContactError as exc:
            raise forms.ValidationError(
                str(_ORDER_MESSAGES[exc.code]) % {"max": contacts.ORDER_MAX}
            ) from None

    def clean_contact(self) -> contacts.Contact:
        try:
            return contacts.read_contact(self.cleaned_data.get("contact"))
        except contacts.ContactError as exc:
            raise forms.ValidationError(
                str(_ORDER_MESSAGES[exc.code]) % {"max": contacts.CONTACT_MAX}
            ) from None
