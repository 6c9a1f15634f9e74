"""The Django admin, one module per model family: carriers, shipments, events, API calls, API
keys, outgoing webhooks, customer e-mails (the notification log).

Every changelist costs a fixed number of queries however many rows there are: related rows come
with `list_select_related`, per-row counts are annotations, and filters never list values with a
scan of a large table. Writes go through services, like everywhere else.
"""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from . import api_calls, api_keys, carriers, events, notifications, shipments, webhooks

admin.site.site_header = _("shiptrack administration")
admin.site.site_title = _("shiptrack admin")
admin.site.index_title = _("Carriers, shipments, API health, API keys, webhooks and e-mails")

__all__ = [
    "api_calls",
    "api_keys",
    "carriers",
    "events",
    "notifications",
    "shipments",
    "webhooks",
]
