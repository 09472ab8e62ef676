"""GET /api/events/{id}/ics: the event's access, ETag and time travel; what the VCALENDAR says."""

import pytest
from django.utils import timezone
from icalendar import Calendar

from tests.factories import make_event
from tests.helpers import assert_problem

pytestmark = pytest.mark.django_db


def test_same_etag_as_the_event_and_304(api, event_with_roles):
    event, users = event_with_roles
    client = api.as_user(users["viewer"])
    detail = client.get(f"/api/events/{event.pk}")
    ics = client.get(f"/api/events/{event.pk}/ics")
    assert ics.status_code == 200 and ics["ETag"] == detail["ETag"]
    assert client.get(f"/api/events/{event.pk}/ics", HTTP_IF_NONE_MATCH=ics["ETag"]).status_code == 304
    api.as_user(users["owner"]).patch(f"/api/events/{event.pk}", {"title": "Renamed"}, format="json")
    fresh = client.get(f"/api/events/{event.pk}/ics", HTTP_IF_NONE_MATCH=ics["ETag"])
    assert fresh.status_code == 200 and b"SUMMARY:Renamed" in fresh.content
    calendar = Calendar.from_ical(fresh.content)
    assert calendar.walk("VEVENT")[0]["SEQUENCE"] == 1  # version 2


def test_strangers_get_404_and_as_of_gives_the_past(api, event_with_roles):
    event, users = event_with_roles
    assert_problem(api.as_user(users["stranger"]).get(f"/api/events/{event.pk}/ics"), 404)
    owner = api.as_user(users["owner"])
    before = timezone.now().isoformat()
    owner.patch(f"/api/events/{event.pk}", {"title": "Renamed"}, format="json")
    past = owner.get(f"/api/events/{event.pk}/ics", {"as_of": before})
    assert past.status_code == 200 and b"SUMMARY:Planning" in past.content
    assert_problem(owner.get(f"/api/events/{event.pk}/ics", {"bogus": "1"}), 400)


def test_text_is_escaped_and_lines_folded(api, user):
    event = make_event(user, title="A, B; C", description="line one\nline two " + "x" * 200, timezone="Asia/Tokyo")
    body = api.as_user(user).get(f"/api/events/{event.pk}/ics").content
    assert b"SUMMARY:A\\, B\\; C" in body
    assert b"line one\\nline two" in body
    assert all(len(line) <= 75 for line in body.split(b"\r\n"))
    assert b"BEGIN:VTIMEZONE\r\nTZID:Asia/Tokyo" in body
