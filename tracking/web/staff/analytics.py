"""The analytics page (/staff/analytics/) and its CSV downloads.

Everything the page shows is in its query string (a GET form: period, or first and last day;
carrier; lane), so a view can be bookmarked and shared and works without JavaScript. Each chart's
numbers are its table, and `/staff/analytics/<chart>.csv` with the same query string downloads
them whole.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import UTC, date, timedelta
from typing import Any

from django import forms
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from ...domain.lanes import REGION_MAX
from ...models import Carrier
from ...presentation import analytics as page
from ...presentation import dates
from ...queries import analytics
from ..auth import staff_required

PERIODS = (7, 30, 90, 365)
DEFAULT_PERIOD = 30
#: The longest period a page adds up (two years of daily rows).
LONGEST_DAYS = 731


class AnalyticsForm(forms.Form):
    period = forms.TypedChoiceField(
        label=gettext_lazy("Period"),
        required=False,
        coerce=int,
        choices=[(str(n), gettext_lazy("Last %(n)s days") % {"n": n}) for n in PERIODS]
        + [("0", gettext_lazy("The days below"))],
    )
    start = forms.DateField(
        label=gettext_lazy("First day"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    end = forms.DateField(
        label=gettext_lazy("Last day"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    carrier = forms.ChoiceField(label=gettext_lazy("Carrier"), required=False)
    origin = forms.ChoiceField(label=gettext_lazy("From region"), required=False)
    destination = forms.ChoiceField(label=gettext_lazy("To region"), required=False)

    def __init__(
        self,
        data: Any,
        *,
        carriers: list[tuple[str, str]],
        regions: list[str],
        today: date,
    ) -> None:
        super().__init__(data)
        self.today = today
        region_choices = [(r, r) for r in regions]
        for name, choices in (
            ("carrier", [("", _("All carriers")), *carriers]),
            ("origin", [("", _("Anywhere")), *region_choices]),
            ("destination", [("", _("Anywhere")), *region_choices]),
        ):
            field = self.fields[name]
            assert isinstance(field, forms.ChoiceField)
            field.choices = choices
        # A region the menu does not list yet (new since the last refresh) is still accepted.
        for name in ("origin", "destination"):
            self.fields[name].valid_value = _region_like  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("start"), data.get("end")
        if start or end:
            if not (start and end):
                raise forms.ValidationError(_("Give both the first and the last day."))
            if start > end:
                raise forms.ValidationError(_("The first day is after the last day."))
            if (end - start).days + 1 > LONGEST_DAYS:
                raise forms.ValidationError(
                    _("Choose at most %(n)s days.") % {"n": f"{LONGEST_DAYS:,}"}
                )
        else:
            days = data.get("period") or DEFAULT_PERIOD
            data["end"] = self.today
            data["start"] = self.today - timedelta(days=days - 1)
        return data


def _region_like(value: Any) -> bool:
    text = str(value)
    return len(text) <= REGION_MAX and all(c.isalnum() or c == "-" for c in text)


def _read(request: HttpRequest) -> tuple[AnalyticsForm, analytics.Filters | None, dict[str, Any]]:
    state = analytics.freshness()
    carriers = list(Carrier.objects.order_by("name").values_list("pk", "code", "name"))
    seen = set(state.carrier_ids)
    shown = [(code, name) for pk, code, name in carriers if pk in seen or not seen]
    today = timezone.now().astimezone(UTC).date()
    data = request.GET.copy()
    if not (data.get("period") or data.get("start") or data.get("end")):
        data["period"] = str(DEFAULT_PERIOD)  # so the menu shows the period the page shows
    form = AnalyticsForm(data, carriers=shown, regions=state.regions, today=today)
    context: dict[str, Any] = {
        "form": form,
        "freshness": state,
        "carrier_names": {pk: name for pk, _code, name in carriers},
    }
    if not form.is_valid():
        return form, None, context
    code = form.cleaned_data.get("carrier") or ""
    ids = {c: pk for pk, c, _name in carriers}
    filters = analytics.Filters(
        start=form.cleaned_data["start"],
        end=form.cleaned_data["end"],
        carrier_id=ids.get(code),
        origin=form.cleaned_data.get("origin") or "",
        destination=form.cleaned_data.get("destination") or "",
    )
    return form, filters, context


@require_GET
@staff_required
def analytics_page(request: HttpRequest) -> HttpResponse:
    _form, filters, context = _read(request)
    if filters is None:
        return render(request, "tracking/staff/analytics.html", context, status=400)
    report = analytics.report(filters)
    query = request.GET.urlencode()
    context.update(
        filters=filters,
        period_text=_("%(first)s to %(last)s")
        % {"first": dates.short_day(filters.start), "last": dates.short_day(filters.end)},
        sections=page.sections(report, context["carrier_names"]),
        query=f"?{query}" if query else "",
        chosen_carrier=context["carrier_names"].get(filters.carrier_id or 0, ""),
    )
    return render(request, "tracking/staff/analytics.html", context)


@require_GET
@staff_required
def analytics_csv(request: HttpRequest, slug: str) -> HttpResponse | StreamingHttpResponse:
    if slug not in page.SLUGS:
        raise Http404("No such chart.")
    form, filters, context = _read(request)
    if filters is None:
        errors = "; ".join(str(e) for errs in form.errors.values() for e in errs)
        return HttpResponse(errors, status=400, content_type="text/plain; charset=utf-8")
    table = page.full_table(analytics.report(filters), context["carrier_names"], slug)

    class Echo:
        def write(self, value: str) -> str:
            return value

    writer = csv.writer(Echo())

    def lines() -> Iterator[str]:
        for row in page.csv_rows(table):
            yield writer.writerow(row)

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    name = f"{slug}-{filters.start.isoformat()}-{filters.end.isoformat()}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
