"""Public URLs: the home page (tracking lookup) and the shareable tracking page."""

from django.urls import path

from .views import public

app_name = "public"

urlpatterns = [
    path("", public.home, name="home"),
]
