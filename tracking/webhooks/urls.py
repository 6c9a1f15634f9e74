"""ShipEngine webhook receiver URLs (/webhooks/)."""

from django.urls import path

from . import views

app_name = "webhooks"

urlpatterns = [
    path("shipengine/track/", views.shipengine_track, name="shipengine_track"),
]
