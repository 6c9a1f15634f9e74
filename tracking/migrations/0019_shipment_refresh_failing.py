from django.db import migrations, models

from tracking.ops.migration_ops import AddIndexConcurrentlyOnPostgres


class Migration(migrations.Migration):
    # CREATE INDEX CONCURRENTLY cannot run inside a transaction (PostgreSQL); it does not block
    # writes to the shipments table while it builds.
    atomic = False

    dependencies = [("tracking", "0018_merge_notes_notifications")]

    operations = [
        AddIndexConcurrentlyOnPostgres(
            model_name="shipment",
            index=models.Index(
                condition=models.Q(("consecutive_failures__gt", 0)),
                fields=["id"],
                name="shipment_refresh_failing",
            ),
        ),
    ]
