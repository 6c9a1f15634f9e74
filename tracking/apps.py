from django.apps import AppConfig


class TrackingConfig(AppConfig):
    name = "tracking"
    verbose_name = "Tracking"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The outbox's consumers and callbacks register themselves when their modules load; load
        # them in every process (web, worker, shell, command) so that no dispatch ever runs
        # without them (a record dispatched without its webhook consumer would be lost to it).
        from . import tasks  # noqa: F401  (imports services.outbound_webhooks)
