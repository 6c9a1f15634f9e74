"""Staff portal URLs (/staff/)."""

from django.urls import path

from .views import imports, staff

app_name = "staff"

urlpatterns = [
    path("", staff.shipment_list, name="shipment_list"),
    path("add/", staff.shipment_add, name="shipment_add"),
    path("shipments/<int:pk>/", staff.shipment_detail, name="shipment_detail"),
    path("shipments/<int:pk>/refresh/", staff.shipment_refresh, name="shipment_refresh"),
    path("shipments/<int:pk>/details/", staff.shipment_update, name="shipment_update"),
    path("login/", staff.login, name="login"),
    path("logout/", staff.logout, name="logout"),
    # bulk import/export
    path("import/", imports.import_upload, name="import"),
    path("import/<int:pk>/", imports.import_status, name="import_status"),
    path("export.csv", imports.export, name="export"),
]
