"""iCalendar instants (RFC 5545 §3.6.1: a DATE-TIME DTSTART with no DTEND and no DURATION, or one that ends
when it starts): read as one minute from their start, and written back in the form they came in while they
still last that minute."""

from datetime import UTC, datetime, timedelta

import pytest
from icalendar import Calendar

from events.models import Event
from ical.export import calendar_bytes
from ical.parse import parse_calendar
from ical.selectors import event_for_uid
from ical.serializers import ical_changes
from ical.services import event_save_from_ical

pytestmark = pytest.mark.django_db

CAL = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n{body}END:VCALENDAR\r\n"
INSTANTS = """BEGIN:VEVENT\r
UID:only-start\r
DTSTAMP:20300101T000000Z\r
DTSTART;TZID=Europe/Berlin:20300107T090000\r
SUMMARY:Reminder\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:equal-end\r
DTSTAMP:20300101T000000Z\r
DTSTART:20300108T090000Z\r
DTEND:20300108T090000Z\r
SUMMARY:Deadline\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:zero-duration\r
DTSTAMP:20300101T000000Z\r
DTSTART:20300109T090000Z\r
DURATION:PT0S\r
SUMMARY:Ping\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:series\r
DTSTAMP:20300101T000000Z\r
DTSTART;TZID=America/New_York:20300301T080000\r
RRULE:FREQ=DAILY;COUNT=5\r
SUMMARY:Pill\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:series\r
DTSTAMP:20300101T000000Z\r
RECURRENCE-ID;TZID=America/New_York:20300303T080000\r
DTSTART;TZID=America/New_York:20300303T093000\r
SUMMARY:Pill (late)\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:series\r
DTSTAMP:20300101T000000Z\r
RECURRENCE-ID;TZID=America/New_York:20300304T080000\r
DTSTART;TZID=America/New_York:20300304T080000\r
DTEND;TZID=America/New_York:20300304T083000\r
SUMMARY:Pill (with breakfast)\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:all-day\r
DTSTAMP:20300101T000000Z\r
DTSTART;VALUE=DATE:20300110\r
SUMMARY:A whole day, not an instant\r
END:VEVENT\r
"""


def _import(client, text: str) -> dict:
    response = client.post("/api/events/import", data=text.encode(), content_type="text/calendar")
    assert response.status_code == 200, response.content
    return response.json()


def _vevents(client, event: Event) -> dict:
    body = client.get(f"/api/events/{event.pk}/ics").content
    return {
        (str(c["UID"]), c.get("RECURRENCE-ID") and c["RECURRENCE-ID"].dt): c
        for c in Calendar.from_ical(body).walk("VEVENT")
    }


def test_instants_last_one_minute_and_go_out_as_they_came(api, user):
    client = api.as_user(user)
    created = _import(client, CAL.format(body=INSTANTS))["created"]
    events = {e.uid: e for e in Event.objects.filter(pk__in=created)}
    for uid in ("only-start", "equal-end", "zero-duration", "series"):
        assert events[uid].end_time - events[uid].start_time == timedelta(minutes=1), uid
    assert events["all-day"].end_time - events["all-day"].start_time == timedelta(days=1)

    out = {key: c for e in events.values() for key, c in _vevents(client, e).items()}
    only = out[("only-start", None)]
    assert "DTEND" not in only and "DURATION" not in only
    assert only["DTSTART"].dt == datetime(2030, 1, 7, 8, tzinfo=UTC)
    assert out[("equal-end", None)]["DTEND"].dt == out[("equal-end", None)]["DTSTART"].dt
    assert out[("zero-duration", None)]["DURATION"].dt == timedelta(0)
    assert "DTEND" not in out[("zero-duration", None)]
    assert "DTEND" not in out[("series", None)] and "RRULE" in out[("series", None)]
    late = next(c for (uid, rid), c in out.items() if uid == "series" and rid and rid.day == 3)
    assert "DTEND" not in late and late["DTSTART"].dt.hour == 9  # an instant override, moved
    breakfast = next(c for (uid, rid), c in out.items() if uid == "series" and rid and rid.day == 4)
    assert breakfast["DTEND"].dt - breakfast["DTSTART"].dt == timedelta(minutes=30)

    occurrences = client.get(
        f"/api/events/{events['series'].pk}/occurrences",
        {"start": "2030-03-01T00:00:00Z", "end": "2030-03-10T00:00:00Z"},
    ).json()
    lengths = [
        datetime.fromisoformat(o["end_time"]) - datetime.fromisoformat(o["start_time"]) for o in occurrences["results"]
    ]
    assert lengths == [timedelta(minutes=1)] * 3 + [timedelta(minutes=30), timedelta(minutes=1)]

    again = _import(client, CAL.format(body=INSTANTS))  # what came in is what is kept: nothing changes
    assert sorted(again["unchanged"]) == sorted(created) and not again["updated"]


