"""Carriers: sync from the account (GET /v1/carriers), enable and disable."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.db import DatabaseError, transaction
from django.utils import timezone

from ..domain.numbers import is_valid_carrier_code
from ..models import Carrier, InactiveReason
from ..queries.carriers import forget_carrier_choices
from ..shipengine import CarrierAccount, ShipEngineClient
from . import api_client


@dataclass
class CarrierSyncReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    #: Carriers the account cannot track with: not active until it can.
    disabled: list[str] = field(default_factory=list)

    def summary(self) -> str:
        text = (
            f"{len(self.added)} added, {len(self.updated)} updated, {len(self.unchanged)} unchanged"
        )
        if self.added:
            text += f" (added: {', '.join(self.added)})"
        if self.disabled:
            text += (
                f"; not usable for tracking on this account (inactive): {', '.join(self.disabled)}"
            )
        if self.errors:
            text += f"; the API also reported: {'; '.join(self.errors)}"
        return text


def _account_reason(account: CarrierAccount) -> str:
    """Why the account cannot track with this carrier, or "" when it can."""
    if account.disabled_by_billing_plan:
        return InactiveReason.BILLING_PLAN
    if account.connection_status and account.connection_status != "approved":
        return InactiveReason.PENDING_APPROVAL
    return ""


def _apply(
    account: CarrierAccount, carrier: Carrier | None, now: datetime, report: CarrierSyncReport
) -> None:
    code = account.carrier_code
    values: dict[str, object] = {
        "shipengine_carrier_id": account.carrier_id[:25],
        "nickname": account.nickname[:120],
        "friendly_name": account.friendly_name[:120],
        "connection_status": account.connection_status[:32],
    }
    reason = _account_reason(account)
    if carrier is None:
        Carrier.objects.create(
            code=code,
            name=(account.friendly_name or code.replace("_", " ").title())[:120],
            last_synced_at=now,
            is_active=not reason,
            inactive_reason=reason,
            **values,
        )
        report.added.append(code)
        return
    changed = [k for k, v in values.items() if v and getattr(carrier, k) != v]
    for name in changed:
        setattr(carrier, name, values[name])
    # The account decides only what the account caused: an admin's "off" stays off.
    if carrier.inactive_reason != InactiveReason.ADMIN:
        if reason and (carrier.is_active or carrier.inactive_reason != reason):
            carrier.is_active, carrier.inactive_reason = False, reason
            changed += ["is_active", "inactive_reason"]
            report.disabled.append(code)
        elif not reason and not carrier.is_active and carrier.inactive_reason:
            carrier.is_active, carrier.inactive_reason = True, ""
            changed += ["is_active", "inactive_reason"]
    carrier.last_synced_at = now
    carrier.save(update_fields=[*changed, "last_synced_at", "updated_at"])
    (report.updated if changed else report.unchanged).append(code)


def sync_carriers(*, client: ShipEngineClient | None = None) -> CarrierSyncReport:
    """GET /v1/carriers: update known carriers, add new ones, delete none. Carriers the account
    cannot track with (disabled by the billing plan, connection pending approval) are not active.
    A 207 answer's carriers are applied and its errors reported; an entry that cannot be stored
    (no carrier_code, a code that is not one) is reported and skipped, never rolling the others
    back; a failed call changes nothing."""
    client = client or api_client.get_client()
    answer = client.list_carriers()  # raises before anything is written
    report = CarrierSyncReport(errors=[f"{e.message} ({e.error_code})" for e in answer.errors])
    now = timezone.now()
    with transaction.atomic():
        known = {c.code: c for c in Carrier.objects.select_for_update()}
        seen: set[str] = set()
        for account in answer.carriers:
            code = account.carrier_code
            if not code:
                report.errors.append(
                    f"an account entry without a carrier_code ({account.carrier_id or 'no id'}) "
                    "was skipped"
                )
                continue
            if not is_valid_carrier_code(code):
                report.errors.append(f"{code[:80]!r} is not a carrier code; skipped")
                continue
            if code in seen:
                continue
            seen.add(code)
            try:
                with transaction.atomic():  # one carrier that cannot be stored spoils no other
                    _apply(account, known.get(code), now, report)
            except DatabaseError as exc:
                report.errors.append(f"{code} could not be stored ({type(exc).__name__}); skipped")
    forget_carrier_choices()
    return report


def set_carriers_active(*, carrier_ids: list[int], active: bool) -> int:
    """Enable or disable carriers; returns how many changed. Their shipments are kept: a disabled
    carrier's packages stay readable but are neither refreshed nor accepted anew."""
    with transaction.atomic():
        changed = (
            Carrier.objects.filter(pk__in=carrier_ids)
            .exclude(is_active=active)
            .update(
                is_active=active,
                inactive_reason="" if active else InactiveReason.ADMIN,
                updated_at=timezone.now(),
            )
        )
    forget_carrier_choices()
    return changed
