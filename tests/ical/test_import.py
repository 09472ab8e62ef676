"""POST /api/events/import: every object a normal create or update, all or nothing, nothing lost."""

import pytest
from icalendar import Calendar

from events.models import Event
from history.models import AuditEntry
from tests.helpers import assert_problem

pytestmark = pytest.mark.django_db

CAL = """BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//test//EN\r
{body}END:VCALENDAR\r
"""

SERIES = """BEGIN:VEVENT\r
UID:series-1@example.com\r
DTSTAMP:20300101T000000Z\r
DTSTART;TZID=Europe/Berlin:20300107T090000\r
DTEND;TZID=Europe/Berlin:20300107T100000\r
SUMMARY;LANGUAGE=de:Standup\r
RRULE:FREQ=WEEKLY;COUNT=5\r
EXDATE;TZID=Europe/Berlin:20300114T090000\r
ATTENDEE;CN=Ann;PARTSTAT=ACCEPTED:mailto:ann@example.com\r
CATEGORIES:Work,Team\r
X-CUSTOM;X-P=1:kept\r
BEGIN:VALARM\r
ACTION:DISPLAY\r
TRIGGER:-PT15M\r
DESCRIPTION:Soon\r
END:VALARM\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:series-1@example.com\r
DTSTAMP:20300101T000000Z\r
RECURRENCE-ID;TZID=Europe/Berlin:20300121T090000\r
DTSTART;TZID=Europe/Berlin:20300121T110000\r
DTEND;TZID=Europe/Berlin:20300121T120000\r
SUMMARY:Standup (moved)\r
X-OVERRIDE:yes\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:series-1@example.com\r
DTSTAMP:20300101T000000Z\r
RECURRENCE-ID;TZID=Europe/Berlin:20300128T090000\r
DTSTART;TZID=Europe/Berlin:20300128T090000\r
DTEND;TZID=Europe/Berlin:20300128T100000\r
STATUS:CANCELLED\r
SUMMARY:Standup\r
END:VEVENT\r
"""

TODO = """BEGIN:VTODO\r
UID:todo-1\r
SUMMARY:Not an event\r
END:VTODO\r
"""


def _import(api, user, text, **params):
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return api.as_user(user).post(f"/api/events/import?{query}", data=text.encode(), content_type="text/calendar")


def test_import_creates_series_with_overrides_and_extras(api, user):
    response = _import(api, user, CAL.format(body=SERIES + TODO))
    assert response.status_code == 200, response.content
    body = response.json()
    assert len(body["created"]) == 1 and body["updated"] == [] and body["skipped"] == {"VTODO": 1}
    event = Event.objects.get(pk=body["created"][0])
    assert event.uid == "series-1@example.com" and event.timezone == "Europe/Berlin"
    assert event.recurrence["rrule"] == "FREQ=WEEKLY;COUNT=5"
    assert event.recurrence["exdates"] == ["2030-01-14T08:00:00Z"]
    assert event.exceptions["2030-01-28T08:00:00Z"] == {"cancelled": True}
    moved = event.exceptions["2030-01-21T08:00:00Z"]
    assert moved["start"] == "2030-01-21T10:00:00Z" and moved["title"] == "Standup (moved)"
    assert moved["ical"] == {"lines": ["X-OVERRIDE:yes"]}
    assert "X-CUSTOM;X-P=1:kept" in event.ical_extra["lines"]
    assert "BEGIN:VALARM" in event.ical_extra["lines"]
    assert event.ical_extra["params"] == {"SUMMARY": {"LANGUAGE": "de"}}
    row = event.history.get(version=1)
    assert row.history_change_reason.startswith("iCalendar import")
    assert AuditEntry.objects.filter(action="event.imported").exists()

    # Round trip: the export gives back what came in.
    ics = api.as_user(user).get(f"/api/events/{event.pk}/ics")
    assert ics.status_code == 200 and ics["Content-Type"].startswith("text/calendar")
    cal = Calendar.from_ical(ics.content)
    master, override = cal.walk("VEVENT")
    assert master["SUMMARY"].params["LANGUAGE"] == "de"
    assert str(master["X-CUSTOM"]) == "kept" and master["X-CUSTOM"].params["X-P"] == "1"
    assert master.walk("VALARM")[0]["TRIGGER"].to_ical() == b"-PT15M"
    assert str(master["ATTENDEE"]) == "mailto:ann@example.com"
    assert str(override["X-OVERRIDE"]) == "yes"
    exdates = sorted(d.dt.isoformat() for prop in [master["EXDATE"]] for d in prop.dts)
    assert exdates == ["2030-01-14T09:00:00+01:00", "2030-01-28T09:00:00+01:00"]