def test_an_instant_given_another_length_is_exported_with_its_real_end(api, user):
    client = api.as_user(user)
    [event_id] = _import(client, CAL.format(body=INSTANTS.split("BEGIN:VEVENT\r\nUID:equal-end")[0]))["created"]
    event = Event.objects.get(pk=event_id)
    end = (event.start_time + timedelta(minutes=30)).isoformat()
    assert client.patch(f"/api/events/{event_id}", {"end_time": end}, format="json").status_code == 200
    [vevent] = _vevents(client, Event.objects.get(pk=event_id)).values()
    assert vevent["DTEND"].dt - vevent["DTSTART"].dt == timedelta(minutes=30)


def test_a_caldav_put_of_an_instant_goes_through_the_shared_service(user):
    # What a CalDAV PUT does (dav/objects.py): parse, find the UID, validate, save through the same service.
    body = CAL.format(body=INSTANTS.split("BEGIN:VEVENT\r\nUID:equal-end")[0]).encode()
    [obj] = parse_calendar(body).objects
    event = event_for_uid(user=user, uid=obj.uid)
    outcome = event_save_from_ical(
        actor=user, event=event, changes=ical_changes(obj=obj, event=event), conflict_strategy="allow"
    )
    assert outcome.outcome == "created"
    saved = Event.objects.get(pk=outcome.event.pk)
    assert (saved.version, saved.end_time - saved.start_time) == (1, timedelta(minutes=1))
    text = calendar_bytes([saved])
    assert b"DTSTART;TZID=Europe/Berlin:20300107T090000\r\n" in text and b"DTEND" not in text


def test_an_instant_moved_stays_one_and_one_given_another_length_does_not_become_one_again(api, user):
    client = api.as_user(user)
    [event_id] = _import(client, CAL.format(body=INSTANTS.split("BEGIN:VEVENT\r\nUID:equal-end")[0]))["created"]
    start = Event.objects.get(pk=event_id).start_time + timedelta(hours=2)
    moved = {"start_time": start.isoformat(), "end_time": (start + timedelta(minutes=1)).isoformat()}
    assert client.patch(f"/api/events/{event_id}", moved, format="json").status_code == 200
    [vevent] = _vevents(client, Event.objects.get(pk=event_id)).values()
    assert "DTEND" not in vevent and "DURATION" not in vevent  # moved: still an instant

    for minutes in (30, 1):  # another length, then one minute again: a one-minute event, not an instant
        end = (start + timedelta(minutes=minutes)).isoformat()
        assert client.patch(f"/api/events/{event_id}", {"end_time": end}, format="json").status_code == 200
    [vevent] = _vevents(client, Event.objects.get(pk=event_id)).values()
    assert vevent["DTEND"].dt - vevent["DTSTART"].dt == timedelta(minutes=1)
    assert "instant" not in Event.objects.get(pk=event_id).ical_extra


def test_an_instant_override_given_another_length_does_not_become_one_again(api, user):
    client = api.as_user(user)
    created = _import(client, CAL.format(body=INSTANTS))["created"]
    series = Event.objects.get(pk__in=created, uid="series")
    late = f"/api/events/{series.pk}/occurrences/2030-03-03T13:00:00Z"  # 08:00 in New York
    assert client.patch(late, {"title": "Pill (late, renamed)"}, format="json").status_code == 200

    def override():
        vevents = _vevents(client, Event.objects.get(pk=series.pk))
        return next(c for (uid, rid), c in vevents.items() if rid and rid.day == 3)

    assert "DTEND" not in override()  # a new title: still an instant
    begins = datetime(2030, 3, 3, 14, 30, tzinfo=UTC)  # 09:30 in New York, where it was moved
    for minutes in (30, 1):
        end = (begins + timedelta(minutes=minutes)).isoformat()
        assert client.patch(late, {"end_time": end}, format="json").status_code == 200, end
    assert override()["DTEND"].dt - override()["DTSTART"].dt == timedelta(minutes=1)
