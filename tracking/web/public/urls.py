"""Public URLs: the home page (tracking lookup), the shareable tracking page, e-mail updates."""

from django.urls import path

from . import branding, language, sandbox_pages, subscriptions, views

app_name = "public"

urlpatterns = [
    path("", views.home, name="home"),
    path("track/", views.lookup, name="lookup"),
    path("track/order/", views.order_lookup, name="order_lookup"),
    path("t/<str:token>/", views.track_page, name="track_page"),
    path("language/", language.set_language, name="set_language"),
    path("brand.css", branding.brand_css, name="brand_css"),
    # E-mail updates (web/public/subscriptions.py).
    path("t/<str:token>/subscribe/", subscriptions.subscribe, name="subscribe"),
    path("email/confirm/<str:token>/", subscriptions.confirm, name="confirm_subscription"),
    path("email/unsubscribe/<str:token>/", subscriptions.unsubscribe, name="unsubscribe"),
    path(
        "sandbox/carrier/<str:carrier_code>/<str:number>/",
        sandbox_pages.carrier_page,
        name="sandbox_carrier",
    ),
    path(
        "sandbox/carrier/<str:carrier_code>/<str:number>/proof/",
        sandbox_pages.carrier_page,
        {"proof": True},
        name="sandbox_proof",
    ),
]
