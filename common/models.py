"""API plumbing that needs rows: the answers kept for Idempotency-Key retries."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class IdempotencyRecord(models.Model):
    """The first answer to a POST sent with an Idempotency-Key, replayed to retries for 24 hours.

    `scope` is whose key it is: `user:<id>` for an authenticated caller, `ip:<address>` for an
    anonymous one (register, login, refresh). A row with no `status_code` is a request still running.
    """

    scope = models.CharField(max_length=80)
    key = models.CharField(max_length=255)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    # sha256 of method, path (without trailing slash, with the query) and body: a retry must match it.
    fingerprint = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    content_type = models.CharField(max_length=255, blank=True, default="")
    headers = models.JSONField(default=dict, blank=True)
    body = models.BinaryField(default=b"", blank=True)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            # Arbitrates the race between two first requests: one insert wins, the other sees its row.
            models.UniqueConstraint(fields=["scope", "key"], name="idempotency_scope_key_unique"),
        ]
        indexes = [models.Index(fields=["created_at"], name="idempotency_created_idx")]

    def __str__(self) -> str:
        return f"{self.scope} {self.key}"
