"""The Django admin: carriers, shipments, events, API calls and the API-health page."""

from __future__ import annotations

import re
import types
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import Permission, User
from django.contrib.messages import constants as message_levels
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tracking import services
from tracking.admin.shipments import INLINE_EVENTS, REFRESH_NOW_LIMIT
from tracking.domain.numbers import TrackingInputError
from tracking.models import ApiCall, Carrier, Shipment, TrackingEvent
from tracking.services import api_client

from .conftest import make_client
from .factories import ShipmentFactory, add_events, record_calls

CARRIER_LIST = reverse("admin:tracking_carrier_changelist")
SHIPMENT_LIST = reverse("admin:tracking_shipment_changelist")
EVENT_LIST = reverse("admin:tracking_trackingevent_changelist")
APICALL_LIST = reverse("admin:tracking_apicall_changelist")
HEALTH = reverse("admin:tracking_apicall_health")
SYNC = reverse("admin:tracking_carrier_sync")
PRUNE = reverse("admin:tracking_apicall_prune")
T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


# --- helpers ----------------------------------------------------------------------------------
def make_shipment(carrier: str | Carrier = "ups", number: str = "1Z000", **fields) -> Shipment:
    if isinstance(carrier, str):
        carrier = Carrier.objects.get(code=carrier)
    return Shipment.objects.create(carrier=carrier, tracking_number=number, **fields)


def messages_of(response) -> list[tuple[int, str]]:
    return [(m.level, str(m)) for m in response.context["messages"]]


def run_action(client, url: str, action: str, objs) -> list[tuple[int, str]]:
    response = client.post(
        url,
        {"action": action, "_selected_action": [o.pk for o in objs]},
        follow=True,
    )
    assert response.status_code == 200
    return messages_of(response)


def within(client, url: str, limit: int, django_assert_max_num_queries) -> None:
    """The page, asked again after rows were added, costs at most `limit` queries."""
    client.get(url)
    with django_assert_max_num_queries(limit):
        response = client.get(url)
    assert response.status_code == 200


def queries_for(client, url: str) -> int:
    client.get(url)  # warm per-process caches (content types, ...), so runs compare alike
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def snapshot_carriers() -> list[dict]:
    return list(Carrier.objects.order_by("code").values())


@pytest.fixture
def use_api(monkeypatch):
    """Point every service call at the given base URL (one attempt, no waiting)."""

    def use(base_url: str, **overrides):
        client = make_client(
            base_url,
            max_attempts=overrides.pop("max_attempts", 1),
            observer=api_client._record_call,
        )

        def get_client(**kwargs):
            # The admin waits on the API while a person watches: it asks for the short budget.
            assert kwargs == {"interactive": True}
            asked.append(kwargs)
            return client

        monkeypatch.setattr(api_client, "get_client", get_client)
        return client

    asked: list[dict] = []
    yield use
    assert asked, "the client was never asked for"


def error_body(code: str, message: str) -> dict:
    return {
        "request_id": "req-err-1",
        "errors": [
            {
                "error_source": "shipengine",
                "error_type": "system",
                "error_code": code,
                "message": message,
            }
        ],
    }


# --- carriers ---------------------------------------------------------------------------------
@pytest.mark.django_db
def test_carrier_list_shows_shipment_counts_and_sync_button(admin_client):
    for i in range(3):
        ShipmentFactory(carrier__code="ups", tracking_number=f"1ZUPS{i}")
    ShipmentFactory(carrier__code="fedex", tracking_number="FX1")
    Carrier.objects.filter(code="ups").update(
        shipengine_carrier_id="se-123", connection_status="approved", last_synced_at=T0
    )
    response = admin_client.get(CARRIER_LIST, {"q": "ups"})
    assert response.status_code == 200
    rows = {c.code: c for c in response.context["cl"].result_list}
    assert rows["ups"].shipment_total == 3
    html = response.content.decode()
    assert "se-123" in html and "approved" in html
    assert f'action="{SYNC}"' in html and "Sync from ShipEngine" in html
    fedex = admin_client.get(CARRIER_LIST, {"q": "fedex"}).context["cl"].result_list
    assert [c.shipment_total for c in fedex] == [1]


