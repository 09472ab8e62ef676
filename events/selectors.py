"""Event reads, always scoped to the caller: what they cannot see does not exist for them."""

from __future__ import annotations

from datetime import datetime
from functools import partial
from itertools import islice

from django.db.models import IntegerField, Prefetch, QuerySet, Subquery, prefetch_related_objects
from rest_framework.exceptions import NotFound

from common.fields import parse_id
from common.prepared_queries import PreparedQuery
from sharing.models import EventPermission

from .models import Event
from .occurrences import OCCURRENCE_FIELDS, has_occurrence_in, timeline
from .representation import SHOWN_FIELDS, shown_event

MAX_EXPANDED = 2500  # occurrences in one expanded calendar answer


def events_visible(*, user) -> QuerySet[Event]:
    """Live events the user holds a role on, with `my_role` and the owner joined."""
    return Event.objects.visible_to(user).select_related("owner")


def _permissions() -> Prefetch:
    return Prefetch(
        "permissions",
        queryset=EventPermission.objects.select_related("user", "granted_by").order_by("granted_at", "id"),
        to_attr="permission_list",
    )


def with_permissions(queryset: QuerySet[Event]) -> QuerySet[Event]:
    return queryset.prefetch_related(_permissions())


def event_as_written(event: Event, *, user) -> Event:
    """`event` as a write just left it, with what its answer shows: its permissions, and from them its owner
    and `user`'s role (`my_role`). One query; the event's row is not read again, so the answer is the version
    the write made even when another write follows at once. NotFound (404) if `user` holds no role on it."""
    event.__dict__.pop("permission_list", None)
    prefetch_related_objects([event], _permissions())
    holders = {permission.user_id: permission for permission in event.permission_list}
    if user.pk not in holders:
        raise NotFound("No such event.")
    event.my_role = holders[user.pk].role
    if event.owner_id in holders:  # always, as an event keeps its owner among its owners (sharing/services.py)
        event.owner = holders[event.owner_id].user
    return event


# The hottest reads — one event, the calendar's pages — with their SQL compiled once per process
# (common/prepared_queries.py): the same querysets as above, the same queries and instances. The pages are
# only shown (EventSerializer): they load what the representation reads and no more (SHOWN_FIELDS; of the
# owner, two of its columns, not its password hash), which spares converting the columns nobody reads.
_VISIBLE_EVENT = PreparedQuery(
    lambda user_id, event_id: events_visible(user=user_id).filter(pk=event_id), user_id=int, event_id=int
)
_PERMISSIONS_OF = PreparedQuery(lambda event_id: _permissions().queryset.filter(event_id=event_id), event_id=int)
# The calendar's pages (`Event.objects.calendar_of`: read in order from the caller's permissions) and its size,
# counted from those permissions alone. Same rows, same order (start, id) as
# `events_visible(...).order_by("start_time", "id")`: tests/common/test_prepared_queries.py compares.
_CALENDAR = PreparedQuery(
    lambda user_id: Event.objects.calendar_of(user_id).select_related("owner").only(*SHOWN_FIELDS), user_id=int
)


def _live_permissions(user_id) -> QuerySet[EventPermission]:
    return EventPermission.objects.filter(user=user_id, event_live=True)


_CALENDAR_SIZE = PreparedQuery(_live_permissions, user_id=int)


def _calendar_size(user_id) -> Subquery:
    """`_CALENDAR_SIZE`'s COUNT(*) as a value of every row: the same SQL, run once per query (it does not depend
    on the row), from the caller's stretch of the permissions' index."""
    held = _live_permissions(user_id).order_by().values("pk")
    return Subquery(held, template="(SELECT COUNT(*) FROM (%(subquery)s) counted)", output_field=IntegerField())


# A page of the calendar with the calendar's size: one query where the paginator's count and page were two.
_CALENDAR_PAGE = PreparedQuery(
    lambda user_id: (
        Event.objects.calendar_of(user_id)
        .select_related("owner")
        .only(*SHOWN_FIELDS)
        .annotate(calendar_size=_calendar_size(user_id))
    ),
    user_id=int,
)


def event_get(*, user, event_id, detail: bool = True) -> Event:
    """The event if `user` can see it, else NotFound (404) — the same answer whether it exists or not.
    One query, and one more for its permissions (`permission_list`) when `detail`."""
    found = _VISIBLE_EVENT.fetch(user_id=user.pk, event_id=parse_id(event_id))
    if not found:
        raise NotFound("No such event.")
    event = found[0]
    if detail:
        event.permission_list = _PERMISSIONS_OF.fetch(event_id=event.pk)
        cache_event = EventPermission.event.field.set_cached_value
        for permission in event.permission_list:  # as the prefetch does: each permission knows its event
            cache_event(permission, event)
    return event


