"""Subscription feeds: a secret URL that answers the owner's calendar as iCalendar."""

from __future__ import annotations

from django.conf import settings
from django.db import models

NAME_MAX = 100


class Feed(models.Model):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="feeds")
    name = models.CharField(max_length=NAME_MAX)
    # SHA-256 of the URL's secret (hex); the secret itself is shown once, in the create answer.
    secret_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.pk})"
