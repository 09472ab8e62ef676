"""Expanding stored events into occurrences."""

from __future__ import annotations

from datetime import datetime

from . import recurrence
from .models import Event


def pattern_of(event: Event) -> recurrence.Pattern | None:
    return recurrence.Pattern.from_json(event.recurrence) if event.recurrence else None


def event_occurrences(
    event: Event, *, window_start: datetime | None, window_end: datetime | None, limit: int
) -> tuple[list[recurrence.Occurrence], bool]:
    """Occurrences of `event` overlapping [window_start, window_end), at most `limit`, and whether more exist."""
    return recurrence.occurrences(
        start=event.start_time,
        end=event.end_time,
        tz=event.timezone,
        pattern=pattern_of(event),
        is_all_day=event.is_all_day,
        window_start=window_start,
        window_end=window_end,
        limit=limit,
    )


def has_occurrence_in(event: Event, window_start: datetime | None, window_end: datetime | None) -> bool:
    found, _ = event_occurrences(event, window_start=window_start, window_end=window_end, limit=1)
    return bool(found)


def series_end_of(event: Event) -> datetime | None:
    return recurrence.series_end(
        start=event.start_time,
        end=event.end_time,
        tz=event.timezone,
        pattern=pattern_of(event),
        is_all_day=event.is_all_day,
    )
