"""Independent checks of every export: a second expander and two other readers.

Each recurrence case of the suite (the RFC 5545 §3.8.5.3 examples, the DST cases, all-day series in
far-apart zones, series with EXDATE, RDATE, moved and cancelled occurrences) is created through the API,
exported with GET /api/events/{id}/ics and expanded by `recurring-ical-events`, a widely used expander
that shares no code with ours: it must give exactly the instants (starts and ends) of our
/occurrences. Every export must also parse with `icalendar` and with `vobject`'s reader.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import recurring_ical_events
import vobject
from icalendar import Calendar

from tests.factories import UserFactory
from tests.helpers import create_series
from tests.rfc5545_examples import RFC_EXAMPLES

pytestmark = pytest.mark.django_db

NY = "America/New_York"


@pytest.fixture
def client(api, db):
    return api.as_user(UserFactory(username="me"))


def _ours(client, event_id, limit: int) -> list[tuple[datetime, datetime]]:
    body = client.get(f"/api/events/{event_id}/occurrences", {"limit": limit}).json()
    return [(datetime.fromisoformat(o["start_time"]), datetime.fromisoformat(o["end_time"])) for o in body["results"]]


def _instant(value, tz: str) -> datetime:
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    return datetime(value.year, value.month, value.day, tzinfo=ZoneInfo(tz)).astimezone(UTC)


def _theirs(ics: bytes, start: datetime, end: datetime, tz: str) -> list[tuple[datetime, datetime]]:
    calendar = Calendar.from_ical(ics)
    found = recurring_ical_events.of(calendar).between(start, end)
    return sorted((_instant(e["DTSTART"].dt, tz), _instant(e["DTEND"].dt, tz)) for e in found)


def _export(client, event_id) -> bytes:
    response = client.get(f"/api/events/{event_id}/ics")
    assert response.status_code == 200
    ics = response.content
    assert b"\r\n" in ics and all(len(line) <= 75 for line in ics.split(b"\r\n"))  # folded at 75 octets
    assert Calendar.from_ical(ics).get_missing_tzids() == set()  # icalendar reads it: a VTIMEZONE per TZID
    parsed = vobject.readOne(ics.decode())  # and so does vobject, with its own parser
    assert parsed.vevent.uid.value
    return ics


def _in_gap(start: datetime, wall_start: str, tz: str) -> bool:
    """Whether the series' wall-clock start time does not exist on `start`'s local day (a spring-forward gap)."""
    zone = ZoneInfo(tz)
    day = start.astimezone(zone).date()
    wall = datetime.combine(day, datetime.strptime(wall_start, "%H:%M").time())
    return wall.replace(tzinfo=zone).astimezone(UTC).astimezone(zone).replace(tzinfo=None) != wall


def assert_same_occurrences(client, event_id: int, tz: str, limit: int = 400, wall_start: str | None = None) -> None:
    ours = [(s.astimezone(UTC), e.astimezone(UTC)) for s, e in _ours(client, event_id, limit)]
    assert ours
    ics = _export(client, event_id)
    # The window spans exactly our occurrences (an unbounded series: the first `limit` of them).
    window = (ours[0][0], ours[-1][0] + timedelta(seconds=1))
    if b"DTSTART;VALUE=DATE" in ics:  # all-day: the window in local days, as the other expander reads dates
        window = (
            ours[0][0].astimezone(ZoneInfo(tz)).date(),
            ours[-1][0].astimezone(ZoneInfo(tz)).date() + timedelta(1),
        )
    theirs = _theirs(ics, *window, tz)
    assert [start for start, _ in theirs] == [start for start, _ in ours]
    exact = ours[0][1] - ours[0][0]
    zone = ZoneInfo(tz)
    first_wall = ours[0][1].astimezone(zone).replace(tzinfo=None) - ours[0][0].astimezone(zone).replace(tzinfo=None)
    for (start, their_end), (_, our_end) in zip(theirs, ours, strict=True):
        if (wall_start and _in_gap(start, wall_start, tz)) or first_wall != exact:
            # Two known differences, both where RFC 5545 is on our side. When the wall-clock start falls in a
            # DST gap, both move the start forward by the gap (§3.3.5), but recurring-ical-events takes the end
            # from the unmoved wall time. When the event's own DTSTART..DTEND spans a DST change, we give every
            # occurrence the same exact duration (§3.8.5.3: "the same exact duration will apply to all the
            # members"), while recurring-ical-events repeats the wall-clock span. Either way: within the offset
            # change, and ours is the event's exact length.
            assert abs(their_end - our_end) <= timedelta(hours=1)
            assert our_end - start == exact
            continue
        assert their_end == our_end


@pytest.mark.parametrize(
    ("dtstart", "rule"),
    [
        pytest.param(dtstart, rule, id=f"{name} [{i}]")
        for name, dtstart, rules, _expected, _finite in RFC_EXAMPLES
        for i, rule in enumerate(rules)
    ],
)
def test_rfc5545_examples_expand_the_same(client, dtstart, rule):
    assert_same_occurrences(client, create_series(client, start=dtstart, tz=NY, rule=rule)["id"], NY, limit=300)


@pytest.mark.parametrize(
    ("start", "tz", "rule"),
    [
        ("2026-02-23 09:00", NY, "FREQ=WEEKLY;BYDAY=MO"),
        ("2026-02-23 09:00", "Europe/Berlin", "FREQ=WEEKLY;BYDAY=MO"),
        ("2026-02-23 09:00", "Australia/Sydney", "FREQ=WEEKLY;BYDAY=MO"),
        ("2026-03-07 02:30", NY, "FREQ=DAILY;COUNT=3"),  # a wall time in the spring gap
        ("2026-03-28 02:30", "Europe/Berlin", "FREQ=DAILY;COUNT=3"),
        ("2026-11-01 01:30", NY, "FREQ=DAILY;COUNT=2"),  # a wall time that occurs twice
        ("2026-10-25 02:30", "Europe/Berlin", "FREQ=DAILY;COUNT=2"),
        ("2026-03-02 09:00", "UTC", "FREQ=WEEKLY;COUNT=10"),
        ("2026-01-31 18:00", "Asia/Tokyo", "FREQ=MONTHLY;BYMONTHDAY=-1;COUNT=14"),
    ],
)
def test_dst_cases_expand_the_same(client, start, tz, rule):
    assert_same_occurrences(
        client, create_series(client, start=start, tz=tz, rule=rule)["id"], tz, wall_start=start[-5:]
    )


@pytest.mark.parametrize("tz", ["Asia/Tokyo", NY, "Pacific/Kiritimati", "Pacific/Pago_Pago", "Europe/Berlin"])
def test_all_day_series_expand_the_same(client, tz):
    event_id = create_series(
        client, start="2026-03-06 00:00", tz=tz, rule="FREQ=DAILY;COUNT=40", hours=24, is_all_day=True
    )["id"]
    assert_same_occurrences(client, event_id, tz)


def test_exdates_rdates_and_changed_occurrences_expand_the_same(client):
    tz = "Europe/Berlin"
    event_id = create_series(
        client,
        start="2026-03-02 09:00",
        tz=tz,
        rule={
            "rrule": "FREQ=WEEKLY;COUNT=10",
            "exdates": ["2026-03-09T09:00:00"],
            "rdates": ["2026-03-11T15:00:00"],
        },
    )["id"]
    moved = client.patch(
        f"/api/events/{event_id}/occurrences/2026-03-16T09:00:00%2B01:00",
        {"start_time": "2026-03-17T11:00:00+01:00", "end_time": "2026-03-17T12:30:00+01:00", "title": "Moved"},
        format="json",
    )
    assert moved.status_code == 200, moved.content
    cancelled = client.delete(f"/api/events/{event_id}/occurrences/2026-03-30T09:00:00%2B02:00")
    assert cancelled.status_code == 204, cancelled.content
    assert_same_occurrences(client, event_id, tz)


def test_a_single_and_an_all_day_event_export_cleanly(client):
    single = create_series(client, start="2026-05-01 10:00", tz="America/Sao_Paulo", rule=None, title="Once")["id"]
    assert_same_occurrences(client, single, "America/Sao_Paulo")
    all_day = create_series(client, start="2026-05-01 00:00", tz=NY, rule=None, hours=48, is_all_day=True)["id"]
    ics = _export(client, all_day)
    event = Calendar.from_ical(ics).walk("VEVENT")[0]
    assert (event["DTSTART"].dt, event["DTEND"].dt) == (date(2026, 5, 1), date(2026, 5, 3))
    assert event["DTSTART"].params.get("VALUE") == "DATE"
