"""API keys in the admin: make one (shown once, on the page right after), see which is which
by its prefix and when it was last used, change its scopes or rate limit, revoke it."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from ..models import ApiKey, ApiScope
from ..services import api_keys
from .filters import SetOrNotFilter


class RevokedFilter(SetOrNotFilter):
    title = _("revoked")
    parameter_name = "revoked"
    field = "revoked_at"
    labels = (_("Revoked"), _("Usable"))


class ApiKeyForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        choices=ApiScope.choices,
        widget=forms.CheckboxSelectMultiple,
        initial=list(ApiScope.values),
        label=_("scopes"),
    )

    class Meta:
        model = ApiKey
        fields = ("name", "scopes", "rate_limit_per_minute")


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    form = ApiKeyForm
    list_display = (
        "name",
        "prefix",
        "scope_list",
        "rate_limit_per_minute",
        "created_at",
        "last_used_at",
        "revoked_at",
    )
    list_filter = (RevokedFilter,)
    search_fields = ("name", "prefix")
    search_help_text = _("Name or prefix (the key's first characters, stk_…).")
    readonly_fields = ("prefix", "created_at", "last_used_at", "revoked_at")
    actions = ("revoke_keys",)

    @admin.display(description=_("scopes"))
    def scope_list(self, obj: ApiKey) -> str:
        return ", ".join(obj.scopes or [])

    def save_model(self, request: HttpRequest, obj: ApiKey, form: Any, change: bool) -> None:
        if not change:
            # The key exists only in this request: shown on the next page, never stored.
            request._new_api_key = api_keys.prepare_new_key(obj)  # type: ignore[attr-defined]
        super().save_model(request, obj, form, change)

    def response_add(
        self, request: HttpRequest, obj: ApiKey, post_url_continue: Any = None
    ) -> HttpResponse:
        raw = getattr(request, "_new_api_key", None)
        if raw is None:
            return super().response_add(request, obj, post_url_continue)
        # A page of its own rather than a message: messages travel in a cookie or the session,
        # and the key must not be stored anywhere.
        return TemplateResponse(
            request,
            "admin/tracking/shown_once.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "object": obj,
                "title": _("API key created"),
                "secret": raw,
                "secret_label": _("API key"),
                "usage": f"Authorization: Bearer {raw}",
            },
        )

    @admin.action(description=_("Revoke the selected keys (they stop working at once)"))
    def revoke_keys(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        count = api_keys.revoke(key_ids=queryset.values_list("pk", flat=True))
        self.message_user(
            request,
            ngettext("%(count)d key revoked.", "%(count)d keys revoked.", count) % {"count": count},
            messages.SUCCESS,
        )
