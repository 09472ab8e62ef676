"""One event as a calendar object resource: GET/HEAD with its ETag, PUT to create or replace it (through the
iCalendar import of one object: the same services as the REST API), RFC 4791 §5.3.2.1 preconditions."""

from datetime import timedelta

import pytest

from dav.models import ResourceName
from events.models import Event
from history.models import AuditEntry
from notifications.models import FeedEntry, Notification
from tests.factories import BASE_TIME, make_event
from tests.helpers import database_state

from .conftest import error_condition, member_name, prop, responses, share, xml_of

ICS = """BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//Test//Client//EN\r
BEGIN:VEVENT\r
UID:{uid}\r
DTSTAMP:20300101T000000Z\r
DTSTART;TZID=Europe/Paris:20300107T100000\r
DTEND;TZID=Europe/Paris:20300107T110000\r
SUMMARY:{summary}\r
{more}END:VEVENT\r
{after}END:VCALENDAR\r
"""

ALARM = """ATTENDEE;CN=Bob;PARTSTAT=NEEDS-ACTION:mailto:bob@example.com\r
X-CLIENT-THING:kept as sent\r
BEGIN:VALARM\r
ACTION:DISPLAY\r
DESCRIPTION:Soon\r
TRIGGER:-PT15M\r
END:VALARM\r
"""


def ics(uid="abc-123", summary="Planning", more="", after="") -> str:
    return ICS.format(uid=uid, summary=summary, more=more, after=after)


def put(client, path, body, **headers):
    return client.request("PUT", path, body, content_type="text/calendar", **headers)


def test_put_creates_under_the_apps_name_and_get_reads_it_back(team):
    owner, editor = team["owner"], team["editor"]
    href = owner.writable + "client-chosen-name.ics"
    response = put(owner, href, ics(more=ALARM), if_none_match="*", user_agent="Thunderbird/128")
    assert response.status_code == 201, response.content

    event = Event.objects.get(owner=owner.user, uid="abc-123")
    assert (event.title, event.timezone, event.version) == ("Planning", "Europe/Paris", 1)
    assert ResourceName.objects.get(event=event).name == "client-chosen-name.ics"
    first = Event.history.get(id=event.pk, version=1)
    assert (first.history_user_id, first.history_change_reason) == (owner.user.pk, "CalDAV (Thunderbird/128)")
    assert AuditEntry.objects.filter(action="event.created", target_id=str(event.pk)).exists()
    assert FeedEntry.objects.filter(user=owner.user, event_id=event.pk, kind="created").exists()

    got = owner.request("GET", href)
    assert got.status_code == 200
    assert got["Content-Type"].startswith("text/calendar")
    assert got["ETag"] == f'"1-{event.pk:x}"'
    text = got.content.decode()
    for line in ("UID:abc-123", "SUMMARY:Planning", "BEGIN:VALARM", "TRIGGER:-PT15M", "X-CLIENT-THING:kept as sent"):
        assert line in text, line
    assert "mailto:bob@example.com" in text and "BEGIN:VTIMEZONE" in text
    assert owner.request("GET", href, if_none_match=got["ETag"]).status_code == 304
    head = owner.request("HEAD", href)
    assert (head.status_code, head["ETag"], head.content) == (200, got["ETag"], b"")
    assert editor.request("GET", editor.writable + "client-chosen-name.ics").status_code == 404  # not shared


def test_put_with_if_match_replaces_as_one_new_version_and_a_stale_tag_is_412(team):
    owner, editor = team["owner"], team["editor"]
    href = owner.writable + "x.ics"
    put(owner, href, ics())
    event = Event.objects.get(uid="abc-123")
    share(event, owner.user, editor=editor.user)
    tag = owner.request("GET", href)["ETag"]

    editors_href = editor.writable + member_name(editor, event, "x.ics")
    response = put(editor, editors_href, ics(summary="Moved"), if_match=tag, user_agent="DAVx5/4.4")
    assert response.status_code == 204, response.content
    event.refresh_from_db()
    assert (event.title, event.version) == ("Moved", 2)
    last = Event.history.get(id=event.pk, version=2)
    assert (last.history_user_id, last.history_change_reason, last.history_action) == (
        editor.user.pk,
        "CalDAV (DAVx5/4.4)",
        "updated",
    )
    assert Notification.objects.filter(recipient=owner.user, event_id=event.pk, kind="event_updated").exists()

    stale = put(owner, href, ics(summary="Mine"), if_match=tag)
    assert stale.status_code == 412
    assert Event.objects.get(pk=event.pk).title == "Moved"
    assert put(owner, href, ics(summary="Again"), if_none_match="*").status_code == 412