@pytest.mark.django_db
def test_carrier_list_query_count_is_fixed(admin_client, django_assert_max_num_queries):
    max_queries = django_assert_max_num_queries
    few = queries_for(admin_client, CARRIER_LIST)
    carriers = Carrier.objects.bulk_create(
        Carrier(code=f"bulk_{i}", name=f"Bulk carrier {i}", connection_status="approved")
        for i in range(300)
    )
    Shipment.objects.bulk_create(
        Shipment(carrier=carriers[i % 300], tracking_number=f"BULK{i}", public_token=f"t{i}")
        for i in range(600)
    )
    within(admin_client, CARRIER_LIST, few, max_queries)
    within(admin_client, CARRIER_LIST + "?q=bulk&is_active__exact=1", few, max_queries)
    assert few <= 8


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("term", "codes"),
    [
        ("Australia Post", {"australia_post", "australia_post_mypost_business"}),
        ("Australia Post eParcel", {"australia_post"}),
        ("eparcel", {"australia_post"}),
        ("australia_post", {"australia_post", "australia_post_mypost_business"}),
        ("se-777", {"ups"}),
    ],
)
def test_carrier_search(admin_client, term, codes):
    Carrier.objects.filter(code="ups").update(shipengine_carrier_id="se-777")
    response = admin_client.get(CARRIER_LIST, {"q": term})
    assert {c.code for c in response.context["cl"].result_list} == codes


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"is_active__exact": "0"}, {"ups"}),
        ({"connected": "yes"}, {"fedex"}),
        ({"synced": "yes"}, {"fedex"}),
        ({"connection_status": "approved"}, {"fedex"}),
    ],
)
def test_carrier_filters(admin_client, params, expected):
    Carrier.objects.filter(code="ups").update(is_active=False)
    Carrier.objects.filter(code="fedex").update(
        shipengine_carrier_id="se-1", connection_status="approved", last_synced_at=T0
    )
    response = admin_client.get(CARRIER_LIST, params)
    assert {c.code for c in response.context["cl"].result_list} == expected


@pytest.mark.django_db
def test_disable_and_enable_actions(admin_client):
    ups, fedex = Carrier.objects.get(code="ups"), Carrier.objects.get(code="fedex")
    shipment = ShipmentFactory(carrier=ups, tracking_number="1ZDISABLE")
    assert shipment in Shipment.objects.needs_refresh()

    msgs = run_action(admin_client, CARRIER_LIST, "disable_carriers", [ups, fedex])
    assert msgs[0][0] == message_levels.SUCCESS and "2 carriers disabled" in msgs[0][1]
    assert not Carrier.objects.filter(code__in=["ups", "fedex"], is_active=True).exists()
    # Disabled: the package is kept but no longer refreshed.
    assert Shipment.objects.filter(pk=shipment.pk).exists()
    assert shipment not in Shipment.objects.needs_refresh()

    msgs = run_action(admin_client, CARRIER_LIST, "enable_carriers", [ups])
    assert msgs == [(message_levels.SUCCESS, "1 carrier enabled.")]
    assert Carrier.objects.get(code="ups").is_active
    assert not Carrier.objects.get(code="fedex").is_active
    assert shipment in Shipment.objects.needs_refresh()


@pytest.mark.django_db
def test_tracking_url_template_is_editable_and_code_is_fixed(admin_client):
    ups = Carrier.objects.get(code="ups")
    url = reverse("admin:tracking_carrier_change", args=[ups.pk])
    page = admin_client.get(url)
    assert 'name="tracking_url_template"' in page.content.decode()
    assert 'name="code"' not in page.content.decode()
    response = admin_client.post(
        url,
        {
            "name": "UPS",
            "alternate_names": "United Parcel Service",
            "is_active": "on",
            "tracking_url_template": "https://example.test/track/{tracking_number}",
            "code": "hacked",
        },
    )
    assert response.status_code == 302
    ups.refresh_from_db()
    assert ups.code == "ups"
    assert ups.tracking_url_for("1Z 1") == "https://example.test/track/1Z%201"
    assert ups.alternate_names == "United Parcel Service"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        (
            "tracking_url_template",
            "javascript:alert(1)//{tracking_number}",
            "starting with https://",
        ),
        ("tracking_url_template", "https://example.test/track", "Put {tracking_number}"),
        ("code", "Bad Code!", "lower-case letters"),
    ],
)
def test_carrier_form_rejects_bad_input(admin_client, field, value, error):
    data = {"code": "new_carrier", "name": "New", "alternate_names": "", "is_active": "on"}
    data["tracking_url_template"] = ""
    data[field] = value
    response = admin_client.post(reverse("admin:tracking_carrier_add"), data)
    assert response.status_code == 200
    assert error in str(response.context["adminform"].form.errors[field])
    assert not Carrier.objects.filter(name="New").exists()


