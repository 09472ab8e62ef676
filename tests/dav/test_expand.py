"""calendar-data with `expand` (RFC 4791 §9.6.5) and `limit-recurrence-set` (§9.6.6) in calendar-query and
calendar-multiget: the instances of a range in UTC, changes applied, checked against recurring-ical-events."""

from datetime import UTC, datetime

import pytest
import recurring_ical_events
from icalendar import Calendar

from tests.helpers import database_state

from .conftest import error_condition, multiget_body, prop, responses

SERIES = """BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//Test//Client//EN\r
BEGIN:VEVENT\r
UID:weekly\r
DTSTAMP:20300101T000000Z\r
DTSTART;TZID=Europe/Paris:20300318T090000\r
DTEND;TZID=Europe/Paris:20300318T100000\r
RRULE:FREQ=WEEKLY;COUNT=6\r
EXDATE;TZID=Europe/Paris:20300401T090000\r
SUMMARY:Weekly\r
X-CLIENT:kept\r
BEGIN:VALARM\r
ACTION:DISPLAY\r
DESCRIPTION:Soon\r
TRIGGER:-PT10M\r
END:VALARM\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:weekly\r
DTSTAMP:20300101T000000Z\r
RECURRENCE-ID;TZID=Europe/Paris:20300325T090000\r
DTSTART;TZID=Europe/Paris:20300325T140000\r
DTEND;TZID=Europe/Paris:20300325T153000\r
SUMMARY:Moved\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:weekly\r
DTSTAMP:20300101T000000Z\r
RECURRENCE-ID;TZID=Europe/Paris:20300415T090000\r
DTSTART;TZID=Europe/Paris:20300415T090000\r
DTEND;TZID=Europe/Paris:20300415T100000\r
SUMMARY:Late change\r
END:VEVENT\r
END:VCALENDAR\r
"""
ALL_DAY = """BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//Test//Client//EN\r
BEGIN:VEVENT\r
UID:holiday\r
DTSTAMP:20300101T000000Z\r
DTSTART;VALUE=DATE:20300320\r
DTEND;VALUE=DATE:20300321\r
RRULE:FREQ=YEARLY\r
SUMMARY:Holiday\r
END:VEVENT\r
END:VCALENDAR\r
"""
# Across the change to summer time in Paris (2030-03-31): 09:00 local is 08:00Z before it, 07:00Z after.
START, END = "20300320T000000Z", "20300412T000000Z"


@pytest.fixture
def calendar(team):
    owner = team["owner"]
    for name, body in (("weekly.ics", SERIES), ("holiday.ics", ALL_DAY)):
        response = owner.request("PUT", owner.writable + name, body, content_type="text/calendar")
        assert response.status_code == 201, response.content
    return owner


def _query(window: str, data: str) -> str:
    return (
        '<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
        f"<D:prop><D:getetag/><C:calendar-data>{data}</C:calendar-data></D:prop>"
        f'<C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT">{window}'
        "</C:comp-filter></C:comp-filter></C:filter></C:calendar-query>"
    )


def _data(response) -> dict[str, Calendar]:
    return {href: Calendar.from_ical(prop(node, "C:calendar-data").text) for href, node in responses(response).items()}


def _utc(text: str) -> datetime:
    return datetime.strptime(text, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)


