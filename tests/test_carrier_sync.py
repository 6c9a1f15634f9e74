"""Carrier sync takes the account's word on what it can track with, and one bad entry spoils
nothing else."""

from __future__ import annotations

import pytest

from tracking.models import Carrier, InactiveReason
from tracking.services import carriers
from tracking.shipengine import CarrierAccount, CarrierList

pytestmark = pytest.mark.django_db


class Answer:
    def __init__(self, *accounts: CarrierAccount) -> None:
        self.accounts = accounts

    def list_carriers(self) -> CarrierList:
        return CarrierList(carriers=self.accounts)


def sync(*accounts: CarrierAccount) -> carriers.CarrierSyncReport:
    return carriers.sync_carriers(client=Answer(*accounts))  # type: ignore[arg-type]


def test_a_carrier_the_account_cannot_use_is_not_active_until_it_can():
    report = sync(
        CarrierAccount("ups", "se-1", connection_status="approved", disabled_by_billing_plan=True),
        CarrierAccount("fedex", "se-2", connection_status="pending_approval"),
    )
    ups, fedex = Carrier.objects.get(code="ups"), Carrier.objects.get(code="fedex")
    assert (ups.is_active, ups.inactive_reason) == (False, InactiveReason.BILLING_PLAN)
    assert (fedex.is_active, fedex.inactive_reason) == (False, InactiveReason.PENDING_APPROVAL)
    assert "not usable for tracking" in report.summary()
    assert not Carrier.objects.active().filter(code__in=["ups", "fedex"]).exists()
    sync(CarrierAccount("ups", "se-1", connection_status="approved"))
    ups.refresh_from_db()
    assert (ups.is_active, ups.inactive_reason) == (True, "")


def test_an_admins_off_stays_off_whatever_the_account_says():
    ups = Carrier.objects.get(code="ups")
    carriers.set_carriers_active(carrier_ids=[ups.pk], active=False)
    sync(CarrierAccount("ups", "se-1", connection_status="approved"))
    ups.refresh_from_db()
    assert (ups.is_active, ups.inactive_reason) == (False, InactiveReason.ADMIN)


def test_unstorable_entries_are_reported_and_the_rest_is_kept():
    report = sync(
        CarrierAccount("", "se-9", nickname="no code here"),
        CarrierAccount("a" * 65, "se-8"),
        CarrierAccount("UPS X", "se-7"),
        CarrierAccount("sandbox_courier", "se-6", friendly_name="Sandbox Courier"),
    )
    assert report.added == ["sandbox_courier"]
    assert len(report.errors) == 3
    assert any("without a carrier_code (se-9)" in e for e in report.errors)
    assert not Carrier.objects.filter(code__startswith="aaaa").exists()
