from django.contrib import admin
from django.urls import include, path

from tracking.views.health import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("staff/", include("tracking.urls_staff")),
    path("webhooks/", include("tracking.urls_webhooks")),
    path("", include("tracking.urls_public")),
]
