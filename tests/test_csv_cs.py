"""CSV import and export for customer service: the file input takes .csv, common header
spellings and carrier names, the encoding detected (UTF-8 with or without a BOM, Windows-1252),
a template to download; the export has the carrier's name, notes count, public link and places as
on screen."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from tests.factories import ShipmentFactory
from tests.html import one, parse
from tracking.models import Shipment, ShipmentNote
from tracking.services import csv_import
from tracking.web.staff.forms import ImportUploadForm

pytestmark = pytest.mark.django_db


def write(tmp_path, content: bytes):
    path = tmp_path / "in.csv"
    path.write_bytes(content)
    return path


def test_common_header_spellings_and_carrier_names_are_understood(tmp_path):
    text = (
        "Tracking Number,Carrier,Order,Email,Postcode,Name\n"
        "1Z999AA10123456784,UPS,ORD-1,a@example.com,sw1a 1aa,Ada\n"
        "794698432183,fedex,ORD-2,,,\n"
    )
    report = csv_import.import_csv(path=write(tmp_path, text.encode()))
    assert (report.imported, report.errors, report.fatal) == (2, 0, "")
    ups = Shipment.objects.get(tracking_number="1Z999AA10123456784")
    assert (ups.carrier.code, ups.reference, ups.customer_email, ups.customer_postcode) == (
        "ups",
        "ORD-1",
        "a@example.com",
        "SW1A 1AA",
    )
    assert ups.customer_name == "Ada"


@pytest.mark.parametrize(
    ("content", "name"),
    [
        (b"carrier,tracking\nfedex,794698432183,\n", ""),
        (
            "\ufeffcarrier_code,tracking_number,customer_name\nfedex,794698432183,Zoë\n".encode(),
            "Zoë",
        ),
        ("carrier_code,tracking_number,customer_name\nfedex,794698432183,Zoë\n".encode(), "Zoë"),
        (
            "carrier_code,tracking_number,customer_name\nfedex,794698432183,René Müller\n".encode(
                "cp1252"
            ),
            "René Müller",
        ),
    ],
    ids=["ascii", "utf8-bom", "utf8", "windows-1252"],
)
def test_the_encoding_is_detected(tmp_path, content, name):
    report = csv_import.import_csv(path=write(tmp_path, content))
    assert (report.imported, report.errors, report.fatal) == (1, 0, "")
    assert Shipment.objects.get().customer_name == name


def test_utf16_is_refused_with_what_to_do(tmp_path):
    report = csv_import.import_csv(
        path=write(tmp_path, "carrier_code,tracking_number\n".encode("utf-16"))
    )
    assert "UTF-16" in report.fatal and "CSV UTF-8" in report.fatal


def test_the_upload_form_checks_a_windows_1252_header_and_takes_only_csv():
    upload = SimpleUploadedFile("x.csv", "Trackingnummer,Spediteur\n1,ups\n".encode("cp1252"))
    form = ImportUploadForm(data={}, files={"file": upload})
    assert not form.is_valid() and "missing: carrier_code, tracking_number" in str(form.errors)
    good = SimpleUploadedFile(
        "x.csv", "Carrier,Tracking Number,Straße\nups,1Z1,ß\n".encode("cp1252")
    )
    assert ImportUploadForm(data={}, files={"file": good}).is_valid()


def test_the_import_page_offers_the_template_and_accepts_csv(staff_client):
    page = parse(staff_client.get(reverse("staff:import")))
    assert one(page, "input[type=file]")["accept"] == ".csv,text/csv"
    link = one(page, f"a[href='{reverse('staff:import_template')}']")
    response = staff_client.get(link["href"])
    assert response["Content-Disposition"] == 'attachment; filename="shiptrack-import-template.csv"'
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == list(csv_import.COLUMNS) and len(rows) == 2


def test_the_template_imports_as_it_is(tmp_path, staff_client):
    content = staff_client.get(reverse("staff:import_template")).content
    report = csv_import.import_csv(path=write(tmp_path, content))
    assert (report.imported, report.errors) == (1, 0)


def test_export_adds_carrier_name_notes_count_public_link_and_places_as_shown(
    staff_client, settings
):
    settings.SITE_URL = "https://track.example.com"
    s = ShipmentFactory(
        carrier__code="ups",
        tracking_number="1Z999AA10123456784",
        status_code="IT",
        last_event_location="LOUISVILLE, KY, US",
    )
    ShipmentNote.objects.create(shipment=s, body="a")
    ShipmentNote.objects.create(shipment=s, body="b")
    response = staff_client.get(reverse("staff:export"))
    [header, row] = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    values = dict(zip(header, row, strict=True))
    assert values["carrier_name"] == s.carrier.name
    assert values["notes_count"] == "2"
    assert values["public_url"] == f"https://track.example.com/t/{s.public_token}/"
    assert values["last_event_location"] == "Louisville, KY, US"
