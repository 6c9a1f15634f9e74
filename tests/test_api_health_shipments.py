"""The API-health page's last errors name the shipment each call was about and link to it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from tests.conftest import make_client
from tests.factories import ShipmentFactory
from tests.html import one, parse
from tracking.models import ApiCall
from tracking.shipengine import CallRecord, ShipEngineError

HEALTH = reverse("admin:tracking_apicall_health")


def test_the_client_tells_the_observer_which_parcel_a_call_was_about(httpserver):
    httpserver.always(500, {"errors": []})
    records: list[CallRecord] = []
    client = make_client(httpserver.url, observer=records.append, max_attempts=1)
    with pytest.raises(ShipEngineError):
        client.get_tracking("ups", "1Z999AA10123456784")
    with pytest.raises(ShipEngineError):
        client.get_label_tracking("se-12 34")
    assert [(r.carrier_code, r.tracking_number, r.label_id) for r in records] == [
        ("ups", "1Z999AA10123456784", ""),
        ("", "", "se-12 34"),
    ]


@pytest.mark.django_db
def test_last_errors_link_the_shipment(admin_client, django_assert_max_num_queries):
    stored = ShipmentFactory(carrier__code="ups", tracking_number="1Z999AA10123456784")
    labelled = ShipmentFactory(
        carrier__code="fedex", tracking_number="794698432183", label_id="se-77"
    )
    now = datetime.now(UTC)
    common = {"method": "GET", "http_status": 500, "error_code": "unspecified"}
    ApiCall.objects.bulk_create(
        [
            ApiCall(
                at=now,
                endpoint="/v1/tracking",
                carrier_code="ups",
                tracking_number="1Z999AA10123456784",
                **common,
            ),
            ApiCall(
                at=now - timedelta(seconds=1),
                endpoint="/v1/labels/{label_id}/track",
                label_id="se-77",
                **common,
            ),
            ApiCall(
                at=now - timedelta(seconds=2),
                endpoint="/v1/tracking",
                carrier_code="usps",
                tracking_number="9400100000000000000000",
                **common,
            ),
            ApiCall(at=now - timedelta(seconds=3), endpoint="/v1/carriers", **common),
        ]
    )
    admin_client.get(HEALTH)
    with django_assert_max_num_queries(10):
        page = parse(admin_client.get(HEALTH))
    cells = page.select("#last-errors tbody td.error-shipment")
    links = [c.find("a") for c in cells]
    assert links[0]["href"] == reverse("staff:shipment_detail", args=[stored.pk])
    assert "1Z999AA10123456784" in links[0].get_text()
    assert links[1]["href"] == reverse("staff:shipment_detail", args=[labelled.pk])
    assert links[2] is None and "9400100000000000000000" in cells[2].get_text()
    assert "not stored" in cells[2].get_text()
    assert cells[3].get_text(strip=True) == "\u2013"  # an en dash: no parcel
    assert one(page, "#last-errors thead").get_text().count("Shipment") == 1
