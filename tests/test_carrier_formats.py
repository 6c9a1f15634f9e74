"""Carrier detection from the tracking number's format."""

import pytest

from tracking.domain.carrier_formats import codes_for, detect, fedex_express_check


@pytest.mark.parametrize(
    ("number", "carrier"),
    [
        ("1Z999AA10123456784", "ups"),
        ("1Z12345E0205271688", "ups"),
        ("9405511899223197428490", "usps"),
        ("9205590164917312751089", "usps"),
        ("420902109405511899223197428490", "usps"),  # ZIP+4 routing prefix
        ("70131710000012345678", "usps"),
        ("EA123456789US", "usps"),
        ("EA123456789CA", "canada_post"),
        ("RR123456789AU", "australia_post"),
        ("961234567890123456789012", None),  # 24 digits: no rule
        ("9612345678901234567890", "fedex"),  # Ground barcode
        ("123456789012345", "fedex"),  # Ground, 15 digits
        ("4582917364", "dhl_express"),
        ("JJD000390007827413941", "dhl_express"),
        ("GM2951173225174494", "dhl_global_mail"),
        ("7023210039414604", "canada_post"),
        ("ABC123456789", "purolator_ca"),
        ("C11234567890123", "ontrac"),
    ],
)
def test_detects_well_known_formats(number, carrier):
    detection = detect(number)
    assert detection.carrier == (carrier or "")
    assert detection.is_certain is bool(carrier)


def test_usps_family_includes_stamps_com():
    assert set(detect("9405511899223197428490").codes) == {"usps", "stamps_com"}
    assert codes_for("stamps_com") == ("usps", "stamps_com")
    assert codes_for("ups") == ("ups",)


def test_twelve_digits_need_a_valid_fedex_check_digit_to_be_certain():
    # 794698432183 fails the FedEx Express check: FedEx or Purolator, so ask.
    assert not fedex_express_check("794698432183")
    ambiguous = detect("794698432183")
    assert not ambiguous.is_certain
    assert ambiguous.candidates == ("fedex", "purolator_ca")
    # Same number with the right check digit (sum 11 -> mod 11 = 0 ... computed): certain.
    valid = next(f"79469843218{d}" for d in range(10) if fedex_express_check(f"79469843218{d}"))
    assert detect(valid).carrier == "fedex"


@pytest.mark.parametrize("number", ["", "ABC", "HELLO-WORLD", "EA123456789XX", "1Z123"])
def test_unknown_formats_ask(number):
    detection = detect(number)
    assert not detection.is_certain
    assert detection.candidates == ()
