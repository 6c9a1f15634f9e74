"""Admin pages that show what the app recorded and let nobody add or edit it by hand."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest


class ViewOnly:
    """First among the bases of a ModelAdmin or an inline: rows are viewed, never added or
    changed here (their actions still run: they need only the view permission)."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
