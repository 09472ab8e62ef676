"""The wall-clock filter of conflict checks: what it rules out and what it keeps, against brute force.

It skips expanding a series whose occurrences all start at one local time of day (on given weekdays) when
that slot cannot reach any checked interval. Its answer depends on the slot only, so the oracle is the
densest series with that slot: an occurrence on every day the slot allows, at its wall time, read as
RFC 5545 reads a local time, expanded day by day here. A series whose slot reaches an interval must be
kept (a wrong "cannot" would hide a double booking); one whose slot stays clear of every interval by
more than the filter's documented allowance must be ruled out (else the filter does nothing). Many random
series, in zones with DST (30-minute DST on Lord Howe, southern-hemisphere Sydney), with times near the
changes and in their gaps and folds.
"""

from __future__ import annotations

import bisect
import random
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from events.models import Event
from events.occurrences import event_occurrences
from recurrence import rules
from scheduling.conflicts import _WallClockFilter
from scheduling.intervals import overlap

ZONES = ["America/New_York", "Europe/Berlin", "Australia/Sydney", "Australia/Lord_Howe", "UTC", "Asia/Kolkata"]
RULES = [
    "FREQ=WEEKLY;BYDAY={day}",
    "FREQ=WEEKLY;INTERVAL=2",
    "FREQ=DAILY",
    "FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR",
    "FREQ=MONTHLY;BYDAY=1{day}",
    "FREQ=MONTHLY;BYMONTHDAY=15",
    "FREQ=YEARLY",
    "FREQ=WEEKLY;BYDAY={day},SA",
]
DAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]
# Local days around DST changes in 2026 (spring and autumn, both hemispheres), and ordinary days.
DAYS_NEAR_CHANGES = ["2026-03-08", "2026-03-29", "2026-04-05", "2026-10-04", "2026-10-25", "2026-11-01", "2026-06-10"]
TOUCHING = timedelta(minutes=1)  # the filter may keep an occurrence that only touches an interval


def series(rng: random.Random) -> Event:
    tz = rng.choice(ZONES)
    day = datetime.fromisoformat(rng.choice(DAYS_NEAR_CHANGES)) + timedelta(days=rng.randrange(-3, 4))
    local = day + timedelta(hours=rng.randrange(0, 24), minutes=rng.choice([0, 15, 30, 45]))
    start = local.replace(tzinfo=ZoneInfo(tz)).astimezone(UTC)
    end = start + timedelta(minutes=rng.choice([0, 15, 60, 150, 600]))
    rule = rng.choice(RULES).format(day=rng.choice(DAYS))
    pattern = rules.parse_pattern(rule, start=start, end=end, tz=tz)
    return Event(start_time=start, end_time=end, timezone=tz, recurrence=pattern.to_json(), title="x")


def occurrences(event: Event, start: datetime, end: datetime) -> list:
    found, _ = event_occurrences(event, window_start=start, window_end=end, limit=5000)
    return found


def slot_weekdays(event: Event) -> frozenset[int] | None:
    """The local weekdays the event's rule may put an occurrence on (RFC 5545): its BYDAY days, or a WEEKLY
    rule's DTSTART day, and DTSTART's own day always; None for any day."""
    parts = dict(part.split("=") for part in event.recurrence["rrule"].split(";"))
    first = event.start_time.astimezone(ZoneInfo(event.timezone)).weekday()
    if "BYDAY" in parts:
        return frozenset({DAYS.index(day[-2:]) for day in parts["BYDAY"].split(",")} | {first})
    return frozenset({first}) if parts["FREQ"] == "WEEKLY" else None