def test_changing_one_occurrence_is_one_new_version(team):
    owner = team["owner"]
    href = owner.writable + "series.ics"
    series = ics(uid="weekly", more="RRULE:FREQ=WEEKLY;COUNT=5\r\n")
    assert put(owner, href, series).status_code == 201
    event = Event.objects.get(uid="weekly")
    override = (
        "BEGIN:VEVENT\r\nUID:weekly\r\nDTSTAMP:20300101T000000Z\r\n"
        "RECURRENCE-ID;TZID=Europe/Paris:20300114T100000\r\n"
        "DTSTART;TZID=Europe/Paris:20300114T120000\r\nDTEND;TZID=Europe/Paris:20300114T130000\r\n"
        "SUMMARY:Moved once\r\nEND:VEVENT\r\n"
    )
    tag = owner.request("GET", href)["ETag"]
    assert (
        put(
            owner, href, ics(uid="weekly", more="RRULE:FREQ=WEEKLY;COUNT=5\r\n", after=override), if_match=tag
        ).status_code
        == 204
    )
    event.refresh_from_db()
    assert event.version == 2
    assert Event.history.filter(id=event.pk).count() == 2
    assert "RECURRENCE-ID;TZID=Europe/Paris:20300114T100000" in owner.request("GET", href).content.decode()
    # Sending the same again changes nothing: no version.
    tag = owner.request("GET", href)["ETag"]
    assert (
        put(
            owner, href, ics(uid="weekly", more="RRULE:FREQ=WEEKLY;COUNT=5\r\n", after=override), if_match=tag
        ).status_code
        == 204
    )
    assert Event.objects.get(pk=event.pk).version == 2


def test_a_scheduling_conflict_never_refuses_a_caldav_write(team):
    owner = team["owner"]
    make_event(owner.user, start=BASE_TIME + timedelta(hours=0), hours=3)  # overlaps 10:00 Paris = 09:00 UTC
    response = put(owner, owner.writable + "clash.ics", ics(uid="clash"))
    assert response.status_code == 201
    event = Event.objects.get(uid="clash")
    assert AuditEntry.objects.filter(action="event.conflicts_saved", target_id=str(event.pk)).exists()


@pytest.mark.parametrize(
    "body, content_type, condition",
    [
        ("not a calendar", "text/calendar", "valid-calendar-data"),
        (ics(more="DTEND:garbage\r\n"), "text/calendar", "valid-calendar-data"),
        (
            ics().replace("BEGIN:VEVENT", "BEGIN:VTODO").replace("END:VEVENT", "END:VTODO"),
            "text/calendar",
            "supported-calendar-component",
        ),
        (
            ics(
                after="BEGIN:VEVENT\r\nUID:second\r\nDTSTAMP:20300101T000000Z\r\nDTSTART:20300101T100000Z\r\nEND:VEVENT\r\n"
            ),
            "text/calendar",
            "valid-calendar-object-resource",
        ),
        (ics(), "application/json", "supported-calendar-data"),
    ],
    ids=["garbage", "bad-property", "vtodo", "two-uids", "wrong-type"],
)
def test_bad_calendar_data_is_refused_with_its_precondition(team, body, content_type, condition):
    owner = team["owner"]
    response = owner.request("PUT", owner.writable + "bad.ics", body, content_type=content_type)
    assert response.status_code == 403, response.content
    assert error_condition(response) == "{urn:ietf:params:xml:ns:caldav}" + condition
    assert not Event.objects.exists()


def test_a_uid_already_in_the_calendar_or_a_changed_uid_is_no_uid_conflict(team):
    owner = team["owner"]
    put(owner, owner.writable + "first.ics", ics(uid="same"))
    again = put(owner, owner.writable + "second.ics", ics(uid="same"))
    assert again.status_code == 403
    assert error_condition(again) == "{urn:ietf:params:xml:ns:caldav}no-uid-conflict"
    assert b"first.ics" in again.content  # names the resource that has it
    changed = put(owner, owner.writable + "first.ics", ics(uid="other"))
    assert error_condition(changed) == "{urn:ietf:params:xml:ns:caldav}no-uid-conflict"
    assert list(Event.objects.values_list("uid", flat=True)) == ["same"]


def test_the_read_only_calendar_refuses_writes_with_need_privileges(team):
    owner, viewer = team["owner"], team["viewer"]
    event = make_event(owner.user)
    share(event, owner.user, viewer=viewer.user)
    for href in (viewer.shared + member_name(viewer, event), viewer.shared + "new.ics"):
        response = put(viewer, href, ics(uid=event.uid))
        assert response.status_code == 403
        assert error_condition(response) == "{DAV:}need-privileges"
    assert Event.objects.get(pk=event.pk).version == event.version
    assert viewer.request("GET", viewer.shared + member_name(viewer, event)).status_code == 200