@pytest.mark.django_db
def test_add_a_carrier(admin_client):
    response = admin_client.post(
        reverse("admin:tracking_carrier_add"),
        {
            "code": " Local_Courier ",
            "name": "Local Courier",
            "is_active": "on",
            "tracking_url_template": "https://local.test/t?n={tracking_number}",
        },
    )
    assert response.status_code == 302
    assert Carrier.objects.get(code="local_courier").name == "Local Courier"


@pytest.mark.django_db
def test_sync_from_shipengine_reports_what_changed(admin_client, use_api, sandbox_url):
    use_api(sandbox_url)
    Carrier.objects.filter(code="fedex").update(
        shipengine_carrier_id="se-100003",
        friendly_name="FedEx",
        nickname="Sandbox FedEx",
        connection_status="approved",
    )
    before = Carrier.objects.count()
    response = admin_client.post(SYNC, follow=True)
    assert response.redirect_chain[-1][0] == CARRIER_LIST
    [(level, text)] = messages_of(response)
    assert level == message_levels.SUCCESS
    assert "1 added, 4 updated, 1 unchanged" in text
    assert "added: sandbox_courier" in text and "Updated: " in text and "ups" in text
    assert Carrier.objects.count() == before + 1
    ups = Carrier.objects.get(code="ups")
    assert (ups.shipengine_carrier_id, ups.connection_status) == ("se-100002", "approved")
    assert ups.last_synced_at is not None
    assert ApiCall.objects.filter(endpoint="/v1/carriers", http_status=200).count() == 1


PARTIAL = {
    "carriers": [
        {
            "carrier_id": "se-555",
            "carrier_code": "ups",
            "nickname": "My UPS",
            "friendly_name": "UPS",
            "connection_status": "approved",
        }
    ],
    "errors": [
        {
            "error_source": "carrier",
            "error_type": "integrations",
            "error_code": "carrier_conflict",
            "message": "The FedEx connection could not be read.",
            "carrier_code": "fedex",
        }
    ],
    "request_id": "req-207",
}


@pytest.mark.django_db
def test_sync_answered_207_keeps_everything_and_warns(admin_client, use_api, httpserver):
    fedex_before = Carrier.objects.filter(code="fedex").values().get()
    shipment = ShipmentFactory(carrier__code="fedex", tracking_number="FX207")
    Carrier.objects.filter(code="usps").update(is_active=False)
    httpserver.always(207, PARTIAL)
    use_api(httpserver.url)
    response = admin_client.post(SYNC, follow=True)
    assert httpserver.paths == ["GET /v1/carriers"]
    [(level, text)] = messages_of(response)
    assert level == message_levels.WARNING
    assert "answered only in part" in text
    assert "The FedEx connection could not be read. (carrier_conflict)" in text
    assert "0 added, 1 updated, 0 unchanged" in text
    ups = Carrier.objects.get(code="ups")
    assert (ups.shipengine_carrier_id, ups.nickname) == ("se-555", "My UPS")
    # What the answer did not mention is untouched; nothing is deleted or re-enabled.
    assert Carrier.objects.filter(code="fedex").values().get() == fedex_before
    assert Carrier.objects.count() == 48
    assert not Carrier.objects.get(code="usps").is_active
    assert Shipment.objects.filter(pk=shipment.pk).exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (
            500,
            error_body("unspecified", "An unexpected error occurred."),
            "An unexpected error occurred. (HTTP 500, unspecified, request_id req-err-1)",
        ),
        (
            401,
            error_body("unauthorized", "The API key is invalid."),
            "The API key is invalid. (HTTP 401, unauthorized",
        ),
        (200, b"<html>gateway</html>", "not JSON"),
        (200, {"carriers": "nope"}, "no 'carriers' list"),
    ],
)
def test_sync_that_fails_changes_nothing_and_says_so(
    admin_client, use_api, httpserver, status, body, expected
):
    Carrier.objects.filter(code="ups").update(shipengine_carrier_id="se-old", nickname="Old")
    before = snapshot_carriers()
    httpserver.always(status, body)
    use_api(httpserver.url)
    response = admin_client.post(SYNC, follow=True)
    [(level, text)] = messages_of(response)
    assert level == message_levels.ERROR
    assert "Sync from ShipEngine failed; no carrier was changed." in text
    assert expected in text
    assert snapshot_carriers() == before


