"""Free slots: where an event (or a whole series, shifted) could go instead, offered with a 409."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from events.models import Event
from events.occurrences import OCCURRENCE_FIELDS, timeline

from .conflicts import CHECK_HORIZON, calendar_busy, calendar_candidates
from .intervals import Busy, BusyIndex

MAX_SLOTS = 3  # next free slots offered with a 409
# How far the free-slot search looks, step by step (one query each): near first, where slots usually are.
_SLOT_REACH_SINGLE = (timedelta(hours=4), timedelta(days=1), timedelta(days=7), timedelta(days=31), CHECK_HORIZON)
_SLOT_REACH_SERIES = (timedelta(hours=4), timedelta(days=1), timedelta(days=7))  # a whole series moves a week at most
_SLOT_MIN_STEP = timedelta(minutes=1)
_SLOT_PREFIX = 8  # occurrences of a series fitted in memory; the rest is checked at the shift found
_SLOT_MAX_CHECKS = 12
_SLOT_MAX_STEPS = 500


def next_free_slots(
    *,
    user,
    occurrences: list,
    exclude_ids: Iterable[int] = (),
    skip: tuple[int, datetime] | None = None,
    count: int = MAX_SLOTS,
) -> list[dict]:
    """Up to `count` slots of the same length after the requested one where nothing on the calendar is busy.

    For a series, a slot is a shift of the whole series: every checked occurrence is free at the same shift
    (at most a week later); the slot is where its first occurrence would go. One-off events look up to
    CHECK_HORIZON ahead. Slots do not overlap each other.

    The search fits the first _SLOT_PREFIX occurrences in memory (one query per reach tried: 4 hours, a day,
    ...), then checks the rest of a series at that shift with a check that stops at the first conflict (one
    query for the series' recurring candidates, then one per check for one-off events); a conflict there
    pushes the shift on. At most _SLOT_MAX_CHECKS such checks.
    """
    if not occurrences:
        return []
    intervals = [(o.start, o.end) for o in occurrences]
    prefix, rest = intervals[:_SLOT_PREFIX], intervals[_SLOT_PREFIX:]
    first_start, first_end = intervals[0]
    step = max(first_end - first_start, _SLOT_MIN_STEP)
    reaches = _SLOT_REACH_SERIES if len(intervals) > 1 else _SLOT_REACH_SINGLE
    exclude_ids = list(exclude_ids)
    recurring: list[Event] | None = None
    if rest:  # the checks of the rest share the recurring candidates of the widest span
        widest = (first_start, max(e for _, e in intervals) + reaches[-1])
        recurring = list(
            Event.objects.alive()
            .filter(permissions__user=user, is_all_day=False, is_recurring=True)
            .overlapping(*widest)
            .exclude(pk__in=exclude_ids)
            .only(*OCCURRENCE_FIELDS)
        )
    slots: list[dict] = []
    shift = timedelta(0)
    checks = 0
    for reach in reaches:
        around = [(s, e + reach) for s, e in prefix]
        busy = calendar_busy(
            user=user,
            start=first_start,
            end=max(e for _, e in around),
            exclude_ids=exclude_ids,
            around=around,
            skip=skip,
        )
        while len(slots) < count and checks < _SLOT_MAX_CHECKS:
            found = _earliest_fit(prefix, busy, shift, reach)
            if found is None:
                break
            if rest:
                checks += 1
                shifted = [(s + found, e + found) for s, e in rest]
                blocker = _first_conflict(user, shifted, exclude_ids, skip, recurring)
                if blocker is not None:
                    index, busy_end = blocker
                    shift = max(busy_end - rest[index][0], found + _SLOT_MIN_STEP)
                    continue
            slots.append({"start_time": first_start + found, "end_time": first_end + found})
            shift = found + step
        if len(slots) == count or checks >= _SLOT_MAX_CHECKS:
            break
    return slots


def _first_conflict(
    user,
    intervals: list[tuple[datetime, datetime]],
    exclude_ids: list[int],
    skip: tuple[int, datetime] | None,
    recurring: list[Event] | None,
) -> tuple[int, datetime] | None:
    """(index of an interval, end of the busy occurrence in its way) for the first busy occurrence that
    overlaps one of `intervals` (in start order), or None. One query; stops at the first hit."""
    checked = BusyIndex([Busy(start, end, None, "", batch_index=n) for n, (start, end) in enumerate(intervals)])
    start, end = intervals[0][0], max(e for _, e in intervals)
    for other, occurrence in timeline(
        calendar_candidates(user, start, end, exclude_ids, intervals, recurring), window_start=start, window_end=end
    ):
        if skip is not None and (other.pk, occurrence.original_start) == skip:
            continue
        hits = checked.overlapping(occurrence.start, occurrence.end)
        if hits:
            return min(hit.batch_index for hit in hits), occurrence.end
    return None


def _earliest_fit(
    intervals: list[tuple[datetime, datetime]], busy: BusyIndex, shift: timedelta, limit: timedelta
) -> timedelta | None:
    """The smallest shift >= `shift` (and <= `limit`) at which no interval overlaps anything busy."""
    for _ in range(_SLOT_MAX_STEPS):
        if shift > limit:
            return None
        pushed = None
        for start, end in intervals:
            hits = busy.overlapping(start + shift, end + shift)
            if hits:
                pushed = max(hit.end for hit in hits) - start  # start right after what is in the way
                break
        if pushed is None:
            return shift
        shift = max(pushed, shift + _SLOT_MIN_STEP)
    return None
