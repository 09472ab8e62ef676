"""Scheduling conflicts: do a new event's occurrences overlap others on the caller's calendar?

Recurring series are compared occurrence by occurrence over CHECK_HORIZON from the new event's
start (unbounded series are not checked forever). All-day events are transparent: like in most
calendars they mark days, they do not make anyone busy, so they neither conflict nor are conflicted.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import datetime, timedelta

from . import recurrence
from .models import Event
from .occurrences import event_occurrences

CHECK_HORIZON = timedelta(days=366)
MAX_CHECKED_OCCURRENCES = 2000  # of the new event, within the horizon
MAX_REPORTED = 50


@dataclass(frozen=True)
class Busy:
    start: datetime
    end: datetime
    event_id: int | None
    title: str
    batch_index: int | None = None  # for an item of the same batch, not yet an event

    def as_conflict(self) -> dict:
        conflict = {"event_id": self.event_id, "title": self.title, "start_time": self.start, "end_time": self.end}
        if self.batch_index is not None:
            conflict["batch_index"] = self.batch_index
        return conflict


def candidate_occurrences(
    *, start: datetime, end: datetime, tz: str, pattern: recurrence.Pattern | None, is_all_day: bool
) -> list[recurrence.Occurrence]:
    if is_all_day:
        return []
    found, _ = recurrence.occurrences(
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


class BusyIndex:
    """Busy intervals sorted by start, answering "what overlaps [a, b)?" with a binary search."""

    def __init__(self, busy: list[Busy]) -> None:
        self.busy = sorted(busy, key=lambda b: (b.start, b.end))
        self.starts = [b.start for b in self.busy]
        self.longest = max((b.end - b.start for b in self.busy), default=timedelta(0))

    def overlapping(self, start: datetime, end: datetime) -> list[Busy]:
        low = bisect.bisect_right(self.starts, start - self.longest)
        high = bisect.bisect_left(self.starts, end)
        return [b for b in self.busy[low:high] if _overlap(b.start, b.end, start, end)]


def _overlap(a_start: datetime, a_end: datetime, b_start: datetime, b_end: datetime) -> bool:
    # Zero-length events overlap what they sit inside of, never what merely touches them.
    return (
        (a_start < b_end and b_start < a_end)
        or (a_start == a_end and b_start <= a_start < b_end)
        or (b_start == b_end and a_start <= b_start < a_end)
    )


def calendar_busy(*, user, start: datetime, end: datetime, exclude_ids=()) -> BusyIndex:
    """The caller's busy occurrences in [start, end): one query, recurring candidates expanded in memory."""
    candidates = (
        Event.objects.visible_to(user)
        .filter(is_all_day=False)
        .overlapping(start, end)
        .exclude(pk__in=list(exclude_ids))
        .only("id", "title", "start_time", "end_time", "timezone", "is_all_day", "recurrence")
    )
    busy: list[Busy] = []
    for event in candidates:
        found, _ = event_occurrences(event, window_start=start, window_end=end, limit=MAX_CHECKED_OCCURRENCES)
        busy.extend(Busy(o.start, o.end, event.pk, event.title) for o in found)
    return BusyIndex(busy)


def find_conflicts(occurrences: list[recurrence.Occurrence], busy: BusyIndex, limit: int = MAX_REPORTED) -> list[dict]:
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


def span(occurrences: list[recurrence.Occurrence]) -> tuple[datetime, datetime] | None:
    if not occurrences:
        return None
    return occurrences[0].start, max(o.end for o in occurrences)