@pytest.mark.django_db
def test_sync_needs_post_and_change_permission(admin_client, client):
    assert admin_client.get(SYNC).status_code == 405
    viewer = User.objects.create_user("viewer", password="pw", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_carrier"))
    client.force_login(viewer)
    page = client.get(CARRIER_LIST)
    assert page.status_code == 200 and "Sync from ShipEngine" not in page.content.decode()
    before = snapshot_carriers()
    assert client.post(SYNC).status_code == 403
    assert snapshot_carriers() == before


# --- disabled carriers and new shipments ------------------------------------------------------
class FailIfCalled:
    """A client (or get_client) that fails the test if the API is used at all."""

    def __init__(self, **kwargs) -> None:
        pass

    def __getattr__(self, name):
        raise AssertionError(f"the API must not be called ({name})")


@pytest.mark.django_db
def test_disabled_carrier_takes_no_new_shipments():
    Carrier.objects.filter(code="fedex").update(is_active=False)
    with pytest.raises(TrackingInputError, match=r"FedEx.*disabled"):
        services.track_shipment(
            carrier_code="fedex", tracking_number="794698432183", client=FailIfCalled()
        )
    assert not Shipment.objects.exists()


@pytest.mark.django_db
def test_disabled_carrier_keeps_known_shipments_readable():
    # Stored before the carrier was disabled: tracking it again still works.
    services.track_shipment(carrier_code="fedex", tracking_number="794698432183")
    Carrier.objects.filter(code="fedex").update(is_active=False)
    shipment = services.track_shipment(carrier_code="fedex", tracking_number="794698432183")
    assert shipment.status_code == "IT"


# --- shipments --------------------------------------------------------------------------------
@pytest.fixture
def shipments(db):
    a = ShipmentFactory(
        carrier__code="ups",
        tracking_number="1Z999AA10123456784",
        reference="ORDER-77",
        customer_name="Ada Lovelace",
        customer_email="ada@example.com",
        status_code="IT",
        status_description="In Transit",
    )
    b = ShipmentFactory(
        carrier__code="fedex",
        tracking_number="794698432183",
        status_code="EX",
        status_description="Exception",
    )
    c = ShipmentFactory(
        carrier__code="usps",
        tracking_number="9405511899223197428490",
        status_code="DE",
        status_description="Delivered",
        push_subscribed_at=T0,
    )
    d = ShipmentFactory(
        carrier__code="ups", tracking_number="1ZNEVER", consecutive_failures=2, last_error="boom"
    )
    add_events(c, 3, city="DECATUR")
    e = ShipmentFactory(
        carrier__code="fedex", tracking_number="QUIET1", status_code="IT", last_event_at=T0
    )  # no news since
    return types.SimpleNamespace(a=a, b=b, c=c, d=d, e=e)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"q": "AA1012"}, {"a"}),
        ({"q": "1z999aa10123456784"}, {"a"}),
        ({"q": "order-77"}, {"a"}),
        ({"q": "lovelace"}, {"a"}),
        ({"q": "ada@example"}, {"a"}),
        ({"q": "decatur"}, {"c"}),
        ({"status": "EX"}, {"b"}),
        ({"status": "none"}, {"d"}),
        ({"attention": "yes"}, {"b", "d", "e"}),
        ({"attention": "exception"}, {"b"}),
        ({"attention": "failed"}, {"d"}),
        ({"attention": "quiet"}, {"e"}),
        ({"attention": "attempt"}, set()),
        ({"push": "yes"}, {"c"}),
        ({"push": "no"}, {"a", "b", "d", "e"}),
        ({"carrier__id__exact": "CARRIER_UPS"}, {"a", "d"}),
        ({"status": "IT"}, {"a", "e"}),
        ({"carrier__id__exact": "CARRIER_UPS", "q": "1ZNEVER"}, {"d"}),
    ],
)
def test_shipment_search_and_filters(admin_client, shipments, params, expected):
    ups = Carrier.objects.get(code="ups").pk
    params = {k: (str(ups) if v == "CARRIER_UPS" else v) for k, v in params.items()}
    response = admin_client.get(SHIPMENT_LIST, params)
    assert response.status_code == 200
    names = {k for k, v in vars(shipments).items() if v in response.context["cl"].result_list}
    assert names == expected


