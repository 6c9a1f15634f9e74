"""Helpers for the REST API and outgoing-webhook tests: keys, authenticated JSON requests,
shipments with events."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from django.test import Client

from tracking.models import Carrier, Shipment, TrackingEvent
from tracking.services import api_keys, throttling


class Api:
    """A test client that sends `Authorization: Bearer <key>` and JSON."""

    def __init__(self, client: Client, raw_key: str) -> None:
        self.client = client
        self.key = raw_key

    def _headers(self, extra: dict[str, str] | None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.key}"}
        headers.update(extra or {})
        return headers

    def get(self, path: str, params: dict[str, Any] | None = None, **headers: str):
        return self.client.get(path, params or {}, headers=self._headers(headers))

    def post(self, path: str, body: Any = None, *, raw: bytes | str | None = None, **headers: str):
        data = raw if raw is not None else json.dumps(body if body is not None else {})
        return self.client.post(
            path, data=data, content_type="application/json", headers=self._headers(headers)
        )

    def delete(self, path: str, **headers: str):
        return self.client.delete(path, headers=self._headers(headers))


def make_api(client: Client, *, scopes=("read", "write"), rate_limit: int | None = None) -> Api:
    throttling.reset()
    made = api_keys.create_key(name="test shop", scopes=scopes, rate_limit_per_minute=rate_limit)
    return Api(client, made.raw)


def make_shipment(number: str = "1Z999AA10123456784", carrier: str = "ups", **fields) -> Shipment:
    return Shipment.objects.create(
        carrier=Carrier.objects.get(code=carrier), tracking_number=number, **fields
    )


def add_events(shipment: Shipment, count: int, *, start: datetime | None = None) -> None:
    start = start or datetime(2026, 11, 1, tzinfo=UTC)
    TrackingEvent.objects.bulk_create(
        [
            TrackingEvent(
                shipment=shipment,
                dedupe_key=f"k{i}",
                occurred_at=start + timedelta(hours=i),
                description=f"Scan {i}",
                city_locality="MEMPHIS",
                status_code="IT",
            )
            for i in range(count)
        ]
    )
    Shipment.objects.filter(pk=shipment.pk).update(event_count=count)


def codes(response) -> list[str]:
    return [e["code"] for e in response.json()["errors"]]
