"""The direct VEVENT writer (ical/export.py `_event_text`) writes exactly the bytes the `icalendar` library
renders from `event_components`, on every fixture calendar and on the shapes the fixtures may lack."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from events.models import Event
from ical import export
from ical.parse import parse_calendar
from ical.serializers import import_plan
from ical.services import ImportRejected, calendar_import
from tests.factories import UserFactory, make_event

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).parent / "fixtures"
FILES = sorted(FIXTURES.glob("*/*.ics"))

VARIETY = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
BEGIN:VEVENT
UID:all-day-series
DTSTART;VALUE=DATE:20300104
DTEND;VALUE=DATE:20300106
RRULE:FREQ=WEEKLY;BYDAY=FR,SA;WKST=SU;COUNT=20
EXDATE;VALUE=DATE:20300111
RDATE;VALUE=DATE:20300301,20300302
SUMMARY;LANGUAGE=de:Ganztägig\\, mit Kommas\\; und Semikolon
DESCRIPTION;ALTREP="cid:part1.0001@example.org":Zeile eins\\nZeile zwei — äöü ß €€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€
X-LIC-NOTE;X-A=1;X-B="a:b":kept
END:VEVENT
BEGIN:VEVENT
UID:all-day-series
RECURRENCE-ID;VALUE=DATE:20300118
DTSTART;VALUE=DATE:20300119
DTEND;VALUE=DATE:20300120
SUMMARY:Verschoben
BEGIN:VALARM
ACTION:DISPLAY
TRIGGER:-PT15M
DESCRIPTION:Bald
END:VALARM
END:VEVENT
BEGIN:VEVENT
UID:all-day-series
RECURRENCE-ID;VALUE=DATE:20300125
STATUS:CANCELLED
END:VEVENT
BEGIN:VEVENT
UID:repeated-hour
DTSTART:20301027T003000Z
DTEND:20301027T013000Z
X-WR-NOTE:the second 02:30 in Berlin, written in UTC
END:VEVENT
BEGIN:VEVENT
UID:daily-in-berlin
DTSTART;TZID=Europe/Berlin:20300320T090000
DURATION:PT45M
RRULE:FREQ=DAILY;UNTIL=20300410T070000Z
EXDATE;TZID=Europe/Berlin:20300322T090000,20300323T090000
LOCATION:Raum 1\\, Haus 2
ATTENDEE;CN="Doe, John";ROLE=REQ-PARTICIPANT:mailto:john@example.com
CATEGORIES:a,b
END:VEVENT
BEGIN:VEVENT
UID:daily-in-berlin
RECURRENCE-ID;TZID=Europe/Berlin:20300325T090000
DTSTART;TZID=Europe/Berlin:20300325T110000
DTEND;TZID=Europe/Berlin:20300325T120000
LOCATION:Elsewhere
END:VEVENT
END:VCALENDAR
""".replace("\n", "\r\n")


def _library(event) -> bytes:
    return b"".join(component.to_ical(sorted=False) for component in export.event_components(event))


def _import(user, data: bytes) -> list[Event]:
    parsed = parse_calendar(data, "America/Chicago")
    try:
        planned = import_plan(actor=user, parsed=parsed)
    except ImportRejected:
        pytest.skip("the file holds objects we refuse (tests/ical/test_import.py covers them)")
    result = calendar_import(actor=user, planned=planned, conflict_strategy="allow")
    return list(Event.objects.filter(pk__in=result.created))


@pytest.mark.parametrize("path", FILES, ids=[f"{p.parent.name}/{p.name}" for p in FILES])
def test_direct_writer_matches_the_library_on_fixture_files(path):
    for event in _import(UserFactory(), path.read_bytes()):
        assert export._event_text(event) == _library(event), event.uid


def test_direct_writer_matches_the_library_on_other_shapes(user):
    events = _import(user, VARIETY.encode())
    events += [
        make_event(user, title="In a UTC-like zone", timezone="Etc/UTC"),
        make_event(user, title="x" * 73, description="é" * 60, timezone="Asia/Kolkata"),
        # Lines of 74 and 75 octets: the library folds from 75 on (a multi-byte character counts its octets).
        make_event(user, title="t" * 66, description="é" * 31 + "a", location="é" * 31),
        make_event(user, title="t" * 67, description="é" * 31 + "ab"),
        make_event(user, title="Daily", recurrence={"rrule": "FREQ=DAILY;COUNT=3"}, timezone="America/New_York"),
    ]
    assert len(events) == 8
    for event in events:
        assert export._event_text(event) == _library(event), event.uid
    repeated = next(e for e in events if e.uid == "repeated-hour")
    assert b"DTSTART:20301027T003000Z" in export._event_text(repeated)


def test_a_kept_property_named_like_a_modelled_one_is_left_to_the_library():
    # The library writes a property's values together; the direct writer cannot, so it hands the VEVENT over.
    event = Event(
        pk=1,
        uid="u",
        title="T",
        location="Room",
        start_time=datetime(2030, 1, 1, 9, tzinfo=UTC),
        end_time=datetime(2030, 1, 1, 10, tzinfo=UTC),
        created_at=datetime(2029, 1, 1, tzinfo=UTC),
        updated_at=datetime(2029, 1, 1, tzinfo=UTC),
        ical_extra={"lines": ["X-A:1", "LOCATION:Second"]},
    )
    with pytest.raises(export._Unknown):
        export._vevent_text(*export._vevents(event)[0])
    text = export._event_text(event)
    assert text == _library(event)
    assert b"LOCATION:Room\r\nLOCATION:Second\r\nX-A:1\r\n" in text
