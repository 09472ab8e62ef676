"""The wall-clock filter of conflict checks may only rule out series that truly cannot overlap.

It skips expanding a series whose occurrences all start at one local time of day (on given weekdays) when
that slot cannot reach any checked interval. A wrong "cannot" would hide a double booking, so it is checked
against brute force: many random series, in zones with DST (30-minute DST on Lord Howe, southern-hemisphere
Sydney), with times near the changes and in their gaps and folds.
"""

from __future__ import annotations

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


@pytest.mark.parametrize("seed", range(40))
def test_the_filter_never_rules_out_a_series_that_overlaps(seed):
    rng = random.Random(seed)
    new = series(rng)
    window = (new.start_time - timedelta(days=2), new.start_time + timedelta(days=120))
    checked = occurrences(new, *window)
    reach = timedelta(hours=rng.choice([0, 0, 4, 30]))  # as the free-slot search widens them
    around = [(o.start, o.end + reach) for o in checked]
    wall_clock = _WallClockFilter(around)
    ruled_out = 0
    for _ in range(25):
        other = series(rng)
        overlaps = any(overlap(o.start, o.end, a, b) for o in occurrences(other, *window) for a, b in around)
        if not wall_clock.may_overlap(other):
            assert not overlaps, (new.recurrence, new.start_time, other.recurrence, other.start_time, other.timezone)
            ruled_out += 1
    assert reach or ruled_out  # with tight intervals it does rule things out


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
