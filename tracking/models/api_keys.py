"""API keys for shops and other systems, and the stored answers behind `Idempotency-Key`.

A key is shown once when it is made (services/api_keys.py) and stored only as its SHA-256: a
key is 256 random bits, so a fast hash is as safe as a slow one and lets every request find its
key with one indexed lookup. The prefix (the first characters of the key) tells keys apart in
the admin and in logs without revealing them.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class ApiScope(models.TextChoices):
    READ = "read", _("Read shipments and webhook endpoints")
    WRITE = "write", _("Add and refresh shipments, manage webhook endpoints")


class ApiKeyQuerySet(models.QuerySet["ApiKey"]):
    def usable(self) -> ApiKeyQuerySet:
        return self.filter(revoked_at__isnull=True)


class ApiKey(models.Model):
    name = models.CharField(_("name"), max_length=100)
    #: The key's first characters ("stk_" + 8), shown to tell keys apart; unique.
    prefix = models.CharField(_("prefix"), max_length=16, unique=True, editable=False)
    #: sha256 of the whole key, hex. The key itself is never stored.
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    scopes = models.JSONField(_("scopes"), default=list)
    #: Requests per minute for this key; null: settings.API_RATE_LIMIT_PER_MINUTE.
    rate_limit_per_minute = models.PositiveIntegerField(
        _("requests per minute"),
        null=True,
        blank=True,
        help_text=_("Empty: the default (API_RATE_LIMIT_PER_MINUTE)."),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    #: Updated at most once a minute per key (a write per request would cost every request).
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    def has_scope(self, scope: str) -> bool:
        return scope in (self.scopes or [])


class IdempotencyRecord(models.Model):
    """The answer given to one (key, Idempotency-Key) pair, replayed for a retry of the same
    request. `status` 0 while the first request is still running (a concurrent retry gets 409)."""

    api_key = models.ForeignKey(ApiKey, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    #: sha256 of method, path and body: the same key with another request is refused.
    request_hash = models.CharField(max_length=64)
    status = models.PositiveSmallIntegerField(default=0)
    body = models.TextField(blank=True)
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["api_key", "key"], name="idempotency_unique_per_key")
        ]

    def __str__(self) -> str:
        return f"{self.api_key_id}:{self.key[:20]} -> {self.status}"
