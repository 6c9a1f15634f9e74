"""Staff portal URLs (/staff/)."""

from django.urls import path

from .. import auth
from . import analytics, export, imports, shipments

app_name = "staff"

urlpatterns = [
    path("", shipments.shipment_list, name="shipment_list"),
    path("add/", shipments.shipment_add, name="shipment_add"),
    path("shipments/<int:pk>/", shipments.shipment_detail, name="shipment_detail"),
    path("shipments/<int:pk>/refresh/", shipments.shipment_refresh, name="shipment_refresh"),
    path("shipments/<int:pk>/details/", shipments.shipment_update, name="shipment_update"),
    path("shipments/<int:pk>/send-link/", shipments.shipment_send_link, name="shipment_send_link"),
    path("login/", auth.login, name="login"),
    path("logout/", auth.logout, name="logout"),
    path("import/", imports.import_upload, name="import"),
    path("import/<int:pk>/", imports.import_status, name="import_status"),
    path("import/<int:pk>/retry/", imports.import_retry, name="import_retry"),
    path("export.csv", export.export, name="export"),
    path("analytics/", analytics.analytics_page, name="analytics"),
    path("analytics/<slug:slug>.csv", analytics.analytics_csv, name="analytics_csv"),
]
