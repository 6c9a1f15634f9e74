"""Staff portal URLs (/staff/)."""

from django.urls import path

from .. import auth
from . import analytics, export, imports, notes, shipments, work

app_name = "staff"

urlpatterns = [
    path("", shipments.shipment_list, name="shipment_list"),
    path("add/", shipments.shipment_add, name="shipment_add"),
    path("shipments/<int:pk>/", shipments.shipment_detail, name="shipment_detail"),
    path("shipments/<int:pk>/refresh/", shipments.shipment_refresh, name="shipment_refresh"),
    path("shipments/<int:pk>/details/", shipments.shipment_update, name="shipment_update"),
    path("shipments/<int:pk>/notes/", notes.note_add, name="note_add"),
    path("shipments/<int:pk>/handled/", notes.mark_handled, name="mark_handled"),
    path("attention/", notes.attention, name="attention"),
    path("saved-searches/", work.saved_search_save, name="saved_search_save"),
    path("saved-searches/<int:pk>/delete/", work.saved_search_delete, name="saved_search_delete"),
    path("bulk/", work.bulk_start, name="bulk_start"),
    path("bulk/<int:pk>/", work.bulk_status, name="bulk_status"),
    path("bulk/<int:pk>/selected.csv", work.bulk_download, name="bulk_download"),
    path("shipments/<int:pk>/send-link/", shipments.shipment_send_link, name="shipment_send_link"),
    path("login/", auth.login, name="login"),
    path("logout/", auth.logout, name="logout"),
    path("import/", imports.import_upload, name="import"),
    path("import/template.csv", imports.import_template, name="import_template"),
    path("import/<int:pk>/", imports.import_status, name="import_status"),
    path("import/<int:pk>/retry/", imports.import_retry, name="import_retry"),
    path("export.csv", export.export, name="export"),
    path("analytics/", analytics.analytics_page, name="analytics"),
    path("analytics/<slug:slug>.csv", analytics.analytics_csv, name="analytics_csv"),
]
