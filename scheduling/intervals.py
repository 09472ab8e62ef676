"""Interval maths on busy time: overlap (zero-length intervals included), an index answering "what overlaps
[a, b)?", overlapping pairs and merged busy intervals of occurrences in start order."""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any


@dataclass(frozen=True)
class Busy:
    start: datetime
    end: datetime
    event_id: int | None
    title: str
    batch_index: int | None = None  # for an item of the same batch, not yet an event
    original_start: datetime | None = None

    def as_conflict(self) -> dict:
        conflict = {"event_id": self.event_id, "title": self.title, "start_time": self.start, "end_time": self.end}
        if self.batch_index is not None:
            conflict["batch_index"] = self.batch_index
        return conflict


class BusyIndex:
    """Busy intervals sorted by start, answering "what overlaps [a, b)?" with a binary search."""

    def __init__(self, busy: list[Busy]) -> None:
        self.busy = sorted(busy, key=lambda b: (b.start, b.end))
        self.starts = [b.start for b in self.busy]
        self.longest = max((b.end - b.start for b in self.busy), default=timedelta(0))

    def overlapping(self, start: datetime, end: datetime) -> list[Busy]:
        low = bisect.bisect_right(self.starts, start - self.longest)
        high = bisect.bisect_left(self.starts, end)
        return [b for b in self.busy[low:high] if overlap(b.start, b.end, start, end)]


def overlap(a_start: datetime, a_end: datetime, b_start: datetime, b_end: datetime) -> bool:
    # Zero-length events overlap what they sit inside of, never what merely touches them.
    return (
        (a_start < b_end and b_start < a_end)
        or (a_start == a_end and b_start <= a_start < b_end)
        or (b_start == b_end and a_start <= b_start < a_end)
    )


def span(occurrences: list) -> tuple[datetime, datetime] | None:
    if not occurrences:
        return None
    return occurrences[0].start, max(o.end for o in occurrences)


def calendar_pairs(timeline: Iterable[tuple[Any, Any]], limit: int) -> tuple[list[tuple], bool]:
    """Overlapping pairs among occurrences given in start order: ((event, occurrence), (event, occurrence))
    with the earlier first, in the order of the later one's start; at most `limit`, and whether more exist."""
    active: list[tuple[Any, Any]] = []
    pairs = []
    for item in timeline:
        occurrence = item[1]
        active = [a for a in active if a[1].end > occurrence.start or a[1].start == a[1].end == occurrence.start]
        for other in active:
            if overlap(other[1].start, other[1].end, occurrence.start, occurrence.end):
                if len(pairs) == limit:
                    return pairs, True
                pairs.append((other, item))
        active.append(item)
    return pairs, False


def merged_busy(timeline: Iterable[tuple[Any, Any]]) -> list[tuple[datetime, datetime]]:
    """Busy intervals merged from occurrences given in start order (zero-length ones make no one busy)."""
    merged: list[list[datetime]] = []
    for _, occurrence in timeline:
        if occurrence.end == occurrence.start:
            continue
        if merged and occurrence.start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], occurrence.end)
        else:
            merged.append([occurrence.start, occurrence.end])
    return [(start, end) for start, end in merged]
