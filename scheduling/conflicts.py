"""The write-time conflict check: do a new event's occurrences overlap others on the caller's calendar?
(The free slots a refusal offers: free_slots.py; interval maths: intervals.py.)

Recurring series are compared occurrence by occurrence over CHECK_HORIZON from the new event's
start (unbounded series are not checked forever), exceptions applied (a cancelled occurrence frees
its slot, a moved one takes its new one). All-day events are transparent: like in most calendars
they mark days, they do not make anyone busy, so they neither conflict nor are conflicted.

The work of a check follows what can overlap, not the size of the calendar: the database returns
only the one-off events that overlap one of the new occurrences (`around`), and a recurring series
whose occurrences all start at one wall-clock time of day (on given weekdays, maybe) is ruled out
without being expanded when that slot meets none of the new occurrences (`_WallClockFilter`).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from datetime import datetime, timedelta
from math import ceil

from django.db.models import Q

from events.models import Event
from events.occurrences import OCCURRENCE_FIELDS, EventOccurrence, event_occurrences, pattern_of, timeline
from recurrence import overrides as series_overrides
from recurrence import rules, timezones

from .intervals import Busy, BusyIndex, span

CHECK_HORIZON = timedelta(days=366)
MAX_CHECKED_OCCURRENCES = 2000  # of the new event, within the horizon
MAX_REPORTED = 50
_MAX_RANGES = 64  # OR-ed time ranges in the query for one-off events
_ONE_DAY = timedelta(days=1)
_WEEK = timedelta(days=7)


def candidate_occurrences(
    *, start: datetime, end: datetime, tz: str, pattern: rules.Pattern | None, is_all_day: bool
) -> list[rules.Occurrence]:
    """The occurrences of a new event (no exceptions yet) that are checked: those within CHECK_HORIZON."""
    if is_all_day:
        return []
    found, _ = rules.occurrences(
        start=start,
        end=end,
        tz=tz,
        pattern=pattern,
        is_all_day=False,
        window_start=start,
        window_end=start + CHECK_HORIZON,
        limit=MAX_CHECKED_OCCURRENCES,
    )
    return found


def event_candidates(event: Event) -> list[EventOccurrence]:
    """The occurrences of `event` (saved or not) that are checked, exceptions applied."""
    if event.is_all_day:
        return []
    found, _ = event_occurrences(
        event,
        window_start=event.start_time,
        window_end=event.start_time + CHECK_HORIZON,
        limit=MAX_CHECKED_OCCURRENCES,
    )
    return found


def calendar_busy(
    *,
    user,
    start: datetime,
    end: datetime,
    exclude_ids: Iterable[int] = (),
    around: list[tuple[datetime, datetime]] | None = None,
    skip: tuple[int, datetime] | None = None,
) -> BusyIndex:
    """The caller's busy occurrences in [start, end): one query, recurring candidates expanded in memory.

    With `around` (the intervals being checked, within [start, end)), only what may overlap one of them
    is loaded and expanded; the index then holds at least every busy occurrence that overlaps one of them.
    `skip` (event id, original start) leaves out one occurrence: the one being moved.
    """
    busy: list[Busy] = []
    for event in calendar_candidates(user, start, end, exclude_ids, around):
        found, _ = event_occurrences(event, window_start=start, window_end=end, limit=MAX_CHECKED_OCCURRENCES)
        busy.extend(
            Busy(o.start, o.end, event.pk, o.title or event.title, original_start=o.original_start)
            for o in found
            if skip is None or (event.pk, o.original_start) != skip
        )
    return BusyIndex(busy)


def calendar_candidates(
    user,
    start: datetime,
    end: datetime,
    exclude_ids: Iterable[int],
    around: list[tuple[datetime, datetime]] | None,
    recurring: list[Event] | None = None,
) -> list[Event]:
    """The caller's timed events that may have an occurrence in [start, end) overlapping one of `around`.

    One query; `recurring` (the recurring candidates of a wider span, already loaded) narrows it to the
    one-off events.
    """
    # visible_to() without its my_role annotation, which nothing here reads.
    candidates = Event.objects.alive().filter(permissions__user=user, is_all_day=False).overlapping(start, end)
    candidates = candidates.exclude(pk__in=list(exclude_ids)).only(*OCCURRENCE_FIELDS)
    if recurring is not None:
        found = [*recurring, *candidates.filter(_ranges(around))]
    elif around:
        found = list(candidates.filter(Q(is_recurring=True) | _ranges(around)))
    else:
        return list(candidates)
    wall_clock = _WallClockFilter(around)
    return [event for event in found if wall_clock.may_overlap(event)]


def _ranges(around: list[tuple[datetime, datetime]]) -> Q:
    """One-off events overlapping one of the intervals (closed bounds: zero-length events count), at most
    _MAX_RANGES OR-ed conditions: neighbours are grouped into one covering range beyond that."""
    ordered = sorted(around)
    size = ceil(len(ordered) / _MAX_RANGES)
    query = Q()
    for first in range(0, len(ordered), size):
        group = ordered[first : first + size]
        low, high = group[0][0], max(e for _, e in group)
        query |= Q(start_time__lte=high, end_time__gte=low)
    return Q(is_recurring=False) & query


class _WallClockFilter:
    """Rules out a recurring series, without expanding it, when every one of its occurrences starts at one
    local wall time of day (on limited weekdays, maybe) that cannot reach any interval of `around`.

    An occurrence [c, c + L) of a series in zone Z overlaps [a, b] only if c lies in [a - L, b]; its wall
    time of day is the series' own, or later by a DST gap on the day of a transition. So the local (weekday,
    time of day) pairs that can meet [a, b] are the wall-clock stretch of [a - L, b] read with every offset Z
    has within a day of it, widened back by the size of the change. They are computed once per (zone, L)
    (series longer than a day are always expanded).
    Occurrences moved by an exception are checked one by one.
    """

    def __init__(self, around: list[tuple[datetime, datetime]]) -> None:
        self.around = around
        self._intervals = BusyIndex([Busy(start, end, None, "") for start, end in around])
        self._reachable: dict[tuple[str, timedelta], list[tuple[list[float], list[float]]] | None] = {}
        self._zone_offsets: dict = {}

    def may_overlap(self, event: Event) -> bool:
        slot = rules.wall_slot(
            start=event.start_time, tz=event.timezone, pattern=pattern_of(event), is_all_day=event.is_all_day
        )
        if slot is None:
            return True
        moved = [e for e in series_overrides.of(event).values() if e.moved and not e.cancelled]
        if any(self._intervals.overlapping(e.start, e.end) for e in moved):
            return True
        reachable = self._reachable_for(event.timezone, event.end_time - event.start_time)
        if reachable is None:
            return True
        seconds = slot.time_of_day.total_seconds()
        for weekday in slot.weekdays if slot.weekdays is not None else range(7):
            lows, highs = reachable[weekday]
            index = bisect.bisect_right(lows, seconds) - 1
            if index >= 0 and seconds <= highs[index]:
                return True
        return False

    def _reachable_for(self, tz: str, length: timedelta) -> list[tuple[list[float], list[float]]] | None:
        """Per weekday, merged [low, high] seconds-of-day ranges; None when every moment can be reached."""
        cache_key = (tz, length)
        if cache_key not in self._reachable:
            self._reachable[cache_key] = self._compute(timezones.get(tz), length)
        return self._reachable[cache_key]

    def _offsets(self, zone) -> list[tuple[timedelta, timedelta]]:
        """Per interval [a, b], the smallest and largest offset of `zone` from two days before a to a day
        after b: every offset of [a - L - 1 day, b + 1 day] for lengths L up to a day (once per zone)."""
        if zone not in self._zone_offsets:
            found = []
            for a, b in self.around:
                offsets = [m.astimezone(zone).utcoffset() for m in (a - 2 * _ONE_DAY, a - _ONE_DAY, a, b, b + _ONE_DAY)]
                found.append((min(offsets), max(offsets)))
            self._zone_offsets[zone] = found
        return self._zone_offsets[zone]

    def _compute(self, zone, length: timedelta) -> list[tuple[list[float], list[float]]] | None:
        if length > _ONE_DAY:
            return None
        spans: list[list[tuple[float, float]]] = [[] for _ in range(7)]
        for (a, b), (smallest, largest) in zip(self.around, self._offsets(zone), strict=True):
            low, high = a - length, b
            # Instants plus an offset, read as naive wall-clock times.
            wall_low = (low + smallest - (largest - smallest)).replace(tzinfo=None)
            wall_high = (high + largest).replace(tzinfo=None)
            if wall_high - wall_low >= _WEEK:
                return None
            day = wall_low.date()
            while day <= wall_high.date():
                midnight = datetime.combine(day, datetime.min.time())
                start = max((wall_low - midnight).total_seconds(), 0.0)
                stop = min((wall_high - midnight).total_seconds(), 86400.0)
                spans[day.weekday()].append((start, stop))
                day += _ONE_DAY
        return [_merged(day_spans) for day_spans in spans]


def _merged(spans: list[tuple[float, float]]) -> tuple[list[float], list[float]]:
    lows: list[float] = []
    highs: list[float] = []
    for start, stop in sorted(spans):
        if highs and start <= highs[-1]:
            highs[-1] = max(highs[-1], stop)
        else:
            lows.append(start)
            highs.append(stop)
    return lows, highs


def find_conflicts(occurrences: Iterable, busy: BusyIndex, limit: int = MAX_REPORTED) -> list[dict]:
    """The busy occurrences that overlap any of `occurrences`, each once, in start order."""
    seen: dict[tuple, Busy] = {}
    for occurrence in occurrences:
        for hit in busy.overlapping(occurrence.start, occurrence.end):
            seen.setdefault((hit.event_id, hit.batch_index, hit.start), hit)
            if len(seen) >= limit:
                break
        if len(seen) >= limit:
            break
    return [
        b.as_conflict() for b in sorted(seen.values(), key=lambda b: (b.start, b.event_id or 0, b.batch_index or 0))
    ]


def event_conflicts(*, user, event: Event, exclude_ids: Iterable[int] = ()) -> list[dict]:
    """What `event`'s checked occurrences overlap on `user`'s calendar, the first MAX_REPORTED (queries: one).

    The candidates' occurrences are merged lazily in start order and read only until MAX_REPORTED
    conflicts are found: a busy calendar is not expanded to the end of the horizon to report the first ones.
    """
    occurrences = event_candidates(event)
    bounds = span(occurrences)
    if bounds is None:
        return []
    around = [(o.start, o.end) for o in occurrences]
    checked = BusyIndex([Busy(start, end, None, "") for start, end in around])
    found = []
    candidates = calendar_candidates(user, bounds[0], bounds[1], exclude_ids, around)
    for other, occurrence in timeline(candidates, window_start=bounds[0], window_end=bounds[1]):
        if checked.overlapping(occurrence.start, occurrence.end):
            found.append(Busy(occurrence.start, occurrence.end, other.pk, occurrence.title or other.title))
            if len(found) == MAX_REPORTED:
                break
    return [busy.as_conflict() for busy in found]


def occurrence_conflicts(*, user, occurrence: EventOccurrence, skip: tuple[int, datetime]) -> list[dict]:
    """What one moved occurrence overlaps on `user`'s calendar, its own series included (queries: one)."""
    around = [(occurrence.start, occurrence.end)]
    busy = calendar_busy(user=user, start=occurrence.start, end=occurrence.end, around=around, skip=skip)
    return find_conflicts([occurrence], busy)
