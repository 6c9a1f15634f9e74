"""Public URLs: the home page (tracking lookup) and the shareable tracking page."""

from django.urls import path

from . import branding, views

app_name = "public"

urlpatterns = [
    path("", views.home, name="home"),
    path("track/", views.lookup, name="lookup"),
    path("t/<str:token>/", views.track_page, name="track_page"),
    path("brand.css", branding.brand_css, name="brand_css"),
]
