"""Expanding stored events into occurrences, with the series' exceptions applied.

Every expansion (the occurrences endpoint, expand=true, the window filter, conflicts, free/busy) goes
through `iter_event_occurrences` or `event_occurrences`, so a cancelled occurrence is gone and a moved
one is at its new time everywhere.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from operator import itemgetter

from recurrence import overrides as series_overrides
from recurrence import rules

from . import content
from .models import Event

# What expanding an event into occurrences reads (OccurrenceSerializer included): for .only().
OCCURRENCE_FIELDS = ("id", *content.EXPANDED)


@dataclass(frozen=True, slots=True)
class EventOccurrence:
    start: datetime  # UTC
    end: datetime  # UTC
    original_start: datetime  # UTC: where the rule put it
    title: str | None = None  # overrides of the series' values (None: the series' own)
    description: str | None = None
    location: str | None = None
    is_exception: bool = False


def _order(occurrence: EventOccurrence) -> tuple[datetime, datetime]:
    return occurrence.start, occurrence.original_start


def pattern_of(event: Event) -> rules.Pattern | None:
    """The event's parsed recurrence, parsed once per loaded row."""
    raw = event.recurrence
    if not raw:
        return None
    cached = getattr(event, "_parsed_pattern", None)
    if cached is not None and cached[0] is raw:
        return cached[1]
    pattern = rules.Pattern.from_json(raw)
    event._parsed_pattern = (raw, pattern)
    return pattern


def _overlaps(start: datetime, end: datetime, window_start: datetime | None, window_end: datetime | None) -> bool:
    """The rule rules.occurrences applies: starts before the window's end, ends after its start (or is a
    zero-length occurrence at the window's start)."""
    return (window_end is None or start < window_end) and (
        window_start is None or end > window_start or start == window_start
    )


def _applied(occurrence: rules.Occurrence, exception: series_overrides.SeriesException | None) -> EventOccurrence:
    if exception is None:
        return EventOccurrence(occurrence.start, occurrence.end, occurrence.original_start)
    return EventOccurrence(
        occurrence.start,
        occurrence.end,
        occurrence.original_start,
        exception.title,
        exception.description,
        exception.location,
        True,
    )


def _moved(exceptions: dict, window_start: datetime | None, window_end: datetime | None) -> list[EventOccurrence]:
    """Occurrences moved into the window, wherever the rule had them, in start order."""
    moved = [
        EventOccurrence(e.start, e.end, e.original_start, e.title, e.description, e.location, True)
        for e in exceptions.values()
        if e.moved and not e.cancelled and _overlaps(e.start, e.end, window_start, window_end)
    ]
    moved.sort(key=_order)
    return moved


def _rule_occurrences(event: Event, **window) -> Iterator[rules.Occurrence]:
    return rules.iter_occurrences(
        start=event.start_time,
        end=event.end_time,
        tz=event.timezone,
        pattern=pattern_of(event),
        is_all_day=event.is_all_day,
        **window,
    )


def iter_event_occurrences(
    event: Event, *, window_start: datetime | None, window_end: datetime | None
) -> Iterator[EventOccurrence]:
    """Lazily, in start order, the occurrences of `event` overlapping [window_start, window_end) (an open end
    stops 100 years on), exceptions applied."""
    base = _rule_occurrences(event, window_start=window_start, window_end=window_end)
    exceptions = series_overrides.of(event) if event.recurrence else {}
    if not exceptions:
        for o in base:
            yield EventOccurrence(o.start, o.end, o.original_start)
        return
    kept = (
        _applied(o, exception)
        for o in base
        if (exception := exceptions.get(o.original_start)) is None or not (exception.cancelled or exception.moved)
    )
    yield from heapq.merge(
        kept, _moved(exceptions, window_start, window_end), key=lambda o: (o.start, o.original_start)
    )


