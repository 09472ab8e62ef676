"""Nothing lost in a round trip, on real files: import, export, compare, and import the export again.

For every fixture calendar (tests/ical/fixtures: the `icalendar` package's own test calendars and Google,
Outlook, Apple and Thunderbird style exports) the export of each imported event must give, per UID:
- the same occurrences (start and end instants), both files expanded by `recurring-ical-events`;
- the same SUMMARY, DESCRIPTION and LOCATION, per occurrence;
- every property we do not model, with its parameters, and every subcomponent (VALARM ...), on the series
  and on each override;
and importing the export again changes nothing (every event `unchanged`).
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import recurring_ical_events
from icalendar import Calendar

from events.models import Event
from ical.mapping import BOOKKEEPING
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).parent / "fixtures"
FILES = sorted((FIXTURES / "icalendar").glob("*.ics")) + sorted((FIXTURES / "apps").glob("*.ics"))
FLOATING = "America/Chicago"  # the ?timezone= of the import: floating times and all-day events
WINDOW = (datetime(1990, 1, 1, tzinfo=UTC), datetime(2036, 1, 1, tzinfo=UTC))
# Compared as occurrences, or ours by definition (ical/mapping.py); STATUS:CANCELLED of an override is its EXDATE.
NOT_EXTRA = {"DTSTART", "DTEND", "DURATION", "RRULE", "RDATE", "EXDATE", "RECURRENCE-ID", *BOOKKEEPING}


def _import(client, data: bytes) -> dict:
    response = client.post(f"/api/events/import?timezone={FLOATING}", data=data, content_type="text/calendar")
    assert response.status_code == 200, response.content
    return response.json()


def _instant(value) -> datetime:
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=ZoneInfo(FLOATING))).astimezone(UTC)
    assert isinstance(value, date)
    return datetime(value.year, value.month, value.day, tzinfo=ZoneInfo(FLOATING)).astimezone(UTC)


def _occurrences(calendar: Calendar, uid: str) -> list[tuple]:
    only = Calendar()
    for component in calendar.subcomponents:
        if component.name == "VTIMEZONE" or str(component.get("UID")) == uid:
            only.add_component(component)
    cancelled = {
        _instant(c["RECURRENCE-ID"].dt)
        for c in only.walk("VEVENT")
        if "RECURRENCE-ID" in c and str(c.get("STATUS", "")).upper() == "CANCELLED"
    }
    found = []
    for o in recurring_ical_events.of(only).between(*WINDOW):
        start = o["DTSTART"].dt
        if _instant(start) in cancelled:
            continue  # the other expander lists cancelled instances; they are not occurrences
        end = o["DTEND"].dt if "DTEND" in o else start
        if not isinstance(start, datetime) and _instant(end) == _instant(start):
            # RFC 5545 §3.6.1: a DATE DTSTART without DTEND (or with DTEND = DTSTART) lasts one day.
            end = date.fromordinal(start.toordinal() + 1)
        texts = (str(o.get("SUMMARY", "")), str(o.get("DESCRIPTION", "")), str(o.get("LOCATION", "")))
        found.append((_instant(start), _instant(end), *texts))
    return sorted(found)


def _extras(component) -> Counter:
    """Unmodelled properties (name, value, parameters) and subcomponents, as a multiset."""
    found = Counter()
    for name, value in component.property_items(recursive=False, sorted=True):
        if name in ("BEGIN", "END") or name in NOT_EXTRA:
            continue
        if name == "STATUS" and str(value).upper() == "CANCELLED" and "RECURRENCE-ID" in component:
            continue
        params = tuple(
            sorted((k, str(v)) for k, v in getattr(value, "params", {}).items() if k not in ("TZID", "VALUE"))
        )
        if name in ("SUMMARY", "DESCRIPTION", "LOCATION"):
            if params:  # the values themselves are compared per occurrence
                found[(name, "params", params)] += 1
            continue
        found[(name, value.to_ical(), params)] += 1
    for sub in component.subcomponents:
        found[("sub", sub.to_ical(sorted=True))] += 1
    return found


def _by_recurrence(calendar: Calendar, uid: str) -> dict:
    found = {}
    for component in calendar.walk("VEVENT"):
        if str(component.get("UID")) != uid:
            continue
        rid = component.get("RECURRENCE-ID")
        if rid is not None and str(component.get("STATUS", "")).upper() == "CANCELLED":
            continue  # a cancelled occurrence comes back as an EXDATE
        found[_instant(rid.dt) if rid is not None else None] = _extras(component)
    return found


def _instant_uids(data: bytes) -> set[str]:
    """UIDs of VEVENTs that take no time: a DATE-TIME DTSTART with no DTEND and no DURATION (RFC 5545 §3.6.1),
    or with a DTEND equal to it, or DURATION:PT0S."""
    found = set()
    for component in Calendar.from_ical(data).walk("VEVENT"):
        start = component.get("DTSTART")
        if start is None or not isinstance(start.dt, datetime):
            continue
        end, duration = component.get("DTEND"), component.get("DURATION")
        if (
            (end is None and duration is None)
            or (end is not None and end.dt == start.dt)
            or (duration is not None and not duration.dt)
        ):
            found.add(str(component.get("UID")))
    return found


FILES_WITH_INSTANTS = [p for p in FILES if _instant_uids(p.read_bytes())]


def test_the_fixtures_hold_instants():
    assert len(FILES_WITH_INSTANTS) >= 12


@pytest.mark.parametrize("path", FILES_WITH_INSTANTS, ids=[f"{p.parent.name}/{p.name}" for p in FILES_WITH_INSTANTS])
def test_an_instant_lasts_one_minute_and_is_written_back_as_it_came(api, path):
    client = api.as_user(UserFactory())
    original = path.read_bytes()
    ids = _import(client, original)["created"]
    source = {str(c["UID"]): c for c in Calendar.from_ical(original).walk("VEVENT") if "RECURRENCE-ID" not in c}
    instants = _instant_uids(original)
    for event in Event.objects.filter(pk__in=ids, uid__in=instants):
        assert event.end_time - event.start_time == timedelta(minutes=1), event.uid
        exported = Calendar.from_ical(client.get(f"/api/events/{event.pk}/ics").content)
        [master] = [c for c in exported.walk("VEVENT") if "RECURRENCE-ID" not in c]
        theirs = source[event.uid]
        assert ("DTEND" in master, "DURATION" in master) == ("DTEND" in theirs, "DURATION" in theirs), event.uid


@pytest.mark.parametrize("path", FILES, ids=[f"{p.parent.name}/{p.name}" for p in FILES])
def test_import_export_round_trip(api, path):
    client = api.as_user(UserFactory())
    original = path.read_bytes()
    result = _import(client, original)
    ids = result["created"]
    assert ids and not result["updated"]
    source = Calendar.from_ical(original)
    for event in Event.objects.filter(pk__in=ids):
        response = client.get(f"/api/events/{event.pk}/ics")
        assert response.status_code == 200
        exported = Calendar.from_ical(response.content)
        assert _occurrences(exported, event.uid) == _occurrences(source, event.uid), event.uid
        theirs, ours = _by_recurrence(source, event.uid), _by_recurrence(exported, event.uid)
        assert {key: ours.get(key) for key in theirs} == theirs, event.uid
        # An override the source did not have (an RDATE PERIOD's own length) carries nothing of its own.
        assert all(not extras for key, extras in ours.items() if key not in theirs), event.uid

    # The export is a fixed point: importing it again finds every event already equal.
    everything = client.get(f"/api/events/{ids[0]}/ics")  # one at a time: each event's own file
    for event_id in ids:
        again = _import(client, client.get(f"/api/events/{event_id}/ics").content)
        assert again["unchanged"] == [event_id], again
    assert everything.status_code == 200
    assert Event.objects.filter(pk__in=ids, version=1).count() == len(ids)
