"""Fixed query counts for the iCalendar reads, and an import reaches the sync feed like any create."""

import pytest

from ical import services as ical_services
from tests.factories import make_event

pytestmark = pytest.mark.django_db


def test_ics_and_feed_cost_a_fixed_number_of_queries(api, user, django_assert_max_num_queries):
    for hour in range(30):
        make_event(user, title=f"E{hour}", recurrence=None if hour % 3 else {"rrule": "FREQ=DAILY;COUNT=5"})
    event = make_event(user, title="One")
    client = api.as_user(user)
    with django_assert_max_num_queries(6):
        assert client.get(f"/api/events/{event.pk}/ics").status_code == 200
    _feed, secret = ical_services.feed_create(owner=user, name="Mine")
    anonymous = api.as_user(None)
    with django_assert_max_num_queries(5):  # feed, tag rows, events, last_used_at
        first = anonymous.get(f"/api/feed/{secret}.ics")
    assert first.status_code == 200
    with django_assert_max_num_queries(1):  # the feed by its secret: the tag comes from the cache
        assert anonymous.get(f"/api/feed/{secret}.ics", HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304
    with django_assert_max_num_queries(3):
        assert api.as_user(user).get("/api/feeds").status_code == 200


def test_an_import_is_in_the_sync_feed(api, user):
    data = (
        b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:synced\r\n"
        b"DTSTART:20300301T100000Z\r\nDTEND:20300301T110000Z\r\nSUMMARY:Synced\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    client = api.as_user(user)
    [created] = client.post("/api/events/import", data=data, content_type="text/calendar").json()["created"]
    changes = client.get("/api/sync").json()["changes"]
    assert [(c["type"], c["event_id"], c["event"]["uid"]) for c in changes] == [("created", created, "synced")]