def test_reimport_unchanged_makes_no_version_and_change_makes_one(api, user):
    text = CAL.format(body=SERIES)
    first = _import(api, user, text).json()
    event_id = first["created"][0]
    again = _import(api, user, text).json()
    assert again["unchanged"] == [event_id] and again["created"] == []
    assert Event.objects.get(pk=event_id).version == 1
    changed = _import(api, user, text.replace("X-CUSTOM;X-P=1:kept", "X-CUSTOM;X-P=1:changed")).json()
    assert changed["updated"] == [event_id]
    event = Event.objects.get(pk=event_id)
    assert event.version == 2
    assert event.history.get(version=2).history_action == "imported"
    diff = api.as_user(user).get(f"/api/events/{event_id}/diff/1/2").json()
    assert list(diff["changes"]) == ["ical_extra"]
    rollback = api.as_user(user).post(f"/api/events/{event_id}/rollback/1")
    assert rollback.status_code == 200
    assert "X-CUSTOM;X-P=1:kept" in Event.objects.get(pk=event_id).ical_extra["lines"]


def test_one_bad_object_refuses_everything(api, user):
    bad = SERIES.replace("series-1@example.com", "bad").replace("RRULE:FREQ=WEEKLY;COUNT=5", "RRULE:FREQ=SOMETIMES")
    good = SERIES.replace("series-1@example.com", "good")
    response = _import(api, user, CAL.format(body=good + bad))
    body = assert_problem(response, 400)
    assert [e["uid"] for e in body["errors"]] == ["bad"]
    assert Event.objects.count() == 0


@pytest.mark.parametrize(
    "text, where",
    [
        ("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:x\r\n", "has no END"),
        (
            "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:x\r\nbroken folding here\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
            "line 4",
        ),
        ("BEGIN:VCALENDAR\r\n" + "BEGIN:X\r\n" * 10_000 + "END:X\r\n" * 10_000 + "END:VCALENDAR\r\n", "nested"),
        ("\x00\x01\x02junk", "control character"),
        ("not a calendar", "line 1"),
    ],
)
def test_malformed_input_is_a_400_saying_where(api, user, text, where):
    response = _import(api, user, text)
    body = assert_problem(response, 400)
    assert where in str(body["errors"])
    assert Event.objects.count() == 0


def test_binary_junk_is_a_400(api, user):
    response = api.as_user(user).post("/api/events/import", data=bytes(range(256)) * 4, content_type="text/calendar")
    assert_problem(response, 400)


def test_bad_date_is_an_object_error(api, user):
    text = CAL.format(body=SERIES.replace("DTSTART;TZID=Europe/Berlin:20300107T090000", "DTSTART:2030-13-45"))
    body = assert_problem(_import(api, user, text), 400)
    assert body["errors"][0]["uid"] == "series-1@example.com"


def test_dry_run_changes_nothing(api, user):
    body = _import(api, user, CAL.format(body=SERIES), dry_run="true").json()
    assert body["created"] == [None] and body["dry_run"] is True
    assert Event.objects.count() == 0


def test_uid_of_event_shared_as_viewer_is_an_error(api, event_with_roles):
    event, users = event_with_roles
    text = CAL.format(body=SERIES.replace("series-1@example.com", event.uid))
    body = assert_problem(_import(api, users["viewer"], text), 400)
    assert "viewer" in body["errors"][0]["errors"][0]
    editor = _import(api, users["editor"], text).json()
    assert editor["updated"] == [event.pk]


