"""Add a package: the carrier recognised from the number (candidates as buttons when the format
fits several), and a package saved anyway when the API is failing, fetched by a worker later."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.factories import ShipmentFactory
from tests.html import one, parse, texts
from tracking.models import QueuedRefresh, Shipment

pytestmark = pytest.mark.django_db

ADD = reverse("staff:shipment_add")


def test_the_carrier_is_recognised_from_the_number(staff_client):
    response = staff_client.post(ADD, {"carrier": "", "tracking_number": "1Z999AA10123456784"})
    shipment = Shipment.objects.select_related("carrier").get(tracking_number="1Z999AA10123456784")
    assert shipment.carrier.code == "ups"
    assert response["Location"] == reverse("staff:shipment_detail", args=[shipment.pk])


def test_an_ambiguous_number_offers_the_candidates_as_buttons(staff_client):
    # 12 digits failing FedEx's check digit: FedEx or Purolator.
    data = {"carrier": "", "tracking_number": "123456789013", "reference": "ORD-5"}
    response = staff_client.post(ADD, data)
    assert response.status_code == 422
    page = parse(response)
    buttons = page.select(".carrier-candidates button[name=carrier]")
    assert [b["value"] for b in buttons] == ["fedex", "purolator_ca"]
    assert one(page, "input#id_tracking_number")["value"] == "123456789013"
    assert one(page, "input#id_reference")["value"] == "ORD-5"
    assert not Shipment.objects.exists()
    # The button's value is posted with the form's (empty) carrier: the button wins.
    data = {**data, "carrier": ["fedex", ""]}
    response = staff_client.post(ADD, data)
    assert response.status_code == 302
    assert Shipment.objects.get(tracking_number="123456789013").carrier.code == "fedex"


def test_an_unknown_format_asks_for_the_carrier_in_the_menu(staff_client):
    response = staff_client.post(ADD, {"carrier": "", "tracking_number": "ZZ1"})
    assert response.status_code == 422
    assert "cannot be told from this number" in one(response, "#id_carrier_error").get_text()
    assert not parse(response).select(".carrier-candidates")


def test_a_stored_package_of_the_family_opens_instead_of_a_duplicate(staff_client):
    stored = ShipmentFactory(carrier__code="stamps_com", tracking_number="9405511899223197428490")
    response = staff_client.post(ADD, {"tracking_number": "9405 5118 9922 3197 4284 90"})
    assert response["Location"] == reverse("staff:shipment_detail", args=[stored.pk])
    assert Shipment.objects.count() == 1


@pytest.mark.parametrize("number", ["FAULT-500", "FAULT-401", "FAULT-BADJSON"])
def test_when_the_api_fails_the_package_is_saved_and_fetched_later(
    staff_client, number, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        response = staff_client.post(
            ADD,
            {
                "carrier": "ups",
                "tracking_number": number,
                "reference": "ORD-77",
                "customer_email": "c@example.com",
                "customer_postcode": "sw1a 1aa",
            },
        )
    shipment = Shipment.objects.get(tracking_number=number)
    assert response.status_code == 302
    assert response["Location"] == reverse("staff:shipment_detail", args=[shipment.pk])
    assert (shipment.reference, shipment.customer_email, shipment.customer_postcode) == (
        "ORD-77",
        "c@example.com",
        "SW1A 1AA",
    )
    assert shipment.status_code == ""  # never fetched yet
    # Claimed for its first fetch, the task queued once the request commits; the worker's try
    # (the tests' tasks run at once) is recorded on the shipment.
    assert QueuedRefresh.objects.filter(shipment_id=shipment.pk, reason="first_fetch").exists()
    for callback in callbacks:  # the outbox's dispatch, then the queued fetch
        callback()
    shipment.refresh_from_db()
    assert shipment.consecutive_failures == 1 and shipment.last_checked_at is not None
    page = staff_client.get(response["Location"])
    [message] = texts(page, ".messages li")
    assert message.startswith(
        f"Saved {number}, but the carrier's tracking service is not answering"
    )
    assert "fetched in the background" in message


def test_an_answer_about_the_number_is_shown_and_nothing_saved(staff_client):
    response = staff_client.post(ADD, {"carrier": "ups", "tracking_number": "FAULT-404"})
    assert response.status_code == 422
    assert "The tracking number was not found" in response.content.decode()
    assert not Shipment.objects.exists()