class CalendarPages:
    """The events `user` can see in calendar order (start, id), for the paginator: its COUNT(*) and its
    pages, as `events_visible(...).order_by("start_time", "id").only(*SHOWN_FIELDS)` would give them, read
    through the caller's permissions (`_CALENDAR` above) without compiling either. For showing only: what the
    representation does not read is deferred. With `shown`, each event comes as its representation
    (events/representation.py `shown_event`: remembered per row, so a row read before is not made again)."""

    ordered = True

    def __init__(self, user, *, shown: bool = False) -> None:
        self.user_id = user.pk
        self.shown = shown
        self._read: tuple[int, list, int] | None = None  # (offset, events, the size) of `read_page`

    def read_page(self, *, offset: int, limit: int) -> None:
        """Reads rows `offset` to `offset + limit` and the calendar's size in one query, for the `count()` and the
        slice of those rows that follow (common/pagination.py asks before the paginator counts). Nothing when
        there are no such rows: then the size is not known, and `count()` asks for it."""
        read = _CALENDAR_PAGE.fetch_rows(user_id=self.user_id, limit=limit, offset=offset)
        if read.rows:
            size = read.annotation(read.rows[0], "calendar_size")  # the same on every row
            self._read = (offset, self._events(read, size_column="calendar_size"), size)

    def count(self) -> int:
        if self._read is not None:
            return self._read[2]
        return _CALENDAR_SIZE.count(user_id=self.user_id)

    def __getitem__(self, page: slice) -> list:
        if self._read is not None:
            offset, events, _size = self._read
            if page.start == offset and page.stop - page.start <= len(events):
                return events[: page.stop - page.start]
        return self._events(_CALENDAR.fetch_rows(user_id=self.user_id, limit=page.stop - page.start, offset=page.start))

    def _events(self, read, *, size_column: str | None = None) -> list:
        if self.shown:
            return [
                shown_event(read.key(row, leaving_out=size_column), partial(read.instance, row)) for row in read.rows
            ]
        events = [read.instance(row) for row in read.rows]
        if size_column is not None:
            for event in events:
                delattr(event, size_column)
        return events


def events_in_window(queryset: QuerySet[Event], start: datetime | None, end: datetime | None) -> QuerySet[Event]:
    """Events with any occurrence overlapping [start, end).

    The database narrows by the indexed series bounds; only the recurring candidates are expanded,
    and those with no occurrence in the window are excluded, so the result stays a queryset that
    paginates and counts in SQL.
    """
    queryset = queryset.overlapping(start, end)
    recurring = queryset.filter(is_recurring=True).select_related(None).only(*OCCURRENCE_FIELDS)
    misses = [event.pk for event in recurring if not has_occurrence_in(event, start, end)]
    return queryset.exclude(pk__in=misses) if misses else queryset


def calendar_occurrences(
    queryset: QuerySet[Event], *, start: datetime, end: datetime, limit: int = MAX_EXPANDED
) -> tuple[list, bool]:
    """(event, occurrence) pairs of `queryset` overlapping [start, end), in start order; at most `limit`.

    Two queries: the recurring candidates, and the first `limit` + 1 one-off events by start (no later
    one can make the cut). Series are merged lazily, so a year of a busy calendar costs about `limit`
    steps, not every occurrence of the year.
    """
    candidates = queryset.overlapping(start, end)
    if isinstance(candidates, QuerySet):  # time travel (history) hands over a list of rebuilt events
        slim = candidates.select_related(None).only(*OCCURRENCE_FIELDS)
        singles = slim.filter(is_recurring=False).order_by("start_time", "id")[: limit + 1]
        candidates = [*slim.filter(is_recurring=True), *singles]
    pairs = list(islice(timeline(candidates, window_start=start, window_end=end), limit + 1))
    return pairs[:limit], len(pairs) > limit


def calendar_busy_occurrences(*, user, start: datetime, end: datetime, limit: int) -> tuple[list, bool]:
    """The occurrences that make `user` busy in [start, end) (all-day events are transparent), in start order,
    at most `limit`, and whether more exist. Two queries."""
    return calendar_occurrences(events_visible(user=user).filter(is_all_day=False), start=start, end=end, limit=limit)
