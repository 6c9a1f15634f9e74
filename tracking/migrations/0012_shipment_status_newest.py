from django.db import migrations, models

from tracking.ops.migration_ops import AddIndexConcurrentlyOnPostgres


class Migration(migrations.Migration):
    # CREATE INDEX CONCURRENTLY cannot run inside a transaction (PostgreSQL); it does not block
    # writes to the shipments table while it builds.
    atomic = False

    dependencies = [
        ("tracking", "0011_api_keys_outgoing_webhooks"),
    ]

    operations = [
        AddIndexConcurrentlyOnPostgres(
            model_name="shipment",
            index=models.Index(fields=["status_code", "-id"], name="shipment_status_newest"),
        ),
    ]