def test_unknown_parameter_is_refused(api, user):
    assert_problem(_import(api, user, CAL.format(body=SERIES), bogus="1"), 400)


ONE = """BEGIN:VEVENT\r
UID:one@example.com\r
DTSTART:20300107T090000Z\r
DTEND:20300107T100000Z\r
SUMMARY:Overlaps\r
END:VEVENT\r
"""


def test_conflicts_are_listed_under_warn_and_refuse_under_reject(api, user):
    from tests.factories import make_event

    existing = make_event(user, title="Busy")  # 2030-01-07 09:00-10:00 UTC
    refused = assert_problem(_import(api, user, CAL.format(body=ONE), conflict_strategy="reject"), 400)
    assert refused["errors"][0]["uid"] == "one@example.com" and refused["errors"][0]["conflicts"]
    assert Event.objects.filter(uid="one@example.com").count() == 0
    body = _import(api, user, CAL.format(body=ONE)).json()
    [conflict] = body["conflicts"]
    assert conflict["uid"] == "one@example.com" and conflict["conflicts"][0]["event_id"] == existing.pk


def test_one_reused_serializer_per_file_says_what_a_new_one_per_object_says(api, user):
    # import_plan validates every object with one EventInputSerializer per kind (create, update): no object's
    # instance, errors or data may leak into the next one's answer.
    from ical.parse import ObjectRefused, parse_calendar
    from ical.selectors import events_for_uids
    from ical.serializers import ical_changes

    _import(api, user, CAL.format(body=SERIES))
    bad_end = SERIES.replace("series-1@example.com", "bad-end").replace(
        "DTEND;TZID=Europe/Berlin:20300107T100000", "DTEND;TZID=Europe/Berlin:20300107T080000"
    )
    long_title = SERIES.replace("series-1@example.com", "long").replace("Standup\r\nRRULE", "x" * 300 + "\r\nRRULE")
    renamed = SERIES.replace("SUMMARY;LANGUAGE=de:Standup", "SUMMARY;LANGUAGE=de:Daily")
    good = SERIES.replace("series-1@example.com", "good")
    parsed = parse_calendar(
        CAL.format(body=bad_end + renamed + long_title + good + bad_end.replace("bad-end", "b2")).encode()
    )
    targets = events_for_uids(user=user, uids=[obj.uid for obj in parsed.objects])

    def outcome(obj, reused):
        try:
            return ical_changes(obj=obj, event=targets.get(obj.uid), reused=reused)
        except ObjectRefused as exc:
            return exc.errors

    reused: dict = {}
    one_each = [outcome(obj, None) for obj in parsed.objects]
    assert [outcome(obj, reused) for obj in parsed.objects] == one_each
    assert [isinstance(found, list) for found in one_each] == [True, False, True, False, True]
    assert one_each[1]["title"] == "Daily" and "uid" not in one_each[1]  # an update, then a create
    assert one_each[3]["uid"] == "good" and one_each[0] == [m.replace("b2", "bad-end") for m in one_each[4]]


def test_a_versions_data_holds_its_ical_extra(api, user):
    # The diff names ical_extra among the changes; each version's data says what it was.
    text = CAL.format(body=SERIES)
    event_id = _import(api, user, text).json()["created"][0]
    _import(api, user, text.replace("X-CUSTOM;X-P=1:kept", "X-CUSTOM;X-P=1:changed"))
    client = api.as_user(user)
    first, second = (client.get(f"/api/events/{event_id}/history/{n}").json()["data"] for n in (1, 2))
    assert "X-CUSTOM;X-P=1:kept" in first["ical_extra"]["lines"]
    assert "X-CUSTOM;X-P=1:changed" in second["ical_extra"]["lines"]
    assert first["ical_extra"]["params"] == {"SUMMARY": {"LANGUAGE": "de"}}
    plain = client.post(
        "/api/events",
        {"title": "Plain", "start_time": "2030-02-01T10:00:00Z", "end_time": "2030-02-01T11:00:00Z"},
        format="json",
    ).json()
    assert client.get(f"/api/events/{plain['id']}/history/1").json()["data"]["ical_extra"] == {}
