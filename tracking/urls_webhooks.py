"""ShipEngine webhook receiver URLs (/webhooks/)."""

from django.urls import path

from .views import webhooks

app_name = "webhooks"

urlpatterns = [
    path("shipengine/track/", webhooks.shipengine_track, name="shipengine_track"),
]
