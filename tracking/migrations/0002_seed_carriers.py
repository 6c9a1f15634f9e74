"""Load the seed document's supported-carrier table (49 codes; two names share australia_post,
and the second one is kept as an alternate name so both stay findable)."""

from django.db import migrations

SEED_CARRIERS = [
    ('U.S. Postal Service', 'usps'),
    ('Stamps.com', 'stamps_com'),
    ('FedEx', 'fedex'),
    ('UPS', 'ups'),
    ('DHL Express', 'dhl_express'),
    ('DHL ECommerce', 'dhl_global_mail'),
    ('DHL eCommerce Australia', 'dhl_ecommerce_au'),
    ('Access Worldwide', 'access_worldwide'),
    ('APC', 'apc'),
    ('Aramex AU / Fastway', 'fastway_au'),
    ('Aramex NZ / Fastway', 'fastway_nz'),
    ('Asendia', 'asendia'),
    ('Australia Post', 'australia_post'),
    ('Australia Post eParcel', 'australia_post'),
    ('Australia Post MyPost Business', 'australia_post_mypost_business'),
    ('Canada Post', 'canada_post'),
    ('Canpar Express', 'canpar'),
    ('CouriersPlease', 'couriers_please'),
    ('DAI', 'dai'),
    ('Direct Freight', 'direct_freight'),
    ('Evri International', 'evri_international'),
    ('First Mile', 'firstmile'),
    ('Freightways', 'freightways'),
    ('Freightways - Castle Parcels', 'castle_parcels'),
    ('Freightways - New Zealand Couriers', 'new_zealand_couriers'),
    ('Freightways - Now Couriers', 'now_couriers'),
    ('Freightways - Post Haste', 'post_haste'),
    ('Global Access', 'global_access'),
    ('IMEX', 'imex'),
    ('Landmark Global', 'landmark_global'),
    ('Landmark Global AU', 'landmark_global_au'),
    ('Landmark Global UK', 'landmark_global_uk'),
    ('Newgistics', 'newgistics'),
    ('Nobordist', 'nobordist'),
    ('NZ Post Domestic', 'courierpost'),
    ('NZ Post International', 'new_zealand_post_international'),
    ('OnTrac', 'ontrac'),
    ('Purolator Canada', 'purolator_ca'),
    ('Quantium', 'quantium'),
    ('RR Donnelley', 'rr_donnelley'),
    ('SEKO Omni-Channel Logistics', 'seko'),
    ('SEKO Omni-Channel Logistics UK', 'seko_uk'),
    ('Sendle', 'sendle'),
    ('Seven Senders', 'seven_senders'),
    ('StarTrack', 'star_track'),
    ('TNT Australia', 'tnt_australia'),
    ('Team Global Express IPEC', 'toll_ipec'),
    ('Team Global Express Priority', 'toll_priority'),
    ('wizmo', 'wizmo'),
]

# Carrier tracking pages, for carriers whose URL scheme is public and stable.
TRACKING_URLS = {
    "usps": "https://tools.usps.com/go/TrackConfirmAction?tLabels={tracking_number}",
    "stamps_com": "https://tools.usps.com/go/TrackConfirmAction?tLabels={tracking_number}",
    "ups": "https://www.ups.com/track?tracknum={tracking_number}",
    "fedex": "https://www.fedex.com/fedextrack/?trknbr={tracking_number}",
    "dhl_express": "https://www.dhl.com/en/express/tracking.html?AWB={tracking_number}",
    "canada_post": "https://www.canadapost-postescanada.ca/track-reperage/en#/details/{tracking_number}",
    "australia_post": "https://auspost.com.au/mypost/track/#/details/{tracking_number}",
}


def load(apps, schema_editor):
    Carrier = apps.get_model("tracking", "Carrier")
    by_code = {}
    for name, code in SEED_CARRIERS:
        by_code.setdefault(code, []).append(name)
    for code, names in by_code.items():
        carrier, created = Carrier.objects.get_or_create(
            code=code,
            defaults={
                "name": names[0],
                "alternate_names": ", ".join(names[1:]),
                "tracking_url_template": TRACKING_URLS.get(code, ""),
            },
        )


def unload(apps, schema_editor):
    # Carriers may have shipments by now; reversing keeps them (PROTECT would refuse anyway).
    pass


class Migration(migrations.Migration):
    dependencies = [("tracking", "0001_initial")]
    operations = [migrations.RunPython(load, unload)]
