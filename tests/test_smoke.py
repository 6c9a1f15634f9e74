import pytest
from django.core.management import call_command

from tracking.models import Carrier, Shipment


@pytest.mark.django_db
def test_track_command_stores_seed_example(capsys):
    call_command("track", "stamps_com", "9405511899223197428490", "--json")
    shipment = Shipment.objects.get(tracking_number="9405511899223197428490")
    assert shipment.status_code == "DE"
    assert shipment.events.count() == 6
    assert Carrier.objects.count() == 48