@pytest.mark.django_db
def test_shipment_list_query_count_is_fixed(admin_client, shipments, django_assert_max_num_queries):
    few = queries_for(admin_client, SHIPMENT_LIST)
    carriers = list(Carrier.objects.all())
    Shipment.objects.bulk_create(
        Shipment(
            carrier=carriers[i % len(carriers)],
            tracking_number=f"BULK{i}",
            public_token=f"tok{i}",
            status_code="IT",
            last_event_at=T0 + timedelta(hours=i),
        )
        for i in range(400)
    )
    within(admin_client, SHIPMENT_LIST, few, django_assert_max_num_queries)
    within(
        admin_client,
        SHIPMENT_LIST + "?q=BULK1&attention=yes&status=IT",
        few,
        django_assert_max_num_queries,
    )
    assert few <= 10


@pytest.mark.django_db
def test_shipment_page_shows_the_newest_events_and_links_to_all(
    admin_client, shipments, django_assert_max_num_queries
):
    long = shipments.a
    url = reverse("admin:tracking_shipment_change", args=[long.pk])
    add_events(long, 5)
    short_queries = queries_for(admin_client, url)
    TrackingEvent.objects.filter(shipment=long).delete()
    add_events(long, 400)
    within(admin_client, url, short_queries, django_assert_max_num_queries)
    assert short_queries <= 16
    response = admin_client.get(url)
    html = response.content.decode()
    assert "Scan number 399" in html  # the newest
    assert f"Scan number {399 - INLINE_EVENTS + 1}" in html
    assert f"Scan number {399 - INLINE_EVENTS}<" not in html  # older ones only via the link
    shown = {int(n) for n in re.findall(r"Scan number (\d+)", html)}
    assert shown == set(range(400 - INLINE_EVENTS, 400))
    all_events = f"{EVENT_LIST}?shipment__id__exact={long.pk}"
    assert f'href="{all_events}"'.replace("&", "&amp;") in html and "all 400 events" in html
    listed = admin_client.get(all_events)
    assert listed.status_code == 200
    assert listed.context["cl"].result_count == 400


