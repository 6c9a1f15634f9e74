"""ShipEngine webhook receiver URLs (/webhooks/)."""

app_name = "webhooks"

urlpatterns: list = []
