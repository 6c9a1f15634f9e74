from django.db import migrations, models

from tracking.ops.migration_ops import AddIndexConcurrentlyOnPostgres


class Migration(migrations.Migration):
    # CREATE INDEX CONCURRENTLY cannot run inside a transaction (PostgreSQL); it does not block
    # the outbox consumer's writes to the rollups while it builds.
    atomic = False

    dependencies = [("tracking", "0020_rollup_destination_day")]

    operations = [
        AddIndexConcurrentlyOnPostgres(
            model_name="dailyrollup",
            index=models.Index(
                fields=["carrier", "metric", "day", "origin", "destination", "key", "n"],
                name="rollup_carrier_day",
            ),
        ),
    ]
