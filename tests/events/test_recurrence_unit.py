"""Unit tests of recurrence.rules (pure library: no database, no Django)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest

from recurrence.rules import (
    MAX_EXDATES,
    MAX_RDATES,
    MAX_RRULE_LENGTH,
    Occurrence,
    Pattern,
    RecurrenceError,
    is_occurrence,
    iter_occurrences,
    occurrences,
    parse_pattern,
    series_end,
    split,
    wall_slot,
)
from tests.rfc5545_examples import RFC_EXAMPLES, days, times

NY = "America/New_York"
BERLIN = "Europe/Berlin"
SYDNEY = "Australia/Sydney"
HOUR = timedelta(hours=1)


def at(text: str, tz: str = NY) -> datetime:
    """'1997-09-02 09:00' as an aware datetime in tz (first occurrence if ambiguous)."""
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(tz))


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def expand(
    value: object,
    start: datetime,
    *,
    tz: str = NY,
    duration: timedelta = HOUR,
    is_all_day: bool = False,
    limit: int = 1000,
    window_start: datetime | None = None,
    window_end: datetime | None = None,
) -> tuple[list[Occurrence], bool]:
    end = start + duration
    pattern = parse_pattern(value, start=start, end=end, tz=tz, is_all_day=is_all_day)
    return occurrences(
        start=start,
        end=end,
        tz=tz,
        pattern=pattern,
        is_all_day=is_all_day,
        window_start=window_start,
        window_end=window_end,
        limit=limit,
    )


def local_starts(found: list[Occurrence], tz: str = NY) -> list[str]:
    return [o.start.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M") for o in found]


# --------------------------------------------------------------------------------------------------
# RFC 5545 section 3.8.5.3 examples (tests/rfc5545_examples.py)


@pytest.mark.parametrize(
    ("dtstart", "rule", "expected", "finite"),
    [
        pytest.param(dtstart, rule, expected, finite, id=f"{name} [{i}]")
        for name, dtstart, rules, expected, finite in RFC_EXAMPLES
        for i, rule in enumerate(rules)
    ],
)
def test_rfc5545_examples(dtstart: str, rule: object, expected: list[str], finite: bool) -> None:
    found, truncated = expand(rule, at(dtstart), limit=len(expected) if not finite else 1000)
    assert local_starts(found) == expected
    assert truncated is not finite
    assert all(o.end - o.start == HOUR and o.original_start == o.start for o in found)


def test_rfc_every_3_hours_with_the_rfcs_own_until_stops_at_13_00_edt() -> None:
    # The RFC lists 09:00, 12:00, 15:00, but its UNTIL=19970902T170000Z is 13:00 EDT and UNTIL is
    # inclusive of instances up to that instant only (a known mistake in the RFC's example).
    found, _ = expand("FREQ=HOURLY;INTERVAL=3;UNTIL=19970902T170000Z", at("1997-09-02 09:00"))
    assert local_starts(found) == times("1997-09-02", "09:00", "12:00")


def test_rfc_examples_keep_local_time_across_the_1997_fall_back() -> None:
    found, _ = expand("FREQ=DAILY;UNTIL=19971224T000000Z", at("1997-09-02 09:00"))
    by_day = {o.start.astimezone(ZoneInfo(NY)).date(): o.start for o in found}
    assert by_day[date(1997, 10, 25)] == utc("1997-10-25 13:00")  # 09:00 EDT
    assert by_day[date(1997, 10, 26)] == utc("1997-10-26 14:00")  # 09:00 EST


# --------------------------------------------------------------------------------------------------
# Time zones and DST


@pytest.mark.parametrize(
    ("tz", "start", "standard_utc_hour", "summer_utc_hour", "summer_day", "standard_day"),
    [
        (NY, "2026-02-23 09:00", 14, 13, "2026-03-09", "2026-11-02"),
        (BERLIN, "2026-02-23 09:00", 8, 7, "2026-03-30", "2026-10-26"),
        # Southern hemisphere: summer time ends on 2026-04-05 and starts again on 2026-10-04.
        (SYDNEY, "2026-02-23 09:00", 23, 22, "2026-02-23", "2026-04-06"),
    ],
)
def test_weekly_meeting_stays_at_local_time_across_dst(
    tz: str, start: str, standard_utc_hour: int, summer_utc_hour: int, summer_day: str, standard_day: str
) -> None:
    found, _ = expand(
        "FREQ=WEEKLY;BYDAY=MO",
        at(start, tz),
        tz=tz,
        window_start=at(start, tz),
        window_end=at("2027-01-01", tz),
    )
    assert {o.start.astimezone(ZoneInfo(tz)).strftime("%a %H:%M") for o in found} == {"Mon 09:00"}
    by_day = {o.start.astimezone(ZoneInfo(tz)).date().isoformat(): o.start for o in found}
    assert by_day[summer_day].hour == summer_utc_hour
    assert by_day[standard_day].hour == standard_utc_hour
    assert len({o.start.hour for o in found}) == 2  # the UTC time moves by exactly one hour


def test_sydney_utc_hour_changes_when_dst_starts_in_october() -> None:
    found, _ = expand("FREQ=WEEKLY;BYDAY=MO", at("2026-09-28 09:00", SYDNEY), tz=SYDNEY, limit=2)
    assert [o.start for o in found] == [utc("2026-09-27 23:00"), utc("2026-10-04 22:00")]


@pytest.mark.parametrize(
    ("tz", "day_before", "gap_day", "shifted_utc"),
    [
        (NY, "2026-03-07", "2026-03-08", "2026-03-08 07:30"),  # 02:30 does not exist -> 03:30 EDT
        (BERLIN, "2026-03-28", "2026-03-29", "2026-03-29 01:30"),  # 02:30 does not exist -> 03:30 CEST
    ],
)
def test_daily_event_in_the_spring_forward_gap_moves_forward_by_the_gap(
    tz: str, day_before: str, gap_day: str, shifted_utc: str
) -> None:
    found, _ = expand("FREQ=DAILY;COUNT=3", at(f"{day_before} 02:30", tz), tz=tz)
    assert local_starts(found, tz)[1] == f"{gap_day} 03:30"
    assert found[1].start == utc(shifted_utc)
    assert local_starts(found, tz)[2].endswith("02:30")  # back to 02:30 the next day
    assert all(o.end - o.start == HOUR for o in found)


def test_daily_event_in_the_fall_back_fold_takes_the_first_occurrence() -> None:
    found, _ = expand("FREQ=DAILY;COUNT=3", at("2026-10-31 01:30"))
    assert [o.start for o in found] == [
        utc("2026-10-31 05:30"),  # EDT
        utc("2026-11-01 05:30"),  # 01:30 EDT, the first of the two 01:30s
        utc("2026-11-02 06:30"),  # EST
    ]


def test_event_starting_in_the_second_half_of_a_fold_keeps_its_exact_start() -> None:
    start = utc("2026-11-01 06:30")  # 01:30 EST, the second 01:30 of the day
    found, _ = expand("FREQ=DAILY;COUNT=2", start)
    assert [o.start for o in found] == [utc("2026-11-01 06:30"), utc("2026-11-02 06:30")]


def test_hourly_rule_across_spring_forward_has_no_duplicate_and_stays_ordered() -> None:
    found, _ = expand(
        "FREQ=MINUTELY;INTERVAL=30",
        at("2026-03-08 01:00"),
        duration=timedelta(minutes=10),
        limit=6,
    )
    # 02:00 and 02:30 do not exist; they become 03:00 and 03:30, which the rule generates anyway.
    assert local_starts(found) == times("2026-03-08", "01:00", "01:30", "03:00", "03:30", "04:00", "04:30")
    assert [o.start for o in found] == sorted(o.start for o in found)


@pytest.mark.parametrize(
    ("tz", "short_day", "long_day"), [(NY, "2026-03-08", "2026-11-01"), (BERLIN, "2026-03-29", "2026-10-25")]
)
def test_all_day_daily_events_are_local_days_of_23_and_25_hours(
    tz: str,
    short_day: str,
    long_day: str,
) -> None:
    start = at("2026-03-01 00:00", tz)
    found, _ = expand(
        "FREQ=DAILY",
        start,
        tz=tz,
        duration=timedelta(days=1),
        is_all_day=True,
        window_start=start,
        window_end=at("2026-12-01 00:00", tz),
    )
    lengths = {o.start.astimezone(ZoneInfo(tz)).date().isoformat(): o.end - o.start for o in found}
    assert lengths[short_day] == timedelta(hours=23)
    assert lengths[long_day] == timedelta(hours=25)
    assert lengths["2026-06-01"] == timedelta(hours=24)
    assert {o.start.astimezone(ZoneInfo(tz)).strftime("%H:%M") for o in found} == {"00:00"}
    assert all(a.end == b.start for a, b in pairwise(found))


def test_all_day_event_spanning_several_days_keeps_its_day_count() -> None:
    start = at("2026-03-06 00:00")
    found, _ = expand(
        "FREQ=WEEKLY;COUNT=2", start, duration=timedelta(days=3) - HOUR, is_all_day=True
    )  # Fri-Sun, DST starts on the Sunday; the input end (23:00) rounds up to a whole day
    assert [(o.start, o.end) for o in found] == [
        (at("2026-03-06 00:00"), at("2026-03-09 00:00")),
        (at("2026-03-13 00:00"), at("2026-03-16 00:00")),
    ]


# --------------------------------------------------------------------------------------------------
# EXDATE and RDATE


def test_exdate_without_offset_is_read_in_the_event_zone() -> None:
    rule = "FREQ=DAILY;COUNT=5"
    start = at("2026-03-10 09:00")
    found, _ = expand({"rrule": rule, "exdates": ["2026-03-11T09:00:00"]}, start)
    assert local_starts(found) == days(2026, 3, 10, 12, 13, 14)
    # The same instant with an explicit offset removes it too; 09:00 UTC is another instant.
    found, _ = expand({"rrule": rule, "exdates": ["2026-03-11T13:00:00Z", "2026-03-12T09:00:00Z"]}, start)
    assert local_starts(found) == days(2026, 3, 10, 12, 13, 14)
    found, _ = expand({"rrule": rule, "exdates": [datetime(2026, 3, 12, 9, 0)]}, start)  # naive: local
    assert local_starts(found) == days(2026, 3, 10, 11, 13, 14)


def test_exdate_in_the_dst_gap_removes_the_shifted_instance() -> None:
    pattern = {"rrule": "FREQ=DAILY;COUNT=3", "exdates": ["2026-03-08T02:30:00"]}
    found, _ = expand(pattern, at("2026-03-07 02:30"))
    assert local_starts(found) == ["2026-03-07 02:30", "2026-03-09 02:30"]


def test_exdates_do_not_give_back_count() -> None:
    pattern = {"rrule": "FREQ=WEEKLY;COUNT=3", "exdates": ["2026-03-09T09:00:00"]}
    found, _ = expand(pattern, at("2026-03-02 09:00"))
    assert local_starts(found) == days(2026, 3, 2, 16)


def test_all_day_exdate_given_as_a_date_or_as_an_occurrence_start() -> None:
    start = at("2026-03-01 00:00")
    pattern = parse_pattern(
        {"rrule": "FREQ=DAILY;COUNT=5", "exdates": ["2026-03-02", "2026-03-04T05:00:00Z"]},
        start=start,
        end=start + timedelta(days=1),
        tz=NY,
        is_all_day=True,
    )
    assert pattern is not None
    assert pattern.exdates == (utc("2026-03-02 05:00"), utc("2026-03-04 05:00"))
    end = start + timedelta(days=1)
    found, _ = occurrences(start=start, end=end, tz=NY, pattern=pattern, is_all_day=True)
    assert [o.start.astimezone(ZoneInfo(NY)).day for o in found] == [1, 3, 5]


def test_rdates_are_added_in_order_with_the_event_duration_and_without_duplicates() -> None:
    found, truncated = expand(
        {
            "rrule": "FREQ=WEEKLY;COUNT=3",
            "rdates": ["2026-03-05T15:00:00", "2026-03-09T09:00:00", "2026-02-20T12:00:00-05:00"],
        },
        at("2026-03-02 09:00"),
        duration=timedelta(minutes=45),
    )
    assert local_starts(found) == [
        "2026-02-20 12:00",  # an RDATE may come before DTSTART
        "2026-03-02 09:00",
        "2026-03-05 15:00",
        "2026-03-09 09:00",  # also generated by the rule: counted once
        "2026-03-16 09:00",
    ]
    assert all(o.end - o.start == timedelta(minutes=45) for o in found)
    assert truncated is False


def test_exdate_wins_over_rdate() -> None:
    found, _ = expand(
        {
            "rrule": "FREQ=DAILY;COUNT=2",
            "rdates": ["2026-03-20T09:00:00"],
            "exdates": ["2026-03-20T09:00:00"],
        },
        at("2026-03-10 09:00"),
    )
    assert local_starts(found) == days(2026, 3, 10, 11)


def test_dtstart_not_matching_the_rule_is_the_first_instance_and_counts() -> None:
    found, _ = expand("FREQ=WEEKLY;BYDAY=MO;COUNT=3", at("2026-03-04 09:00"))  # a Wednesday
    assert local_starts(found) == ["2026-03-04 09:00", "2026-03-09 09:00", "2026-03-16 09:00"]


def test_weekly_bysetpos_counts_whole_weeks_even_in_the_first_one() -> None:
    # Week of Mon 2 March: Monday is the first of {MO, FR}; Friday 6 March is not an instance
    # (dateutil alone would start that week at DTSTART and pick the Friday).
    found, _ = expand("FREQ=WEEKLY;BYDAY=MO,FR;BYSETPOS=1", at("2026-03-04 09:00"), limit=3)
    assert local_starts(found) == ["2026-03-04 09:00", "2026-03-09 09:00", "2026-03-16 09:00"]


# --------------------------------------------------------------------------------------------------
# Windows, limits, far windows


def test_window_boundaries_end_is_exclusive_and_touching_occurrences_are_out() -> None:
    start = at("2026-03-02 09:00")
    kwargs = {"duration": HOUR, "limit": 10}
    found, _ = expand(
        "FREQ=DAILY", start, window_start=at("2026-03-03 10:00"), window_end=at("2026-03-05 09:00"), **kwargs
    )
    assert local_starts(found) == days(2026, 3, 4)  # 03-03 ends at 10:00 = window start; 03-05 starts at end
    found, _ = expand(
        "FREQ=DAILY", start, window_start=at("2026-03-03 09:59"), window_end=at("2026-03-05 09:01"), **kwargs
    )
    assert local_starts(found) == days(2026, 3, 3, 4, 5)


def test_zero_length_occurrence_at_window_start_counts() -> None:
    start = at("2026-03-02 09:00")
    found, _ = expand(
        "FREQ=DAILY",
        start,
        duration=timedelta(0),
        window_start=at("2026-03-03 09:00"),
        window_end=at("2026-03-04 09:00"),
    )
    assert local_starts(found) == days(2026, 3, 3)


def test_truncation_flag() -> None:
    start = at("2026-03-02 09:00")
    found, truncated = expand("FREQ=DAILY;COUNT=5", start, limit=5)
    assert (len(found), truncated) == (5, False)
    found, truncated = expand("FREQ=DAILY;COUNT=5", start, limit=4)
    assert (len(found), truncated) == (4, True)
    found, truncated = expand("FREQ=DAILY", start, limit=0)
    assert (found, truncated) == ([], True)


def test_event_without_pattern_is_its_own_single_occurrence() -> None:
    start, end = at("2026-03-02 09:00"), at("2026-03-02 10:00")
    assert occurrences(start=start, end=end, tz=NY, pattern=None) == ([Occurrence(start, end, start)], False)
    assert occurrences(start=start, end=end, tz=NY, pattern=None, window_start=end) == ([], False)
    assert occurrences(start=start, end=end, tz=NY, pattern=None, window_end=start) == ([], False)


def test_window_five_years_after_dtstart_is_entered_directly() -> None:
    start = at("2021-03-01 08:00")
    found, truncated = expand(
        "FREQ=DAILY", start, window_start=at("2026-03-02 00:00"), window_end=at("2026-03-09 00:00"), limit=10
    )
    assert local_starts(found) == days(2026, 3, range(2, 9), time="08:00")
    assert truncated is False


def test_open_window_looks_100_years_ahead_and_says_more_exist() -> None:
    found, truncated = expand("FREQ=YEARLY", at("2026-03-02 09:00"), limit=250)
    assert (len(found), truncated) == (101, True)  # 36525 days from the start
    assert local_starts(found)[-1] == "2126-03-02 09:00"
    # A sparse rule (Monday 29 February) stays cheap: the walk stops at the first instance past 100 years.
    monday_29th = "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=29;BYDAY=MO"
    found, truncated = expand(monday_29th, at("2016-02-29 09:00"), limit=250)
    assert local_starts(found) == [f"{year}-02-29 09:00" for year in (2016, 2044, 2072, 2112)]
    assert truncated is True


def test_extreme_window_bounds_do_not_overflow() -> None:
    start = at("2026-03-02 09:00", "Asia/Tokyo")
    far = datetime(9999, 12, 31, 22, tzinfo=UTC)
    assert expand("FREQ=DAILY", start, tz="Asia/Tokyo", window_start=far) == ([], False)
    found, _ = expand(
        "FREQ=DAILY",
        start,
        tz="Asia/Tokyo",
        window_start=datetime(1, 1, 1, tzinfo=UTC),
        window_end=utc("2026-03-05 00:00"),
    )
    assert len(found) == 3


def test_a_skipped_local_day_does_not_replace_the_next_one() -> None:
    # Samoa skipped 30 December 2011; that day's instance lands on the 31st's midnight.
    start = at("2011-12-28 00:00", "Pacific/Apia")
    day = timedelta(days=1)
    found, _ = expand("FREQ=DAILY;COUNT=5", start, tz="Pacific/Apia", duration=day, is_all_day=True)
    expected = ["2011-12-28", "2011-12-29", "2011-12-31", "2012-01-01"]
    assert local_starts(found, "Pacific/Apia") == [f"{d} 00:00" for d in expected]
    assert all(o.end - o.start == day for o in found)


def test_dtstart_in_the_second_pass_of_a_fold_with_a_sub_hour_rule_stays_in_utc_order() -> None:
    start = utc("2026-11-01 06:30")  # 01:30 EST, the second 01:30 of the day
    found, _ = expand("FREQ=MINUTELY;INTERVAL=15;COUNT=4", start, duration=timedelta(minutes=5))
    # 01:45 is read as its first pass (EDT), which is before DTSTART's instant.
    assert [o.start for o in found] == [
        utc("2026-11-01 05:45"),
        utc("2026-11-01 06:30"),
        utc("2026-11-01 07:00"),
        utc("2026-11-01 07:15"),
    ]


@pytest.mark.parametrize(
    ("rule", "dtstart"),
    [
        ("FREQ=DAILY;INTERVAL=3", "2025-01-30 10:15"),
        ("FREQ=WEEKLY;INTERVAL=3;BYDAY=MO,TH,SU;WKST=SU", "2025-01-30 10:15"),
        ("FREQ=WEEKLY;BYDAY=MO,WE,FR;BYSETPOS=-1", "2025-01-29 10:15"),
        ("FREQ=MONTHLY;INTERVAL=5;BYMONTHDAY=-1,1,15", "2025-01-30 10:15"),
        ("FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-2", "2025-01-30 10:15"),
        ("FREQ=YEARLY;BYWEEKNO=1,20,-1;BYDAY=TU", "2025-01-30 10:15"),
        ("FREQ=HOURLY;INTERVAL=7;BYMINUTE=5,35", "2025-01-30 10:05"),
        ("FREQ=MINUTELY;INTERVAL=47", "2025-01-30 10:15"),
        ("FREQ=DAILY;BYHOUR=1,2,3;BYMINUTE=30", "2025-03-01 01:30"),  # crosses the DST gap and fold
        ("FREQ=DAILY;UNTIL=20261231T235959Z", "2025-01-30 02:30"),
        ("FREQ=WEEKLY;COUNT=60;BYDAY=SA", "2025-02-01 10:15"),
    ],
)
def test_entering_the_rule_in_a_window_matches_the_full_expansion(rule: str, dtstart: str) -> None:
    start = at(dtstart)
    full, truncated = expand(rule, start, limit=50_000, window_end=at("2027-01-01 00:00"))
    assert not truncated
    for window_start, window_end in [
        ("2025-03-08 00:00", "2025-03-10 00:00"),
        ("2025-10-31 12:00", "2025-11-03 05:00"),
        ("2026-02-27 10:20", "2026-04-01 00:00"),
        ("2026-12-30 00:00", "2027-01-01 00:00"),
    ]:
        lo, hi = at(window_start), at(window_end)
        windowed, _ = expand(rule, start, limit=50_000, window_start=lo, window_end=hi)
        assert windowed == [o for o in full if o.start < hi and o.end > lo], (rule, window_start)


# --------------------------------------------------------------------------------------------------
# series_end


def _series_end(
    value: object,
    start: datetime,
    *,
    duration: timedelta = HOUR,
    **kwargs: object,
) -> datetime | None:
    end = start + duration
    pattern = parse_pattern(value, start=start, end=end, tz=NY, **kwargs)
    return series_end(start=start, end=end, tz=NY, pattern=pattern, **kwargs)


def test_series_end() -> None:
    start = at("2026-03-02 09:00")
    assert _series_end("FREQ=WEEKLY;COUNT=3", start) == at("2026-03-16 10:00")
    assert _series_end("FREQ=WEEKLY;UNTIL=20260316T130000Z", start) == at("2026-03-16 10:00")  # inclusive
    assert _series_end("FREQ=WEEKLY;UNTIL=20260316T125959Z", start) == at("2026-03-09 10:00")
    assert _series_end("FREQ=WEEKLY", start) is None
    assert _series_end({"rrule": "FREQ=WEEKLY;COUNT=3", "rdates": ["2026-05-01T12:00:00"]}, start) == at(
        "2026-05-01 13:00"
    )
    assert _series_end({"rrule": "FREQ=WEEKLY;COUNT=3", "exdates": ["2026-03-16T09:00:00"]}, start) == at(
        "2026-03-09 10:00"
    )
    assert series_end(start=start, end=start + HOUR, tz=NY, pattern=None) == start + HOUR


def test_series_end_of_a_long_minutely_series_and_of_an_all_day_series() -> None:
    start = at("2026-03-02 09:00")
    rule = "FREQ=MINUTELY;INTERVAL=5;UNTIL=20300101T000000Z"
    # The last start is 19:00 EST, which is UNTIL itself.
    assert _series_end(rule, start, duration=timedelta(minutes=5)) == at("2029-12-31 19:05")
    day = at("2026-03-01 00:00")
    assert _series_end("FREQ=DAILY;UNTIL=20260308", day, duration=timedelta(days=1), is_all_day=True) == at(
        "2026-03-09 00:00"
    )


# --------------------------------------------------------------------------------------------------
# Normalization and storage


def test_normalization_of_the_rule() -> None:
    start = at("2026-03-02 09:00")
    pattern = parse_pattern(
        " rrule:byday=fr,mo,+1mo;wkst=mo;interval=1;freq=monthly;count=4 ",
        start=start,
        end=start + HOUR,
        tz=NY,
    )
    assert pattern == Pattern(rrule="FREQ=MONTHLY;COUNT=4;BYDAY=MO,1MO,FR", exdates=(), rdates=())


@pytest.mark.parametrize(
    ("until", "is_all_day", "expected"),
    [
        ("20260310", False, "UNTIL=20260311T035959Z"),  # the whole local day (EDT)
        ("20260310T090000", False, "UNTIL=20260310T130000Z"),  # floating: read in the event's zone
        ("20260310T090000Z", False, "UNTIL=20260310T090000Z"),
        ("2026-03-10T10:00:00+01:00", False, "UNTIL=20260310T090000Z"),
        ("20260310", True, "UNTIL=20260310"),
        ("20260310T030000Z", True, "UNTIL=20260309"),  # 23:00 EDT on the 9th
        ("20260310T090000", True, "UNTIL=20260310"),
    ],
)
def test_until_forms(until: str, is_all_day: bool, expected: str) -> None:
    start = at("2026-03-02 00:00" if is_all_day else "2026-03-02 09:00")
    rule = f"FREQ=DAILY;UNTIL={until}"
    pattern = parse_pattern(rule, start=start, end=start + HOUR, tz=NY, is_all_day=is_all_day)
    assert pattern is not None
    assert pattern.rrule == f"FREQ=DAILY;{expected}"


def test_leap_second_in_bysecond_is_read_as_59() -> None:
    start = at("2026-03-02 09:00:59")
    pattern = parse_pattern("FREQ=DAILY;BYSECOND=60,59", start=start, end=start + HOUR, tz=NY)
    assert pattern is not None
    assert pattern.rrule == "FREQ=DAILY;BYSECOND=59"


def test_until_date_for_a_timed_event_includes_that_day() -> None:
    found, _ = expand("FREQ=DAILY;UNTIL=20260310", at("2026-03-08 23:30"))
    assert local_starts(found) == ["2026-03-08 23:30", "2026-03-09 23:30", "2026-03-10 23:30"]


def test_pattern_json_round_trip() -> None:
    start = at("2026-03-02 09:00")
    pattern = parse_pattern(
        {
            "rrule": "RRULE:FREQ=WEEKLY;BYDAY=MO",
            "exdates": ["2026-03-09T09:00:00", "2026-03-09T13:00:00Z", "2026-03-16T09:00:00-04:00"],
            "rdates": ["2026-03-04T09:00:00.250000"],
        },
        start=start,
        end=start + HOUR,
        tz=NY,
    )
    assert pattern is not None
    data = pattern.to_json()
    assert data == {
        "rrule": "FREQ=WEEKLY;BYDAY=MO",
        "exdates": ["2026-03-09T13:00:00Z", "2026-03-16T13:00:00Z"],
        "rdates": ["2026-03-04T14:00:00.250000Z"],
    }
    assert Pattern.from_json(data) == pattern
    assert parse_pattern(data, start=start, end=start + HOUR, tz=NY) == pattern  # stored form is valid input


@pytest.mark.parametrize("value", [None, "", "   "])
def test_no_pattern(value: object) -> None:
    start = at("2026-03-02 09:00")
    assert parse_pattern(value, start=start, end=start + HOUR, tz=NY) is None


def test_rules_at_the_minimum_interval_are_accepted() -> None:
    for rule in (
        "FREQ=MINUTELY;INTERVAL=5",
        "FREQ=HOURLY;BYMINUTE=0,5,10",
        "FREQ=DAILY;BYHOUR=9;BYMINUTE=0,5",
    ):
        found, _ = expand(rule, at("2026-03-02 09:00"), duration=timedelta(minutes=5), limit=3)
        assert found[1].start - found[0].start == timedelta(minutes=5)


def test_all_rfc_rule_parts_are_understood() -> None:
    start = at("2026-01-01 00:00")
    pattern = parse_pattern(
        "FREQ=YEARLY;COUNT=3;INTERVAL=2;BYSECOND=0;BYMINUTE=0;BYHOUR=9;BYDAY=MO;BYMONTHDAY=-31,1,2,3,4,5,6,7;"
        "BYYEARDAY=1,2,3,4,5,6,7,8,9,10;BYWEEKNO=1,2;BYMONTH=1;BYSETPOS=1;WKST=SU",
        start=start,
        end=start + HOUR,
        tz=NY,
    )
    assert pattern is not None
    found, _ = occurrences(start=start, end=start + HOUR, tz=NY, pattern=pattern)
    # DTSTART, then the first Monday of ISO-style week 1 (weeks starting on Sunday) every other year.
    assert local_starts(found) == ["2026-01-01 00:00", "2026-01-05 09:00", "2028-01-03 09:00"]


# --------------------------------------------------------------------------------------------------
# Refusals


START = at("2026-03-02 09:00")  # a Monday


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("FREQ=DAILY;COUNT", "malformed part 'COUNT'"),
        ("FREQ=DAILY;;COUNT=2", "malformed part"),
        ("FREQ=DAILY;FOO=1", "unknown part FOO"),
        ("FREQ=DAILY;BYEASTER=0", "unknown part BYEASTER"),
        ("COUNT=3", "FREQ is required"),
        ("FREQ=FORTNIGHTLY", "invalid FREQ"),
        ("FREQ=WEEKLY;BYDAY=XX", "invalid BYDAY value 'XX'"),
        ("FREQ=WEEKLY;BYDAY=", "BYDAY has no value"),
        ("FREQ=YEARLY;BYMONTH=13", "invalid BYMONTH value '13'"),
        ("FREQ=YEARLY;BYMONTH=-1", "invalid BYMONTH value '-1'"),
        ("FREQ=DAILY;INTERVAL=0", "INTERVAL must be a whole number between 1 and"),
        ("FREQ=DAILY;INTERVAL=1001", "INTERVAL must be a whole number between 1 and 1000"),
        ("FREQ=DAILY;COUNT=0", "COUNT must be a whole number"),
        ("FREQ=DAILY;COUNT=ten", "COUNT must be a whole number"),
        ("FREQ=DAILY;COUNT=10001", "COUNT must be a whole number between 1 and 10000"),
        ("FREQ=DAILY;BYHOUR=24", "invalid BYHOUR value '24'"),
        ("FREQ=DAILY;BYMINUTE=60", "invalid BYMINUTE value '60'"),
        ("FREQ=MONTHLY;BYMONTHDAY=0", "invalid BYMONTHDAY value '0'"),
        ("FREQ=MONTHLY;BYMONTHDAY=32", "invalid BYMONTHDAY value '32'"),
        ("FREQ=YEARLY;BYYEARDAY=367", "invalid BYYEARDAY value '367'"),
        ("FREQ=YEARLY;BYWEEKNO=54", "invalid BYWEEKNO value '54'"),
        ("FREQ=MONTHLY;BYDAY=MO;BYSETPOS=0", "invalid BYSETPOS value '0'"),
        ("FREQ=WEEKLY;WKST=XX", "invalid WKST value 'XX'"),
        ("FREQ=DAILY;UNTIL=2026-13-01", "invalid UNTIL value"),
        ("FREQ=DAILY;COUNT=2;COUNT=3", "COUNT is given more than once"),
        ("FREQ=DAILY;COUNT=5;UNTIL=20270101T000000Z", "COUNT and UNTIL cannot be used together"),
        ("DTSTART:20260302T090000\nRRULE:FREQ=DAILY", "DTSTART is not allowed"),
        ("FREQ=DAILY;DTSTART=20260302T090000", "DTSTART is not allowed"),
        ("FREQ=DAILY;TZID=Europe/Paris", "TZID is not allowed"),
        ("RRULE:FREQ=DAILY\nEXDATE:20260303T090000Z", "expected a single rule"),
        ("FREQ=SECONDLY", "FREQ=SECONDLY is too dense"),
        ("FREQ=MINUTELY;INTERVAL=4", "FREQ=MINUTELY;INTERVAL=4 is too dense"),
        ("FREQ=MINUTELY", "is too dense"),
        ("FREQ=HOURLY;BYMINUTE=0,1", "too dense: two occurrences are only 1 minutes apart"),
        (
            "FREQ=DAILY;BYHOUR=9;BYMINUTE=0;BYSECOND=0,30",
            "too dense: two occurrences are only 30 seconds apart",
        ),
        ("FREQ=DAILY;BYHOUR=0,23;BYMINUTE=0,58", "too dense: two occurrences are only 2 minutes apart"),
        ("FREQ=WEEKLY;BYDAY=1MO", "BYDAY with a number (like 1MO) needs FREQ=MONTHLY or YEARLY"),
        ("FREQ=YEARLY;BYWEEKNO=20;BYDAY=1MO", "cannot be used with BYWEEKNO"),
        ("FREQ=MONTHLY;BYDAY=6MO", "BYDAY numbers within a month must be between 1 and 5"),
        ("FREQ=MONTHLY;BYWEEKNO=20", "BYWEEKNO can only be used with FREQ=YEARLY"),
        ("FREQ=MONTHLY;BYYEARDAY=20", "BYYEARDAY cannot be used with FREQ=MONTHLY"),
        ("FREQ=WEEKLY;BYMONTHDAY=20", "BYMONTHDAY cannot be used with FREQ=WEEKLY"),
        ("FREQ=MONTHLY;BYSETPOS=1", "BYSETPOS needs another BYxxx part"),
        ("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", "produces no occurrence"),
        ("FREQ=DAILY;BYMONTH=4;BYMONTHDAY=31", "produces no occurrence"),
        ("FREQ=MINUTELY;INTERVAL=5;BYMONTH=2;BYMONTHDAY=30,31", "produces no occurrence"),
        ("FREQ=DAILY;INTERVAL=7;BYDAY=TU", "produces no occurrence"),  # Mondays only, every 7 days
        ("FREQ=HOURLY;INTERVAL=24;BYHOUR=10", "produces no occurrence"),  # 09:00 + 24 h steps
        ("FREQ=MINUTELY;INTERVAL=720;BYHOUR=10", "produces no occurrence"),  # 09:00 and 21:00 only
        ("FREQ=MONTHLY;BYDAY=MO;BYSETPOS=6", "produces no occurrence"),
        ("FREQ=YEARLY;COUNT=2000", "COUNT=2000 would run for more than 1000 years"),
        ("FREQ=DAILY;UNTIL=20260301T000000Z", "UNTIL is before the start of the event"),
        ("FREQ=DAILY;UNTIL=99991231T235959", "UNTIL is out of range"),  # floating, after year 9999 in UTC
        (
            {"rrule": "FREQ=DAILY", "rdates": ["9999-12-31T23:00:00"]},
            "RDATE: '9999-12-31T23:00:00' is out of range",
        ),
        ("FREQ=DAILY;COUNT=1;" + "BYHOUR=9;" * 200, "longer than 1000 characters"),
        (123, "recurrence must be an RRULE string or an object"),
        (["FREQ=DAILY"], "recurrence must be an RRULE string or an object"),
        ({"rrule": ["FREQ=DAILY"]}, "'rrule' must be a non-empty RRULE string"),
        ({"rrule": 5}, "'rrule' must be a non-empty RRULE string"),
        ({"exdates": []}, "'rrule' must be a non-empty RRULE string"),
        ({"rrule": "FREQ=DAILY", "exdate": []}, "unknown key 'exdate'"),
        ({"rrule": "FREQ=DAILY", "exdates": "2026-03-03T09:00:00"}, "'exdates' must be a list"),
        ({"rrule": "FREQ=DAILY", "rdates": {"a": 1}}, "'rdates' must be a list"),
        (
            {"rrule": "FREQ=DAILY", "exdates": [20260303]},
            "EXDATE: expected an RFC 3339 date-time string, got int",
        ),
        (
            {"rrule": "FREQ=DAILY", "rdates": [None]},
            "RDATE: expected an RFC 3339 date-time string, got NoneType",
        ),
        (
            {"rrule": "FREQ=DAILY", "exdates": ["tomorrow"]},
            "EXDATE: 'tomorrow' is not a valid RFC 3339 date-time",
        ),
        (
            {"rrule": "FREQ=DAILY", "exdates": ["2026-03-03"]},
            "a date alone is only allowed for all-day events",
        ),
        ({"rrule": "FREQ=DAILY", "exdates": ["2026-03-03T09:00:00"] * (MAX_EXDATES + 1)}, "at most 1000"),
        (
            {"rrule": "FREQ=DAILY", "rdates": ["2026-03-03T09:00:00"] * (MAX_RDATES + 1)},
            "RDATE: at most 1000",
        ),
        (
            {"rrule": "FREQ=DAILY;COUNT=2", "exdates": ["2026-03-02T09:00:00", "2026-03-03T09:00:00"]},
            "EXDATE removes every occurrence",
        ),
    ],
)
def test_refusals(value: object, message: str) -> None:
    with pytest.raises(RecurrenceError) as excinfo:
        parse_pattern(value, start=START, end=START + HOUR, tz=NY)
    assert message in str(excinfo.value)


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ("FREQ=HOURLY", "FREQ=HOURLY cannot be used for an all-day event"),
        ("FREQ=DAILY;BYHOUR=9", "BYHOUR, BYMINUTE and BYSECOND cannot be used for an all-day event"),
        ("FREQ=DAILY;UNTIL=20260228", "UNTIL is before the start of the event"),
    ],
)
def test_all_day_refusals(rule: str, message: str) -> None:
    start = at("2026-03-02 00:00")
    with pytest.raises(RecurrenceError, match=message):
        parse_pattern(rule, start=start, end=start + timedelta(days=1), tz=NY, is_all_day=True)


def test_rrule_length_limit_is_exposed() -> None:
    assert MAX_RRULE_LENGTH == 1000
    assert issubclass(RecurrenceError, ValueError)


def test_naive_event_start_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        occurrences(start=datetime(2026, 3, 2, 9), end=datetime(2026, 3, 2, 10), tz=NY, pattern=None)


# --------------------------------------------------------------------------------------------------
# Splitting a series ("this and following"), instants, wall-clock slots


def halves(rule: object, start: datetime, cut: datetime, *, tz: str = NY, is_all_day: bool = False, **window):
    """Local starts of the whole series, of its head and of a tail series started at `cut`."""
    end = start + (timedelta(days=1) if is_all_day else HOUR)
    pattern = parse_pattern(rule, start=start, end=end, tz=tz, is_all_day=is_all_day)
    head, tail = split(start=start, end=end, tz=tz, pattern=pattern, is_all_day=is_all_day, at=cut)
    cut_end = cut + (end - start)
    tail = parse_pattern(tail.to_json(), start=cut, end=cut_end, tz=tz, is_all_day=is_all_day)

    def starts(pattern, first, last):
        found, _ = occurrences(start=first, end=last, tz=tz, pattern=pattern, is_all_day=is_all_day, limit=60, **window)
        return local_starts(found, tz)

    return starts(pattern, start, end), starts(head, start, end), starts(tail, cut, cut_end), head, tail


@pytest.mark.parametrize(
    "rule",
    [
        "FREQ=WEEKLY;COUNT=10",
        "FREQ=WEEKLY;UNTIL=20261231T235959Z",
        "FREQ=WEEKLY;BYDAY=MO,TH;COUNT=12",
        "FREQ=MONTHLY;BYDAY=-1FR;COUNT=8",
        "FREQ=DAILY;INTERVAL=3;COUNT=20",
    ],
)
def test_a_split_keeps_every_instant_on_one_side_or_the_other(rule: str) -> None:
    start = at("2026-02-05 09:00")
    whole, head, tail, _, _ = halves(rule, start, _fourth(rule, start))

    assert head + tail == whole[: len(head) + len(tail)]
    assert len(head) == 3 and tail[0] == whole[3]
    if "COUNT" in rule:
        assert head + tail == whole


def _fourth(rule: str, start: datetime) -> datetime:
    pattern = parse_pattern(rule, start=start, end=start + HOUR, tz=NY)
    return occurrences(start=start, end=start + HOUR, tz=NY, pattern=pattern, limit=4)[0][3].start


def test_a_split_count_rule_keeps_count_and_an_open_rule_gets_an_until_just_before() -> None:
    start = at("2026-03-02 09:00")
    _, _, _, head, tail = halves("FREQ=WEEKLY;COUNT=10", start, at("2026-03-23 09:00"))
    assert (head.rrule, tail.rrule) == ("FREQ=WEEKLY;COUNT=3", "FREQ=WEEKLY;COUNT=7")
    _, head_starts, _, head, tail = halves("FREQ=WEEKLY", start, at("2026-03-23 09:00"))
    assert head.rrule == "FREQ=WEEKLY;UNTIL=20260323T125959Z" and tail.rrule == "FREQ=WEEKLY"
    assert head_starts == days(2026, 3, 2, 9, 16)


def test_an_all_day_split_ends_the_head_the_day_before() -> None:
    start = at("2026-03-02 00:00")
    _, _, _, head, tail = halves("FREQ=DAILY;COUNT=6", start, at("2026-03-05 00:00"), is_all_day=True)
    assert (head.rrule, tail.rrule) == ("FREQ=DAILY;COUNT=3", "FREQ=DAILY;COUNT=3")
    _, head_starts, tail_starts, head, _ = halves("FREQ=DAILY", start, at("2026-03-05 00:00"), is_all_day=True)
    assert head.rrule == "FREQ=DAILY;UNTIL=20260304"
    assert head_starts == days(2026, 3, 2, 3, 4, time="00:00")
    assert tail_starts[:2] == days(2026, 3, 5, 6, time="00:00")


def test_a_split_at_an_instant_moved_out_of_a_dst_gap_keeps_the_rules_wall_time() -> None:
    # 02:30 daily: on 8 March 2026 it is 03:30 EDT. A tail starting there must go on at 02:30, not 03:30.
    _, _, tail_starts, _, tail = halves("FREQ=DAILY;COUNT=5", at("2026-03-06 02:30"), utc("2026-03-08 07:30"))
    assert tail.rrule == "FREQ=DAILY;COUNT=3;BYSECOND=0;BYMINUTE=30;BYHOUR=2"
    assert tail_starts == ["2026-03-08 03:30", "2026-03-09 02:30", "2026-03-10 02:30"]


def test_exdates_and_rdates_go_to_their_side() -> None:
    start = at("2026-03-02 09:00")
    value = {
        "rrule": "FREQ=WEEKLY;COUNT=6",
        "exdates": ["2026-03-09T09:00:00", "2026-03-30T09:00:00"],
        "rdates": ["2026-03-04T09:00:00", "2026-03-25T09:00:00"],
    }
    pattern = parse_pattern(value, start=start, end=start + HOUR, tz=NY)
    head, tail = split(start=start, end=start + HOUR, tz=NY, pattern=pattern, at=at("2026-03-23 09:00"))
    assert [d.astimezone(ZoneInfo(NY)).day for d in head.exdates + head.rdates] == [9, 4]
    assert [d.astimezone(ZoneInfo(NY)).day for d in tail.exdates + tail.rdates] == [30, 25]


@pytest.mark.parametrize(
    ("cut", "message"),
    [
        ("2026-03-02 09:00", "after its first occurrence"),
        ("2026-03-04 09:00", "no occurrence starting at that time"),  # an RDATE alone
        ("2026-03-10 09:00", "no occurrence starting at that time"),
    ],
)
def test_split_refusals(cut: str, message: str) -> None:
    start = at("2026-03-02 09:00")
    pattern = parse_pattern(
        {"rrule": "FREQ=WEEKLY;COUNT=4", "rdates": ["2026-03-04T09:00:00"]}, start=start, end=start + HOUR, tz=NY
    )
    with pytest.raises(RecurrenceError, match=message):
        split(start=start, end=start + HOUR, tz=NY, pattern=pattern, at=at(cut))


def test_a_split_that_leaves_the_head_nothing_is_refused() -> None:
    start = at("2026-03-02 09:00")
    pattern = parse_pattern(
        {"rrule": "FREQ=WEEKLY;COUNT=4", "exdates": ["2026-03-02T09:00:00"]}, start=start, end=start + HOUR, tz=NY
    )
    with pytest.raises(RecurrenceError, match="every occurrence before that one is excluded"):
        split(start=start, end=start + HOUR, tz=NY, pattern=pattern, at=at("2026-03-09 09:00"))


def test_is_occurrence_knows_rule_rdate_and_exdate_instants() -> None:
    start = at("2026-03-02 09:00")
    value = {"rrule": "FREQ=WEEKLY;COUNT=3", "exdates": ["2026-03-09T09:00:00"], "rdates": ["2026-03-04T10:00:00"]}
    pattern = parse_pattern(value, start=start, end=start + HOUR, tz=NY)

    def check(text: str) -> bool:
        return is_occurrence(start=start, end=start + HOUR, tz=NY, pattern=pattern, at=at(text))

    assert [check(t) for t in ("2026-03-02 09:00", "2026-03-04 10:00", "2026-03-16 09:00")] == [True] * 3
    assert [check(t) for t in ("2026-03-09 09:00", "2026-03-16 09:30", "2026-03-23 09:00")] == [False] * 3


def test_iter_occurrences_is_the_list_produced_lazily() -> None:
    start = at("2026-03-02 09:00")
    pattern = parse_pattern("FREQ=DAILY;BYDAY=MO,WE,FR", start=start, end=start + HOUR, tz=NY)
    window = {"window_start": at("2026-04-01 00:00"), "window_end": at("2026-06-01 00:00")}

    lazy = iter_occurrences(start=start, end=start + HOUR, tz=NY, pattern=pattern, **window)
    listed, _ = occurrences(start=start, end=start + HOUR, tz=NY, pattern=pattern, limit=1000, **window)

    assert next(lazy) == listed[0]
    assert [listed[0], *lazy] == listed


@pytest.mark.parametrize(
    ("rule", "weekdays"),
    [
        ("FREQ=WEEKLY", {0}),  # DTSTART's Monday
        ("FREQ=WEEKLY;BYDAY=TU,TH", {0, 1, 3}),  # and DTSTART itself, which is always an instance
        ("FREQ=DAILY", None),
        ("FREQ=MONTHLY;BYDAY=1FR", {0, 4}),
        ("FREQ=YEARLY", None),
    ],
)
def test_wall_slot_of_rules_with_one_time_of_day(rule: str, weekdays) -> None:
    start = at("2026-03-02 09:30")
    pattern = parse_pattern(rule, start=start, end=start + HOUR, tz=NY)

    slot = wall_slot(start=start, tz=NY, pattern=pattern)

    assert slot.time_of_day == timedelta(hours=9, minutes=30)
    assert slot.weekdays == (None if weekdays is None else frozenset(weekdays))


@pytest.mark.parametrize(
    "value",
    ["FREQ=HOURLY;INTERVAL=2", "FREQ=DAILY;BYHOUR=9,17", {"rrule": "FREQ=DAILY", "rdates": ["2026-03-04T13:00"]}],
)
def test_wall_slot_is_none_for_several_times_of_day(value: object) -> None:
    start = at("2026-03-02 09:00")
    pattern = parse_pattern(value, start=start, end=start + HOUR, tz=NY)

    assert wall_slot(start=start, tz=NY, pattern=pattern) is None