@pytest.mark.django_db
def test_saving_staff_details_keeps_the_events(admin_client, shipments):
    c = shipments.c
    url = reverse("admin:tracking_shipment_change", args=[c.pk])
    response = admin_client.post(
        url,
        {
            "reference": "PO-9",
            "customer_name": "Grace",
            "customer_email": "g@example.com",
            "notes": "call first",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    c.refresh_from_db()
    assert (c.reference, c.customer_name, c.notes) == ("PO-9", "Grace", "call first")
    assert c.status_code == "DE" and c.tracking_number == "9405511899223197428490"
    assert c.events.count() == 3


@pytest.mark.django_db
def test_shipments_are_added_through_the_portal_not_the_admin(admin_client):
    assert admin_client.get(reverse("admin:tracking_shipment_add")).status_code == 403


# Tiny URL configurations: the admin alone (portal pages not built) and the admin plus the two
# portal pages the shipment admin links to, under the shared names.
@pytest.mark.django_db
def test_links_to_the_staff_and_public_pages(admin_client, shipments):
    a = shipments.a
    html = admin_client.get(reverse("admin:tracking_shipment_change", args=[a.pk])).content.decode()
    listing = admin_client.get(SHIPMENT_LIST).content.decode()
    assert f'href="/staff/shipments/{a.pk}/"' in html
    assert f'href="/t/{a.public_token}/"' in html
    assert f'href="/t/{a.public_token}/"' in listing


# --- shipment actions -------------------------------------------------------------------------
@pytest.mark.django_db
def test_refresh_now_reports_each_shipment(admin_client):
    ok = ShipmentFactory(carrier__code="ups", tracking_number="1Z999AA10123456784")
    missing = ShipmentFactory(
        carrier__code="fedex",
        tracking_number="FAULT-404",
        status_code="IT",
        status_description="In Transit",
    )
    add_events(missing, 2)
    msgs = run_action(admin_client, SHIPMENT_LIST, "refresh_now", [ok, missing])
    by_shipment = {text.split(":")[0]: (level, text) for level, text in msgs}
    assert by_shipment["UPS 1Z999AA10123456784"][0] == message_levels.SUCCESS
    ok.refresh_from_db()
    added = ok.events.count()
    assert added >= 2 and ok.status_code == "AC"
    assert (
        f"refreshed, {added} new events; status Accepted."
        in by_shipment["UPS 1Z999AA10123456784"][1]
    )
    level, text = by_shipment["FedEx FAULT-404"]
    assert level == message_levels.ERROR
    assert "refresh failed, nothing stored was changed" in text
    assert "The tracking number was not found. (HTTP 404, invalid_identifier" in text
    missing.refresh_from_db()
    assert (missing.status_code, missing.events.count()) == ("IT", 2)
    assert missing.consecutive_failures == 1 and missing.last_error_code == "invalid_identifier"


@pytest.mark.django_db
def test_refresh_now_on_a_server_error_loses_nothing(admin_client, use_api, httpserver):
    shipment = ShipmentFactory(
        carrier__code="ups",
        tracking_number="1ZKEEP",
        status_code="IT",
        status_description="In Transit",
    )
    add_events(shipment, 4)
    httpserver.always(500, error_body("unspecified", "An unexpected error occurred."))
    use_api(httpserver.url, max_attempts=2)
    msgs = run_action(admin_client, SHIPMENT_LIST, "refresh_now", [shipment])
    assert len(httpserver.paths) == 2  # retried once, then gave up
    assert msgs == [
        (
            message_levels.ERROR,
            "UPS 1ZKEEP: refresh failed, nothing stored was changed. ShipEngine said: "
            "An unexpected error occurred. (HTTP 500, unspecified, request_id req-err-1)",
        )
    ]
    shipment.refresh_from_db()
    assert shipment.events.count() == 4 and shipment.status_code == "IT"


@pytest.mark.django_db
def test_refresh_now_skips_disabled_carriers_without_calling_the_api(admin_client, monkeypatch):
    monkeypatch.setattr(api_client, "get_client", FailIfCalled)
    Carrier.objects.filter(code="ups").update(is_active=False)
    shipment = ShipmentFactory(carrier__code="ups", tracking_number="1ZOFF")
    msgs = run_action(admin_client, SHIPMENT_LIST, "refresh_now", [shipment])
    assert msgs == [
        (
            message_levels.WARNING,
            "UPS 1ZOFF: not refreshed. The carrier UPS (ups) is disabled. "
            "Its packages are no longer refreshed.",
        )
    ]


@pytest.mark.django_db
def test_refresh_now_handles_a_limited_number_at_a_time(admin_client, monkeypatch):
    monkeypatch.setattr(api_client, "get_client", FailIfCalled)
    Carrier.objects.filter(code="ups").update(is_active=False)
    many = [
        ShipmentFactory(carrier__code="ups", tracking_number=f"1ZMANY{i}")
        for i in range(REFRESH_NOW_LIMIT + 3)
    ]
    msgs = run_action(admin_client, SHIPMENT_LIST, "refresh_now", many)
    assert len(msgs) == REFRESH_NOW_LIMIT + 1
    assert f"only the first {REFRESH_NOW_LIMIT} selected shipments" in msgs[0][1]


@pytest.mark.django_db
def test_start_push_updates(admin_client, use_api, sandbox, sandbox_url):
    use_api(sandbox_url)
    moving = ShipmentFactory(
        carrier__code="fedex", tracking_number="794698432183", status_code="IT"
    )
    delivered = ShipmentFactory(
        carrier__code="usps", tracking_number="9405511899223197428490", status_code="DE"
    )
    msgs = run_action(admin_client, SHIPMENT_LIST, "start_push_updates", [moving, delivered])
    assert (
        message_levels.SUCCESS,
        "FedEx 794698432183: push updates started in the sandbox (it calls no webhook by itself: "
        "manage.py sandbox_webhook sends one).",
    ) in msgs
    assert (
        message_levels.INFO,
        "U.S. Postal Service 9405511899223197428490: delivered, there are no updates to push.",
    ) in msgs
    assert sandbox.subscriptions == {("fedex", "794698432183")}
    moving.refresh_from_db()
    delivered.refresh_from_db()
    assert moving.push_subscribed_at is not None and delivered.push_subscribed_at is None


@pytest.mark.django_db
def test_start_push_updates_refused_by_the_api(admin_client, use_api, httpserver):
    shipment = ShipmentFactory(
        carrier__code="fedex", tracking_number="794698432183", status_code="IT"
    )
    body = error_body("invalid_identifier", "Tracking number is not valid.")
    httpserver.always(400, body)
    use_api(httpserver.url)
    msgs = run_action(admin_client, SHIPMENT_LIST, "start_push_updates", [shipment])
    assert httpserver.paths[0].startswith(
        "POST /v1/tracking/start?carrier_code=fedex&tracking_number=794698432183"
    )
    assert msgs == [
        (
            message_levels.ERROR,
            "FedEx 794698432183: push updates not started. ShipEngine said: "
            "Tracking number is not valid. (HTTP 400, invalid_identifier, request_id req-err-1)",
        )
    ]
    shipment.refresh_from_db()
    assert shipment.push_subscribed_at is None and shipment.consecutive_failures == 0


@pytest.mark.django_db
def test_start_push_updates_for_a_disabled_carrier(admin_client, monkeypatch):
    monkeypatch.setattr(api_client, "get_client", FailIfCalled)
    Carrier.objects.filter(code="fedex").update(is_active=False)
    shipment = ShipmentFactory(
        carrier__code="fedex", tracking_number="794698432183", status_code="IT"
    )
    msgs = run_action(admin_client, SHIPMENT_LIST, "start_push_updates", [shipment])
    assert msgs == [
        (
            message_levels.WARNING,
            "FedEx 794698432183: push updates not started. The carrier FedEx (fedex) is disabled.",
        )
    ]


# --- events -----------------------------------------------------------------------------------
@pytest.mark.django_db
def test_event_list_is_read_only_searchable_and_fixed_in_queries(
    admin_client, shipments, django_assert_max_num_queries
):
    few = queries_for(admin_client, EVENT_LIST)
    for i in range(30):
        add_events(
            ShipmentFactory(carrier__code="fedex", tracking_number=f"FXEV{i}"), 10, city=f"CITY{i}"
        )
    within(admin_client, EVENT_LIST, few, django_assert_max_num_queries)
    within(admin_client, EVENT_LIST + "?q=CITY1&status=IT", few, django_assert_max_num_queries)
    assert few <= 8
    found = admin_client.get(EVENT_LIST, {"q": "FXEV7"}).context["cl"]
    assert found.result_count == 10
    assert {e.shipment.tracking_number for e in found.result_list} == {"FXEV7"}
    assert admin_client.get(EVENT_LIST, {"q": "city12"}).context["cl"].result_count == 10
    assert admin_client.get(EVENT_LIST, {"status": "IT"}).context["cl"].result_count == 303
    event = TrackingEvent.objects.first()
    change = reverse("admin:tracking_trackingevent_change", args=[event.pk])
    page = admin_client.get(change)
    assert page.status_code == 200 and 'name="description"' not in page.content.decode()
    before = event.description
    admin_client.post(change, {"description": "edited"})
    event.refresh_from_db()
    assert event.description == before
    assert admin_client.get(reverse("admin:tracking_trackingevent_add")).status_code == 403
    assert (
        admin_client.get(
            reverse("admin:tracking_trackingevent_delete", args=[event.pk])
        ).status_code
        == 403
    )


# --- API calls and health ---------------------------------------------------------------------
@pytest.mark.django_db
def test_api_health_page(admin_client):
    now = datetime.now(UTC)
    record_calls(now, 40)
    response = admin_client.get(HEALTH)
    assert response.status_code == 200
    html = response.content.decode()
    report = response.context["report"]
    assert report["summary"].calls == 40
    assert report["summary"].rate_limited == 4
    assert [(r.error_code, r.count) for r in report["failures_by_code"]] == [
        ("rate_limit_exceeded", 4),
        ("unspecified", 4),
    ]
    assert "<svg" in html and "Calls per hour" in html and "Failures by error code" in html
    assert "Last errors" in html and "req-0" in html and "req-2<" not in html  # req-2 succeeded
    assert 'id="rate-limited-count"><a href="' in html and ">4</a>" in html
    assert "style=" not in html.split('id="content-main"')[1]  # CSP: no inline styles
    assert "kept for 14 days" in html
    changelist = admin_client.get(APICALL_LIST).content.decode()
    assert f'href="{HEALTH}"' in changelist


@pytest.mark.django_db
@pytest.mark.parametrize(("hours", "buckets"), [("72", 72), ("168", 168), ("5", 24), ("x", 24)])
def test_api_health_period(admin_client, hours, buckets):
    response = admin_client.get(HEALTH, {"hours": hours})
    assert response.status_code == 200
    assert len(response.context["report"]["buckets"]) == buckets
    assert "No calls to ShipEngine in this period." in response.content.decode()


@pytest.mark.django_db
def test_api_health_and_call_list_query_counts_are_fixed(
    admin_client, django_assert_max_num_queries
):
    now = datetime.now(UTC)
    record_calls(now, 5)
    health_few = queries_for(admin_client, HEALTH)
    list_few = queries_for(admin_client, APICALL_LIST)
    record_calls(now - timedelta(seconds=1), 400)
    within(admin_client, HEALTH, health_few, django_assert_max_num_queries)
    within(admin_client, HEALTH + "?hours=168", health_few, django_assert_max_num_queries)
    within(admin_client, APICALL_LIST, list_few, django_assert_max_num_queries)
    assert health_few <= 9 and list_few <= 9
    failed = admin_client.get(APICALL_LIST, {"outcome": "failed"}).context["cl"]
    assert failed.result_count == 82
    assert admin_client.get(APICALL_LIST, {"outcome": "429"}).context["cl"].result_count == 41
    by_code = admin_client.get(APICALL_LIST, {"error_code": "unspecified"}).context["cl"]
    assert by_code.result_count == 41
    tracking = admin_client.get(APICALL_LIST, {"endpoint": "/v1/tracking"}).context["cl"]
    assert tracking.result_count == 405
    assert (
        admin_client.get(APICALL_LIST, {"endpoint": "/v1/carriers"}).context["cl"].result_count == 0
    )


@pytest.mark.django_db
def test_prune_button(admin_client, settings):
    settings.API_CALL_RETENTION_DAYS = 2
    now = datetime.now(UTC)
    record_calls(now, 3)
    record_calls(now - timedelta(days=3), 5)
    assert admin_client.get(PRUNE).status_code == 405
    response = admin_client.post(PRUNE, follow=True)
    assert messages_of(response) == [
        (message_levels.SUCCESS, "5 API call records older than 2 days deleted.")
    ]
    assert ApiCall.objects.count() == 3


@pytest.mark.django_db
def test_api_health_permissions(client):
    record_calls(datetime.now(UTC) - timedelta(days=30), 3)
    staff = User.objects.create_user("staff", password="pw", is_staff=True)
    client.force_login(staff)
    assert client.get(HEALTH).status_code == 403
    assert client.post(PRUNE).status_code == 403
    staff.user_permissions.add(Permission.objects.get(codename="view_apicall"))
    staff = User.objects.get(pk=staff.pk)
    client.force_login(staff)
    page = client.get(HEALTH)
    assert page.status_code == 200 and "Prune old records now" not in page.content.decode()
    assert client.post(PRUNE).status_code == 403
    assert ApiCall.objects.count() == 3
