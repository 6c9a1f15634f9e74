"""Links between admin pages."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.db.models import Model
from django.urls import reverse


def changelist_url(model: type[Model], **filters: Any) -> str:
    url = reverse(f"admin:tracking_{model._meta.model_name}_changelist")
    return f"{url}?{urlencode(filters)}" if filters else url
