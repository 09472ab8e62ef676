"""iCalendar reads, scoped to the caller."""

from __future__ import annotations

import hashlib

from events.models import Event
from sharing.models import EventPermission
from sharing.roles import Role

from .models import Feed
from .parse import ObjectRefused


def secret_hash(secret: str) -> str:
    """How a feed's secret is stored (SHA-256, hex): a leaked table gives no working URL."""
    return hashlib.sha256(secret.encode()).hexdigest()


def event_for_uid(*, user, uid: str) -> Event | None:
    """The event a UID names for `user`: one they can edit (their own first), else None (a new event).
    ObjectRefused when the UID is taken by an event they may only view, or by their own deleted event."""
    found = list(
        EventPermission.objects.filter(user=user, event__uid=uid, event__deleted_at__isnull=True).select_related(
            "event"
        )
    )
    found.sort(key=lambda p: p.event.owner_id != user.pk)
    for permission in found:
        if permission.role in (Role.OWNER, Role.EDITOR):
            permission.event.my_role = permission.role
            return permission.event
    if found:
        raise ObjectRefused([f"UID: belongs to an event shared with you as {found[0].role}; you cannot change it"])
    if Event.objects.filter(owner=user, uid=uid, deleted_at__isnull=False).exists():
        raise ObjectRefused(["UID: belongs to an event of yours that was deleted; restore it first"])
    return None


def feed_find(secret: str) -> Feed | None:
    """The feed of a URL secret, if it exists and its owner is active."""
    if not secret or len(secret) > 128:
        return None
    return Feed.objects.select_related("owner").filter(secret_hash=secret_hash(secret), owner__is_active=True).first()
