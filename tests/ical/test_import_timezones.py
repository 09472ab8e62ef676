"""Imported times land at the instant the file meant: IANA and Windows names, custom VTIMEZONEs, floating."""

from datetime import UTC, datetime

import pytest

from events.models import Event
from tests.helpers import assert_problem

pytestmark = pytest.mark.django_db

CUSTOM_BERLIN = """BEGIN:VTIMEZONE\r
TZID:Office time\r
BEGIN:STANDARD\r
DTSTART:19701025T030000\r
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r
TZOFFSETFROM:+0200\r
TZOFFSETTO:+0100\r
END:STANDARD\r
BEGIN:DAYLIGHT\r
DTSTART:19700329T020000\r
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r
TZOFFSETFROM:+0100\r
TZOFFSETTO:+0200\r
END:DAYLIGHT\r
END:VTIMEZONE\r
"""

INVENTED = """BEGIN:VTIMEZONE\r
TZID:Invented\r
BEGIN:STANDARD\r
DTSTART:19700101T000000\r
TZOFFSETFROM:+0330\r
TZOFFSETTO:+0330\r
END:STANDARD\r
BEGIN:DAYLIGHT\r
DTSTART:20300302T020000\r
TZOFFSETFROM:+0330\r
TZOFFSETTO:+0500\r
END:DAYLIGHT\r
END:VTIMEZONE\r
"""


def _calendar(*parts: str) -> bytes:
    return ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\n" + "".join(parts) + "END:VCALENDAR\r\n").encode()


def _event(uid: str, start: str, end: str, rule: str = "") -> str:
    rrule = f"RRULE:{rule}\r\n" if rule else ""
    return f"BEGIN:VEVENT\r\nUID:{uid}\r\nSUMMARY:{uid}\r\n{start}\r\n{end}\r\n{rrule}END:VEVENT\r\n"


def _import(api, user, data: bytes, **params):
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return api.as_user(user).post(f"/api/events/import?{query}", data=data, content_type="text/calendar")


def _starts(api, user, event: Event) -> list[datetime]:
    body = api.as_user(user).get(f"/api/events/{event.pk}/occurrences").json()
    return [datetime.fromisoformat(o["start_time"]).astimezone(UTC) for o in body["results"]]


def test_windows_zone_name(api, user):
    data = _calendar(
        _event(
            "w",
            "DTSTART;TZID=W. Europe Standard Time:20300701T090000",
            "DTEND;TZID=W. Europe Standard Time:20300701T100000",
        )
    )
    assert _import(api, user, data).status_code == 200
    event = Event.objects.get(uid="w")
    assert (event.timezone, event.start_time) == ("Europe/Berlin", datetime(2030, 7, 1, 7, tzinfo=UTC))


def test_custom_vtimezone_becomes_the_iana_zone_that_agrees(api, user):
    data = _calendar(
        CUSTOM_BERLIN,
        _event(
            "c",
            "DTSTART;TZID=Office time:20300320T090000",
            "DTEND;TZID=Office time:20300320T100000",
            "FREQ=WEEKLY;COUNT=3",
        ),
    )
    assert _import(api, user, data).status_code == 200, data
    event = Event.objects.get(uid="c")
    assert event.timezone == "Europe/Berlin"
    # 09:00 local on each side of the change to summer time on 31 March 2030.
    assert _starts(api, user, event) == [
        datetime(2030, 3, 20, 8, tzinfo=UTC),
        datetime(2030, 3, 27, 8, tzinfo=UTC),
        datetime(2030, 4, 3, 7, tzinfo=UTC),
    ]


def test_custom_zone_matching_no_iana_zone_keeps_exact_instants(api, user):
    data = _calendar(
        INVENTED,
        _event(
            "i",
            "DTSTART;TZID=Invented:20300225T090000",
            "DTEND;TZID=Invented:20300225T100000",
            "FREQ=WEEKLY;COUNT=3",
        ),
    )
    assert _import(api, user, data).status_code == 200
    event = Event.objects.get(uid="i")
    # +03:30 until 2 March, +05:00 after: 09:00 local is 05:30Z, then 04:00Z.
    assert _starts(api, user, event) == [
        datetime(2030, 2, 25, 5, 30, tzinfo=UTC),
        datetime(2030, 3, 4, 4, tzinfo=UTC),
        datetime(2030, 3, 11, 4, tzinfo=UTC),
    ]
    unbounded = _calendar(
        INVENTED,
        _event("u", "DTSTART;TZID=Invented:20300225T090000", "DTEND;TZID=Invented:20300225T100000", "FREQ=WEEKLY"),
    )
    problem = assert_problem(_import(api, user, unbounded), 400)
    assert "matches no IANA zone" in problem["errors"][0]["errors"][0]


def test_a_tzid_the_file_does_not_define_is_an_error(api, user):
    data = _calendar(_event("x", "DTSTART;TZID=Nowhere/Special:20300101T090000", "DTEND:20300101T100000Z"))
    problem = assert_problem(_import(api, user, data), 400)
    assert problem["errors"] == [{"index": 0, "uid": "x", "errors": [problem["errors"][0]["errors"][0]]}]
    assert "Nowhere/Special" in problem["errors"][0]["errors"][0]


def test_floating_times_are_read_in_the_timezone_parameter(api, user):
    data = _calendar(_event("f", "DTSTART:20300701T090000", "DTEND:20300701T100000"))
    assert _import(api, user, data, timezone="America/New_York").status_code == 200
    event = Event.objects.get(uid="f")
    assert (event.timezone, event.start_time) == ("America/New_York", datetime(2030, 7, 1, 13, tzinfo=UTC))
    assert_problem(_import(api, user, data, timezone="Mars/Olympus"), 400)
