"""Marking notifications read: one, or all of a user's."""

from __future__ import annotations

from django.utils import timezone
from rest_framework.exceptions import NotFound

from .models import Notification


def notification_mark_read(*, user, notification_id: int) -> Notification:
    """Mark one of `user`'s notifications read (again: no change). Raises NotFound for anyone else's."""
    notification = Notification.objects.select_related("actor").filter(pk=notification_id, recipient=user).first()
    if notification is None:
        raise NotFound("No such notification.")
    if notification.read_at is None:
        notification.read_at = timezone.now()
        # Only if still unread: a concurrent "mark all" keeps its own time.
        Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(read_at=notification.read_at)
        notification.refresh_from_db(fields=["read_at"])
    return notification


def notifications_mark_all_read(*, user) -> int:
    """Mark all of `user`'s unread notifications read; returns how many were unread."""
    return Notification.objects.filter(recipient=user, read_at__isnull=True).update(read_at=timezone.now())
