"""Event reads, always scoped to the caller: what they cannot see does not exist for them."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Prefetch, QuerySet
from rest_framework.exceptions import NotFound

from sharing.models import EventPermission

from .models import Event
from .occurrences import event_occurrences, has_occurrence_in

_MAX_ID = 2**63 - 1
MAX_EXPANDED = 2500  # occurrences in one expanded calendar answer


def events_visible(*, user) -> QuerySet[Event]:
    """Live events the user holds a role on, with `my_role` and the owner joined."""
    return Event.objects.visible_to(user).select_related("owner")


def with_permissions(queryset: QuerySet[Event]) -> QuerySet[Event]:
    return queryset.prefetch_related(
        Prefetch(
            "permissions",
            queryset=EventPermission.objects.select_related("user", "granted_by").order_by("granted_at", "id"),
            to_attr="permission_list",
        )
    )


def parse_id(value) -> int:
    """Ids are opaque to clients; anything that is not one of ours is simply not found."""
    try:
        number = int(str(value))
    except ValueError:
        raise NotFound() from None
    if not 1 <= number <= _MAX_ID:
        raise NotFound()
    return number


def event_get(*, user, event_id, detail: bool = True) -> Event:
    """The event if `user` can see it, else NotFound (404) — the same answer whether it exists or not."""
    queryset = events_visible(user=user)
    if detail:
        queryset = with_permissions(queryset)
    event = queryset.filter(pk=parse_id(event_id)).first()
    if event is None:
        raise NotFound("No such event.")
    return event


def events_in_window(queryset: QuerySet[Event], start: datetime | None, end: datetime | None) -> QuerySet[Event]:
    """Events with any occurrence overlapping [start, end).

    The database narrows by the indexed series bounds; only the recurring candidates are expanded,
    and those with no occurrence in the window are excluded, so the result stays a queryset that
    paginates and counts in SQL.
    """
    queryset = queryset.overlapping(start, end)
    recurring = (
        queryset.filter(is_recurring=True)
        .select_related(None)
        .only("id", "start_time", "end_time", "timezone", "is_all_day", "recurrence")
    )
    misses = [event.pk for event in recurring if not has_occurrence_in(event, start, end)]
    return queryset.exclude(pk__in=misses) if misses else queryset


def calendar_occurrences(queryset: QuerySet[Event], *, start: datetime, end: datetime) -> tuple[list, bool]:
    """(event, occurrence) pairs of `queryset` overlapping [start, end), in start order; at most MAX_EXPANDED."""
    pairs = []
    truncated = False
    for event in queryset.overlapping(start, end):
        found, more = event_occurrences(event, window_start=start, window_end=end, limit=MAX_EXPANDED)
        truncated |= more
        pairs.extend((event, occurrence) for occurrence in found)
    pairs.sort(key=lambda pair: (pair[1].start, pair[0].pk))
    if len(pairs) > MAX_EXPANDED:
        pairs, truncated = pairs[:MAX_EXPANDED], True
    return pairs, truncated
