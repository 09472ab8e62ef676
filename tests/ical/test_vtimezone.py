"""Exported VTIMEZONEs are right on their own, from the event's first time on and forever after: a client
that reads only the VTIMEZONE (not the IANA name) gets zoneinfo's offset for every occurrence."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, available_timezones

import pytest
import recurring_ical_events
import vobject
from icalendar import Calendar, Timezone

from ical.vtimezone import _listed, _Posix, _zone_file, vtimezone
from tests.factories import make_event

pytestmark = pytest.mark.django_db


def _points(tzid: str, first: int, years: int) -> list[datetime]:
    """Instants around each of the zone's changes in [first, first + years), and one a month."""
    listed, footer = _listed(_zone_file(tzid))
    changes = [datetime.fromtimestamp(seconds, UTC) for seconds in listed]
    for year in range(first, first + years):
        changes += [instant.replace(tzinfo=UTC) for instant, _, _ in _Posix.parse(footer).changes(year)]
    points = [change + timedelta(minutes=m) for change in changes for m in (-61, -1, 0, 1, 61)]
    points += [datetime(y, m, 1, 12, tzinfo=UTC) for y in range(first, first + years) for m in range(1, 13)]
    return [p for p in points if datetime(first, 1, 1, tzinfo=UTC) <= p < datetime(first + years, 1, 1, tzinfo=UTC)]


def _wrong_offsets(tzid: str, first: int, years: int) -> list[str]:
    """Wall times (as the export writes them) that the VTIMEZONE, read alone, puts at another instant."""
    theirs = Timezone.from_ical(vtimezone(tzid, first).to_ical()).to_tz(lookup_tzid=False)
    zone, wrong = ZoneInfo(tzid), []
    for instant in _points(tzid, first, years):
        wall = instant.astimezone(zone)
        if wall.replace(fold=0).astimezone(UTC) != instant:
            continue  # the second pass of a repeated hour: the export writes that one in UTC
        if wall.replace(tzinfo=theirs, fold=0).utcoffset() != wall.utcoffset():
            wrong.append(wall.isoformat())
    return wrong


@pytest.mark.parametrize(
    "tzid",
    [
        "Europe/Berlin",
        "America/New_York",
        "Australia/Sydney",  # daylight time across the new year
        "Australia/Lord_Howe",  # a half-hour change
        "Europe/Dublin",  # "daylight" time in winter (negative DST)
        "Africa/Cairo",  # the day after the last Thursday: M10.5.4/24, across into November
        "America/Santiago",  # M9.1.6/24
        "America/Nuuk",  # M3.5.0/-1: the day before
        "Asia/Jerusalem",  # M3.4.4/26
        "Asia/Gaza",  # listed changes until the 2080s, then the rule
        "Africa/Casablanca",  # changes around Ramadan, listed one by one until 2087
        "Asia/Tokyo",  # no daylight time
    ],
)
def test_a_vtimezone_read_alone_gives_zoneinfos_offsets_for_60_years(tzid):
    assert _wrong_offsets(tzid, 2030, 60) == []


def test_every_zone_of_the_database_from_two_starts():
    wrong = {
        (tzid, first): found
        for tzid in sorted(available_timezones())
        for first in (1995, 2030)
        if (found := _wrong_offsets(tzid, first, 8 if first == 1995 else 30)[:3])
    }
    assert wrong == {}


def test_the_rule_is_written_once_not_year_by_year():
    text = vtimezone("Europe/Berlin", 2030).to_ical().decode()
    assert "RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3" in text and "RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10" in text
    assert "RDATE" not in text and text.count("BEGIN:") <= 6


def _exported(api, user, tzid: str) -> bytes:
    event = make_event(
        user, start=datetime(2030, 1, 7, 8, tzinfo=UTC), timezone=tzid, recurrence={"rrule": "FREQ=WEEKLY"}
    )
    body = api.as_user(user).get(f"/api/events/{event.pk}/ics").content
    # A TZID no reader can look up, so the VTIMEZONE is all it has (one per zone: the icalendar library keeps
    # the custom zones it has read in a registry for the whole process).
    custom = "X-" + tzid.replace("/", "-")
    return body.replace(f"TZID:{tzid}".encode(), f"TZID:{custom}".encode()).replace(
        f"TZID={tzid}".encode(), f"TZID={custom}".encode()
    )


@pytest.mark.parametrize("tzid", ["Europe/Berlin", "America/New_York", "Australia/Sydney"])
def test_an_unbounded_series_30_years_out_keeps_its_wall_time(api, user, tzid):
    # 2030-01-07 08:00 UTC is a Monday; the series repeats that wall time, whatever the offset of the day.
    body = _exported(api, user, tzid)
    zone = ZoneInfo(tzid)
    wall = datetime(2030, 1, 7, 8, tzinfo=UTC).astimezone(zone).time()
    expected = [
        datetime.combine(date(2060, 1, 5) + timedelta(weeks=n), wall, tzinfo=zone).astimezone(UTC) for n in range(53)
    ]
    expected = [moment for moment in expected if moment.year == 2060]

    calendar = Calendar.from_ical(body)
    found = recurring_ical_events.of(calendar).between(
        datetime(2060, 1, 1, tzinfo=UTC), datetime(2061, 1, 1, tzinfo=UTC)
    )
    assert sorted(o["DTSTART"].dt.astimezone(UTC) for o in found) == sorted(
        e for e in expected if e >= datetime(2060, 1, 1, tzinfo=UTC)
    )

    parsed = vobject.readOne(body.decode())
    theirs = parsed.vevent.dtstart.value.tzinfo  # vobject builds it from the VTIMEZONE
    for moment in expected:
        local = moment.astimezone(zone).replace(tzinfo=None)
        assert local.replace(tzinfo=theirs).utcoffset() == moment.astimezone(zone).utcoffset(), moment
