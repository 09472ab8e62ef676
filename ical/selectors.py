"""iCalendar reads, scoped to the caller."""

from __future__ import annotations

from common.secret_tokens import secret_digest
from events.models import Event
from sharing.models import EventPermission
from sharing.roles import Role

from .models import Feed
from .parse import ObjectRefused

secret_hash = secret_digest  # how a feed's secret is stored: common/secret_tokens.py


_CHUNK = 500  # UIDs per query: well inside every backend's limit of query parameters


def events_for_uids(*, user, uids: list[str]) -> dict[str, Event | ObjectRefused]:
    """What each UID names for `user`: an event they can edit (their own first), an ObjectRefused when it is
    taken by an event they may only view or by their own deleted event; absent: a new event. Two queries
    per 500 UIDs."""
    found: dict[str, Event | ObjectRefused] = {}
    for start in range(0, len(uids), _CHUNK):
        chunk = uids[start : start + _CHUNK]
        permissions = EventPermission.objects.filter(
            user=user, event__uid__in=chunk, event__deleted_at__isnull=True
        ).select_related("event")
        by_uid: dict[str, list] = {}
        for permission in permissions:
            by_uid.setdefault(permission.event.uid, []).append(permission)
        for uid, held in by_uid.items():
            held.sort(key=lambda p: p.event.owner_id != user.pk)
            editable = next((p for p in held if p.role in (Role.OWNER, Role.EDITOR)), None)
            if editable is not None:
                editable.event.my_role = editable.role
                found[uid] = editable.event
            else:
                found[uid] = ObjectRefused(
                    [f"UID: belongs to an event shared with you as {held[0].role}; you cannot change it"]
                )
        deleted = Event.objects.filter(owner=user, uid__in=chunk, deleted_at__isnull=False).values_list(
            "uid", flat=True
        )
        for uid in deleted:
            found.setdefault(
                uid, ObjectRefused(["UID: belongs to an event of yours that was deleted; restore it first"])
            )
    return found


def event_for_uid(*, user, uid: str) -> Event | None:
    """The event a UID names for `user` (see events_for_uids): the event, or None for a new one; ObjectRefused."""
    found = events_for_uids(user=user, uids=[uid]).get(uid)
    if isinstance(found, ObjectRefused):
        raise found
    return found


def feed_find(secret: str) -> Feed | None:
    """The feed of a URL secret, if it exists and its owner is active."""
    if not secret or len(secret) > 128:
        return None
    return Feed.objects.select_related("owner").filter(secret_hash=secret_hash(secret), owner__is_active=True).first()