def test_expand_answers_each_instance_of_the_range_in_utc_as_recurring_ical_events_sees_them(calendar):
    owner = calendar
    expand = f'<C:expand start="{START}" end="{END}"/>'
    answer = _data(owner.report(owner.writable, _query(f'<C:time-range start="{START}" end="{END}"/>', expand)))
    weekly = answer[owner.writable + "weekly.ics"]
    raw = weekly.to_ical().decode()
    assert "VTIMEZONE" not in raw and "RRULE" not in raw and "EXDATE" not in raw and "TZID" not in raw
    instances = weekly.walk("VEVENT")
    got = [(str(e["SUMMARY"]), e["DTSTART"].dt, e["DTEND"].dt, e["RECURRENCE-ID"].dt) for e in instances]
    # The 18 March is before the range, 25 March moved to the afternoon, 1 April cancelled (EXDATE); the
    # clocks change on 31 March, so 09:00 in Paris is 07:00Z after it. Every instance names its occurrence.
    assert [(summary, start.isoformat(), original.isoformat()) for summary, start, _, original in got] == [
        ("Moved", "2030-03-25T13:00:00+00:00", "2030-03-25T08:00:00+00:00"),
        ("Weekly", "2030-04-08T07:00:00+00:00", "2030-04-08T07:00:00+00:00"),
    ]
    for line in ("DTSTART:20300325T130000Z", "DTEND:20300325T143000Z", "RECURRENCE-ID:20300408T070000Z"):
        assert line in raw, line
    assert all(str(e["UID"]) == "weekly" for e in instances)
    weekly_instance = instances[1]
    assert str(weekly_instance["X-CLIENT"]) == "kept" and weekly_instance.walk("VALARM")  # kept with each

    # The reference: the object as stored (GET), expanded by recurring-ical-events over the same range.
    stored = Calendar.from_ical(owner.request("GET", owner.writable + "weekly.ics").content)
    reference = recurring_ical_events.of(stored).between(_utc(START), _utc(END))
    expected = sorted(
        (str(e["SUMMARY"]), e["DTSTART"].dt.astimezone(UTC), e["DTEND"].dt.astimezone(UTC)) for e in reference
    )
    assert sorted((summary, start, end) for summary, start, end, _ in got) == expected


def test_expand_of_an_all_day_series_keeps_dates(calendar):
    owner = calendar
    body = _query("", f'<C:expand start="{START}" end="{END}"/>')
    holiday = _data(owner.report(owner.writable, body))[owner.writable + "holiday.ics"]
    (instance,) = holiday.walk("VEVENT")
    assert instance.to_ical().decode().count("VALUE=DATE") == 3  # DTSTART, DTEND, RECURRENCE-ID
    assert str(instance["DTSTART"].dt) == "2030-03-20" and "RRULE" not in instance


def test_multiget_expands_too_and_an_event_outside_the_range_has_no_instance(calendar):
    owner = calendar
    hrefs = [owner.writable + "weekly.ics", owner.writable + "holiday.ics"]
    props = '<D:getetag/><C:calendar-data><C:expand start="20300408T000000Z" end="20300409T000000Z"/></C:calendar-data>'
    answer = _data(owner.report(owner.writable, multiget_body(hrefs, props)))
    assert [str(e["SUMMARY"]) for e in answer[hrefs[0]].walk("VEVENT")] == ["Weekly"]
    assert answer[hrefs[1]].walk("VEVENT") == []


def test_limit_recurrence_set_keeps_the_master_and_the_overrides_that_touch_the_range(calendar):
    owner = calendar
    limit = '<C:limit-recurrence-set start="20300324T000000Z" end="20300326T000000Z"/>'
    weekly = _data(owner.report(owner.writable, _query("", limit)))[owner.writable + "weekly.ics"]
    events = weekly.walk("VEVENT")
    assert [str(e["SUMMARY"]) for e in events] == ["Weekly", "Moved"]  # not the change of 15 April
    assert "RRULE" in events[0] and weekly.walk("VTIMEZONE")


@pytest.mark.parametrize(
    "data", ['<C:expand start="20300101T000000Z"/>', '<C:expand start="20300201T000000Z" end="20300101T000000Z"/>']
)
def test_a_bad_expand_is_a_400_dav_error(calendar, data):
    owner = calendar
    response = owner.report(owner.writable, _query("", data))
    assert response.status_code == 400
    assert error_condition(response) is None


def test_an_expansion_beyond_the_instance_limit_is_refused(calendar):
    owner = calendar
    daily = SERIES.replace("FREQ=WEEKLY;COUNT=6", "FREQ=DAILY").replace("UID:weekly", "UID:daily")
    assert owner.request("PUT", owner.writable + "daily.ics", daily, content_type="text/calendar").status_code == 201
    before = database_state()
    response = owner.report(owner.writable, _query("", '<C:expand start="20300101T000000Z" end="20400101T000000Z"/>'))
    assert response.status_code == 403
    assert error_condition(response) == "{urn:ietf:params:xml:ns:caldav}max-instances"
    assert b"daily" in response.content
    assert database_state() == before
