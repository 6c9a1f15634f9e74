"""Staff portal URLs (/staff/)."""

app_name = "staff"

urlpatterns: list = []
