"""New tables for the search and the status counts (both databases); nothing big is touched here.

- `tracking_place`: each distinct place events were scanned at, once (a few thousand rows).
- `tracking_shipmentplace`: one row per shipment and place it passed (primary key (shipment,
  place), an index (place, shipment)); written by the ingest.
- `tracking_shipmenttally`: +1/-1 rows per carrier and status, written by triggers (0011).
- `tracking_nameword`: every word of the customer names once, written by triggers (0011): what a
  misspelt name is corrected against.

Filled by 0011 (tallies) and 0012 (places), which also move the search onto them.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("tracking", "0009_outbox_customer_postcode_language"),
    ]

    operations = [
        migrations.CreateModel(
            name="Place",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("city", models.CharField(blank=True, max_length=200)),
                ("state", models.CharField(blank=True, max_length=100)),
                ("postal_code", models.CharField(blank=True, max_length=32)),
                ("country_code", models.CharField(blank=True, max_length=2)),
                ("text", models.CharField(max_length=400)),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("city", "state", "postal_code", "country_code"), name="place_unique"
                    )
                ],
                "indexes": [models.Index(fields=["text"], name="place_text")],
            },
        ),
        migrations.CreateModel(
            name="ShipmentPlace",
            fields=[
                ("pk", models.CompositePrimaryKey("shipment", "place", blank=True, editable=False, primary_key=True, serialize=False)),
                ("shipment", models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name="place_links", to="tracking.shipment")),
                ("place", models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name="shipment_links", to="tracking.place")),
            ],
            options={
                "indexes": [models.Index(fields=["place", "shipment"], name="shipment_place_by_place")],
            },
        ),
        migrations.CreateModel(
            name="NameWord",
            fields=[("word", models.CharField(max_length=60, primary_key=True, serialize=False))],
        ),
        migrations.CreateModel(
            name="ShipmentTally",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("carrier_id", models.BigIntegerField()),
                ("status_code", models.CharField(blank=True, max_length=8)),
                ("shipments", models.IntegerField()),
            ],
        ),
    ]
