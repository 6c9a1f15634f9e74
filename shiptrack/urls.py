from django.contrib import admin
from django.urls import include, path

from tracking.ops.healthz import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("staff/", include("tracking.web.staff.urls")),
    path("api/v1/", include("tracking.api.urls")),
    path("webhooks/", include("tracking.webhooks.urls")),
    path("", include("tracking.web.public.urls")),
]