def test_a_name_freed_by_a_delete_can_be_used_again(team):
    owner = team["owner"]
    href = owner.writable + "reused.ics"
    put(owner, href, ics(uid="one"))
    assert owner.request("DELETE", href).status_code == 204
    assert put(owner, href, ics(uid="two")).status_code == 201
    assert "UID:two" in owner.request("GET", href).content.decode()


def test_a_body_over_the_limit_fails_max_resource_size_as_a_dav_error(team, settings):
    owner = team["owner"]
    event = make_event(owner.user, title="Kept")
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    listing = owner.propfind(owner.writable, ["C:max-resource-size"])
    assert prop(responses(listing)[owner.writable], "C:max-resource-size").text == str(limit)

    big = ics(uid=event.uid, more="DESCRIPTION:" + "x" * limit + "\r\n")
    before = database_state()
    for href in (owner.writable + f"{event.uid}.ics", owner.writable + "new.ics"):
        response = put(owner, href, big)
        assert response.status_code == 413, response.content
        assert response["DAV"].startswith("1, 3")
        assert error_condition(response) == "{urn:ietf:params:xml:ns:caldav}max-resource-size"
        assert str(limit) in xml_of(response).findtext("M:message", namespaces={"M": "urn:x-calendar-api:dav"})
    assert database_state() == before


def test_a_bad_content_length_is_a_dav_error(team):
    owner = team["owner"]
    response = owner.client.generic(
        "PUT", owner.writable + "x.ics", ics(), content_type="text/calendar", CONTENT_LENGTH="many", **owner.auth
    )
    assert response.status_code == 400
    assert error_condition(response) is None
    assert not Event.objects.exists()


def test_a_put_and_a_get_cost_a_fixed_number_of_queries(team, django_assert_max_num_queries):
    owner = team["owner"]
    href = owner.writable + "counted.ics"
    put(owner, href, ics())
    for day in range(20):  # a fuller calendar costs the same: the name is looked up by index
        make_event(owner.user, start=BASE_TIME + timedelta(days=day + 1))
    tag = owner.request("GET", href)["ETag"]
    # sign-in 1, the member by name 1
    with django_assert_max_num_queries(2):
        assert owner.request("GET", href).status_code == 200
    # sign-in 1; the calendar lock 1 and the member by name, locked, 1; then the event update (savepoint, lock,
    # row, update, history, audit, change feed...): what a REST update costs. 18 on PostgreSQL (its two
    # advisory locks are queries), 16 on SQLite.
    with django_assert_max_num_queries(18):
        assert put(owner, href, ics(summary="Counted"), if_match=tag).status_code == 204


INSTANT = """BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//Test//Client//EN\r
BEGIN:VEVENT\r
UID:deadline\r
DTSTAMP:20300101T000000Z\r
DTSTART;TZID=Europe/Paris:20300107T170000\r
SUMMARY:Report due\r
BEGIN:VALARM\r
ACTION:DISPLAY\r
DESCRIPTION:Due\r
TRIGGER:-PT1H\r
END:VALARM\r
END:VEVENT\r
END:VCALENDAR\r
"""


def test_an_instant_is_stored_as_a_minute_and_read_back_as_it_came(team):
    # RFC 5545 §3.6.1: DTSTART alone takes no time; our events end after they start, so it lasts a minute and
    # keeps its form, which every answer writes back.
    owner = team["owner"]
    href = owner.writable + "deadline.ics"
    assert put(owner, href, INSTANT, if_none_match="*").status_code == 201
    event = Event.objects.get(owner=owner.user, uid="deadline")
    assert event.end_time - event.start_time == timedelta(minutes=1)
    text = owner.request("GET", href).content.decode()
    assert "DTSTART;TZID=Europe/Paris:20300107T170000" in text and "TRIGGER:-PT1H" in text
    assert "DTEND" not in text and "DURATION" not in text
    expand = (
        '<C:calendar-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><C:calendar-data>'
        '<C:expand start="20300107T000000Z" end="20300108T000000Z"/></C:calendar-data></D:prop>'
        f"<D:href>{href}</D:href></C:calendar-multiget>"
    )
    expanded = prop(responses(owner.report(owner.writable, expand))[href], "C:calendar-data").text
    assert "DTSTART:20300107T160000Z" in expanded and "DTEND" not in expanded  # an instant, in UTC
    # Read back and saved again as it came: nothing changes.
    assert put(owner, href, text, if_match=f'"1-{event.pk:x}"').status_code == 204
    assert Event.objects.get(pk=event.pk).version == 1