def densest(event: Event, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """The occurrences, from the local day before `start` to the one after `end`, of the densest series with
    the event's wall slot: every day the slot allows, at its wall time of day, for its length. A wall time in
    a DST gap is read with the offset before the gap (it moves forward), one in a fold as its first pass."""
    zone = ZoneInfo(event.timezone)
    wall = event.start_time.astimezone(zone)
    time_of_day, length, weekdays = wall.time(), event.end_time - event.start_time, slot_weekdays(event)
    day, last = (start - timedelta(days=1)).astimezone(zone).date(), (end + timedelta(days=1)).astimezone(zone).date()
    found = []
    while day <= last:
        if weekdays is None or day.weekday() in weekdays:
            begins = datetime.combine(day, time_of_day).replace(tzinfo=zone, fold=0).astimezone(UTC)
            found.append((begins, begins + length))
        day += timedelta(days=1)
    return found


def allowance(zone: str):
    """How near an interval a slot in `zone` may come and still be kept. The filter reads the interval's
    wall-clock stretch with every offset the zone has from two days before it to a day after it, and widens
    it back by the change between them: it may keep a slot within two such changes of the interval (at most
    one change happens in those days), or one that only touches it."""
    tz = ZoneInfo(zone)

    def near(a: datetime, b: datetime) -> timedelta:
        change = abs(
            (b + timedelta(days=1)).astimezone(tz).utcoffset() - (a - timedelta(days=2)).astimezone(tz).utcoffset()
        )
        return 2 * change + TOUCHING

    return near


def meets(occurrences: list[tuple[datetime, datetime]], around: list[tuple[datetime, datetime]], margin=None) -> bool:
    """Whether one of `occurrences` overlaps one of the intervals, each interval widened by `margin(a, b)`
    on both sides (not at all without one)."""
    widened = sorted((a - m, b + m) for a, b in around for m in [margin(a, b) if margin else timedelta(0)])
    lows = [a for a, _ in widened]
    longest = max(b - a for a, b in widened)
    for start, end in occurrences:
        first = bisect.bisect_left(lows, start - longest)
        last = bisect.bisect_right(lows, end)
        if any(overlap(start, end, a, b) for a, b in widened[first:last]):
            return True
    return False


@pytest.mark.parametrize("seed", range(40))
def test_the_filter_keeps_a_series_that_can_reach_an_interval_and_rules_out_one_that_cannot(seed):
    rng = random.Random(seed)
    new = series(rng)
    window = (new.start_time - timedelta(days=2), new.start_time + timedelta(days=120))
    checked = occurrences(new, *window)
    reach = timedelta(hours=rng.choice([0, 0, 4, 30]))  # as the free-slot search widens them
    around = [(o.start, o.end + reach) for o in checked]
    wall_clock = _WallClockFilter(around)
    decided = 0
    for _ in range(25):
        other = series(rng)
        real = [(o.start, o.end) for o in occurrences(other, *window)]
        slot = densest(other, around[0][0], around[-1][1])
        case = (new.recurrence, new.start_time, new.timezone, reach, other.recurrence, other.start_time, other.timezone)
        if meets(real, around) or meets(slot, around):
            assert wall_clock.may_overlap(other), ("ruled out, but its slot reaches an interval", case)
            decided += 1
        elif not meets(slot, around, allowance(other.timezone)):
            assert not wall_clock.may_overlap(other), ("expanded, but its slot stays clear of every interval", case)
            decided += 1
    # Only a slot within the allowance of an interval, not reaching it, may go either way: few of them.
    assert decided >= 20, decided


def test_a_series_with_an_occurrence_moved_into_an_interval_is_kept():
    start = datetime(2030, 1, 7, 9, tzinfo=UTC)
    other = Event(
        start_time=start,
        end_time=start + timedelta(hours=1),
        timezone="UTC",
        title="x",
        recurrence={"rrule": "FREQ=WEEKLY", "exdates": [], "rdates": []},
        exceptions={"2030-01-14T09:00:00Z": {"start": "2030-01-15T15:00:00Z", "end": "2030-01-15T16:00:00Z"}},
    )
    tuesday_afternoon = [(datetime(2030, 1, 15, 15, 30, tzinfo=UTC), datetime(2030, 1, 15, 16, 30, tzinfo=UTC))]
    wednesday_afternoon = [(datetime(2030, 1, 16, 15, 30, tzinfo=UTC), datetime(2030, 1, 16, 16, 30, tzinfo=UTC))]

    assert _WallClockFilter(tuesday_afternoon).may_overlap(other)
    assert not _WallClockFilter(wednesday_afternoon).may_overlap(other)


def test_the_weekday_rules_out_the_same_time_on_another_day():
    start = datetime(2030, 1, 8, 9, tzinfo=UTC)  # Tuesdays 09:00
    tuesdays = Event(
        start_time=start,
        end_time=start + timedelta(hours=1),
        timezone="UTC",
        title="x",
        recurrence={"rrule": "FREQ=WEEKLY", "exdates": [], "rdates": []},
    )
    monday = [(datetime(2030, 1, 7, 9, tzinfo=UTC), datetime(2030, 1, 7, 10, tzinfo=UTC))]
    tuesday = [(datetime(2030, 1, 15, 9, 30, tzinfo=UTC), datetime(2030, 1, 15, 10, tzinfo=UTC))]

    assert not _WallClockFilter(monday).may_overlap(tuesdays)
    assert _WallClockFilter(tuesday).may_overlap(tuesdays)


@pytest.mark.parametrize(
    "tz, wall, gap_day, checked_utc",
    [
        # 02:30 does not exist on the day DST starts: that day's occurrence is at 03:30-03:45 local.
        ("America/New_York", "2026-03-07 02:30", "2026-03-08", ("2026-03-08 07:35", "2026-03-08 07:40")),
        ("Europe/Berlin", "2026-03-28 02:30", "2026-03-29", ("2026-03-29 01:35", "2026-03-29 01:40")),
    ],
)
def test_an_occurrence_moved_out_of_a_dst_gap_is_still_reached(tz, wall, gap_day, checked_utc):
    start = datetime.fromisoformat(wall).replace(tzinfo=ZoneInfo(tz)).astimezone(UTC)
    daily = Event(
        start_time=start,
        end_time=start + timedelta(minutes=15),
        timezone=tz,
        title="x",
        recurrence={"rrule": "FREQ=DAILY", "exdates": [], "rdates": []},
    )
    around = [tuple(datetime.fromisoformat(t).replace(tzinfo=UTC) for t in checked_utc)]
    moved = [
        o for o in occurrences(daily, *around[0]) if o.start.astimezone(ZoneInfo(tz)).date().isoformat() == gap_day
    ]

    assert moved and overlap(moved[0].start, moved[0].end, *around[0])  # the case is real
    assert _WallClockFilter(around).may_overlap(daily)
