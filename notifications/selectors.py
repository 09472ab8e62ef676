"""Reads of the change feed and notifications, always scoped to one user."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q, QuerySet

from events.representation import event_data
from events.selectors import events_visible

from .cursors import Cursor, CursorGone, InvalidCursor
from .fanout import message_for
from .models import FeedEntry, FeedKind, Notification, SyncStream

DEFAULT_LIMIT = 100
MAX_LIMIT = 500


@dataclass
class SyncPage:
    changes: list[dict]
    cursor: Cursor
    has_more: bool


def notifications_for(*, user, unread: bool | None = None) -> QuerySet[Notification]:
    """`user`'s notifications, newest first, actors joined; only unread (or read) ones when asked."""
    queryset = Notification.objects.filter(recipient=user).select_related("actor").order_by("-id")
    if unread is True:
        queryset = queryset.filter(read_at__isnull=True)
    elif unread is False:
        queryset = queryset.filter(read_at__isnull=False)
    return queryset


def stream_state(*, user_id: int) -> tuple[int, int]:
    """(last position, pruned through) of a user's feed; (0, 0) before their first change."""
    row = SyncStream.objects.filter(user_id=user_id).values_list("seq", "pruned_through").first()
    return row or (0, 0)


def check_cursor(cursor: Cursor) -> None:
    """Raises CursorGone unless everything after the cursor is still in the feed."""
    seq, pruned_through = stream_state(user_id=cursor.user_id)
    if cursor.floor < pruned_through or cursor.position > seq:
        raise CursorGone()


def sync_page(*, user, cursor: Cursor | None, limit: int = DEFAULT_LIMIT) -> SyncPage:
    """One page of what `user` must apply to be up to date. Raises CursorGone (→ 410).

    Without a cursor: the user's current events, then the cursor of the moment they were listed.
    With one: the feed after it, at most `limit` entries, one change per event (its last), with
    events that still exist for the user in their current state.
    """
    if cursor is None or cursor.snapshot_after is not None:
        return _snapshot_page(user=user, cursor=cursor, limit=limit)
    return _feed_page(user=user, cursor=cursor, limit=limit)


def _snapshot_page(*, user, cursor: Cursor | None, limit: int) -> SyncPage:
    # The position is read first, then the events in one statement that leaves out those with feed
    # entries after it: an event changed meanwhile comes from the feed, never from both.
    if cursor is None:
        position = stream_state(user_id=user.pk)[0]
        after = 0
    else:
        position, after = cursor.position, cursor.snapshot_after
    changed_since = FeedEntry.objects.filter(user=user, seq__gt=position).values("event_id")
    events = list(
        events_visible(user=user).filter(pk__gt=after).exclude(pk__in=changed_since).order_by("pk")[: limit + 1]
    )
    if cursor is not None:
        check_cursor(Cursor.at(user.pk, position))
    has_more = len(events) > limit
    events = events[:limit]
    changes = [
        {"type": FeedKind.CREATED, "event_id": data["id"], "version": data["version"], "event": data}
        for data in map(event_data, events)
    ]
    next_cursor = Cursor(user.pk, position, position, snapshot_after=events[-1].pk if has_more else None)
    return SyncPage(changes=changes, cursor=next_cursor, has_more=has_more)


def _feed_page(*, user, cursor: Cursor, limit: int) -> SyncPage:
    rows = list(
        FeedEntry.objects.filter(user=user, seq__gt=cursor.floor)
        .filter(Q(seq__gt=cursor.position) | Q(own=True))
        .order_by("seq")
        .values_list("seq", "event_id", "kind", "change__version")[: limit + 1]
    )
    # Checked after reading: a prune that committed before the read is seen here.
    check_cursor(cursor)
    has_more = len(rows) > limit
    rows = rows[:limit]

    # One change per event: its last kind, "created" if the event entered the user's set within the page.
    latest: dict[int, dict] = {}
    for seq, event_id, kind, version in rows:
        first = latest.pop(event_id, None)
        created = kind == FeedKind.CREATED or (first is not None and first["created"] and kind == FeedKind.UPDATED)
        latest[event_id] = {"seq": seq, "kind": kind, "version": version, "created": created}
    alive = [event_id for event_id, item in latest.items() if item["kind"] in (FeedKind.CREATED, FeedKind.UPDATED)]
    states = {event.pk: event for event in events_visible(user=user).filter(pk__in=alive)} if alive else {}
    serialized = {data["id"]: data for data in map(event_data, states.values())}

    changes = []
    for event_id, item in latest.items():  # dicts keep insertion order: by each event's last position
        if item["kind"] in (FeedKind.CREATED, FeedKind.UPDATED):
            data = serialized.get(event_id)
            if data is None:
                continue  # gone for this user since; a later entry says so
            kind = FeedKind.CREATED if item["created"] else FeedKind.UPDATED
            changes.append({"type": kind, "event_id": event_id, "version": data["version"], "event": data})
        else:
            changes.append({"type": item["kind"], "event_id": event_id, "version": item["version"]})

    if not rows:
        next_cursor = Cursor.at(user.pk, cursor.position)
    elif has_more:
        last = rows[-1][0]
        next_cursor = Cursor(user.pk, max(cursor.position, last), last)
    else:
        next_cursor = Cursor.at(user.pk, max(cursor.position, rows[-1][0]))
    return SyncPage(changes=changes, cursor=next_cursor, has_more=has_more)


def feed_messages(*, user_id: int, after: int, until: int | None, limit: int = 200) -> list[tuple[int, bool, dict]]:
    """(position, own, message) of the user's feed entries in (after, until], as they were sent live."""
    queryset = FeedEntry.objects.filter(user_id=user_id, seq__gt=after)
    if until is not None:
        queryset = queryset.filter(seq__lte=until)
    rows = list(
        queryset.order_by("seq").values_list("seq", "own", "kind", "role", "change_id", "change__payload")[:limit]
    )
    change_ids = [row[4] for row in rows if not row[1]]
    notification_ids = (
        dict(Notification.objects.filter(recipient_id=user_id, change_id__in=change_ids).values_list("change_id", "pk"))
        if change_ids
        else {}
    )
    return [
        (
            seq,
            own,
            message_for(payload, feed_kind=kind, role=role, notification_id=notification_ids.get(change_id))
            if not own
            else {},
        )
        for seq, own, kind, role, change_id, payload in rows
    ]


__all__ = ["CursorGone", "InvalidCursor", "SyncPage", "feed_messages", "notifications_for", "sync_page"]