def event_occurrences(
    event: Event, *, window_start: datetime | None, window_end: datetime | None, limit: int
) -> tuple[list[EventOccurrence], bool]:
    """Occurrences of `event` overlapping [window_start, window_end), at most `limit`, and whether more exist."""
    exceptions = series_overrides.of(event) if event.recurrence else {}
    # Enough of the rule's occurrences that `limit` remain after the exceptions removed theirs.
    found, more = rules.occurrences(
        start=event.start_time,
        end=event.end_time,
        tz=event.timezone,
        pattern=pattern_of(event),
        is_all_day=event.is_all_day,
        window_start=window_start,
        window_end=window_end,
        limit=limit + len(exceptions),
    )
    if not exceptions:
        return [EventOccurrence(o.start, o.end, o.original_start) for o in found], more
    kept = [
        _applied(o, exception)
        for o in found
        if (exception := exceptions.get(o.original_start)) is None or not (exception.cancelled or exception.moved)
    ]
    merged = list(
        heapq.merge(kept, _moved(exceptions, window_start, window_end), key=lambda o: (o.start, o.original_start))
    )
    if len(merged) > limit:
        return merged[:limit], True
    return merged, more


def has_occurrence_in(event: Event, window_start: datetime | None, window_end: datetime | None) -> bool:
    return next(iter_event_occurrences(event, window_start=window_start, window_end=window_end), None) is not None


def rule_occurrence_at(event: Event, at: datetime) -> rules.Occurrence | None:
    """The occurrence the rule puts at instant `at` (exceptions not applied), or None if there is none."""
    for occurrence in _rule_occurrences(event, window_start=at, window_end=None):
        if occurrence.start >= at:
            return occurrence if occurrence.start == at else None
    return None


def series_end_of(event: Event) -> datetime | None:
    """End of the last occurrence (moved ones included); None for an unbounded series."""
    end = rules.series_end(
        start=event.start_time,
        end=event.end_time,
        tz=event.timezone,
        pattern=pattern_of(event),
        is_all_day=event.is_all_day,
    )
    if end is None or not event.recurrence:
        return end
    moved_ends = [e.end for e in series_overrides.of(event).values() if e.moved]
    return max([end, *moved_ends])


def series_start_of(event: Event) -> datetime | None:
    """Start of an occurrence moved before the event's start, if any (null otherwise: see Event.series_start)."""
    if not event.recurrence:
        return None
    earliest = min((e.start for e in series_overrides.of(event).values() if e.moved), default=None)
    return earliest if earliest is not None and earliest < event.start_time else None


def _keyed(event: Event, window_start: datetime, window_end: datetime) -> Iterator[tuple]:
    for occurrence in iter_event_occurrences(event, window_start=window_start, window_end=window_end):
        yield (occurrence.start, event.pk, occurrence.original_start), event, occurrence


def timeline(
    events: Iterable[Event], *, window_start: datetime, window_end: datetime
) -> Iterator[tuple[Event, EventOccurrence]]:
    """(event, occurrence) of every event overlapping [window_start, window_end), lazily, in (start, event
    id) order: series are expanded only as far as the caller reads, so taking the first N costs about N
    steps plus one per series, however long the window."""
    singles = []
    series = []
    for event in events:
        if event.recurrence:
            series.append(_keyed(event, window_start, window_end))
        elif _overlaps(event.start_time, event.end_time, window_start, window_end):
            start = event.start_time
            singles.append(((start, event.pk, start), event, EventOccurrence(start, event.end_time, start)))
    singles.sort(key=itemgetter(0))
    for _, event, occurrence in heapq.merge(singles, *series, key=itemgetter(0)):
        yield event, occurrence


def effective_occurrence(event: Event, original: rules.Occurrence) -> EventOccurrence | None:
    """Where the rule's occurrence `original` now is, its exception applied; None when it is cancelled."""
    exception = series_overrides.of(event).get(original.start) if event.recurrence else None
    if exception is None:
        return EventOccurrence(original.start, original.end, original.start)
    if exception.cancelled:
        return None
    start, end = (exception.start, exception.end) if exception.moved else (original.start, original.end)
    return EventOccurrence(start, end, original.start, exception.title, exception.description, exception.location, True)
