"""Public URLs: the home page (tracking lookup) and the shareable tracking page."""

from django.urls import path

from .views import public

app_name = "public"

urlpatterns = [
    path("", public.home, name="home"),
    path("track/", public.lookup, name="lookup"),
    path("t/<str:token>/", public.track_page, name="track_page"),
    path("brand.css", public.brand_css, name="brand_css"),
]
