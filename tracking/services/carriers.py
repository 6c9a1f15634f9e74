"""Carriers: sync from the account (GET /v1/carriers), enable and disable."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from ..domain.numbers import is_valid_carrier_code
from ..models import Carrier
from ..queries.carriers import forget_carrier_choices
from ..shipengine import ShipEngineClient
from . import api_client


@dataclass
class CarrierSyncReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        text = (
            f"{len(self.added)} added, {len(self.updated)} updated, {len(self.unchanged)} unchanged"
        )
        if self.added:
            text += f" (added: {', '.join(self.added)})"
        if self.errors:
            text += f"; the API also reported: {'; '.join(self.errors)}"
        return text


def sync_carriers(*, client: ShipEngineClient | None = None) -> CarrierSyncReport:
    """GET /v1/carriers: update known carriers, add new ones, delete none. A 207 answer's carriers
    are applied and its errors reported; a failed call changes nothing."""
    client = client or api_client.get_client()
    answer = client.list_carriers()  # raises before anything is written
    report = CarrierSyncReport(errors=[f"{e.message} ({e.error_code})" for e in answer.errors])
    now = timezone.now()
    with transaction.atomic():
        known = {c.code: c for c in Carrier.objects.select_for_update()}
        seen: set[str] = set()
        for account in answer.carriers:
            code = account.carrier_code
            if not is_valid_carrier_code(code) or code in seen:
                continue
            seen.add(code)
            values = {
                "shipengine_carrier_id": account.carrier_id[:25],
                "nickname": account.nickname[:120],
                "friendly_name": account.friendly_name[:120],
                "connection_status": account.connection_status[:32],
            }
            carrier = known.get(code)
            if carrier is None:
                Carrier.objects.create(
                    code=code,
                    name=(account.friendly_name or code.replace("_", " ").title())[:120],
                    last_synced_at=now,
                    **values,
                )
                report.added.append(code)
                continue
            changed = [k for k, v in values.items() if v and getattr(carrier, k) != v]
            for name in changed:
                setattr(carrier, name, values[name])
            carrier.last_synced_at = now
            carrier.save(update_fields=[*changed, "last_synced_at", "updated_at"])
            (report.updated if changed else report.unchanged).append(code)
    forget_carrier_choices()
    return report


def set_carriers_active(*, carrier_ids: list[int], active: bool) -> int:
    """Enable or disable carriers; returns how many changed. Their shipments are kept: a disabled
    carrier's packages stay readable but are neither refreshed nor accepted anew."""
    with transaction.atomic():
        changed = (
            Carrier.objects.filter(pk__in=carrier_ids)
            .exclude(is_active=active)
            .update(is_active=active, updated_at=timezone.now())
        )
    forget_carrier_choices()
    return changed
