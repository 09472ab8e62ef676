"""The event, permission and user serializers build their answers directly (a ModelSerializer building its
fields for every instance was most of the cost of a list page and of a batch's change-feed payloads).

These tests hold the direct output to what DRF's generic rendering of the declared fields gives, for every
shape an event takes: recurring with changed and cancelled occurrences, all-day, shared, with and without
`my_role`, as a write result (conflicts, merged), deleted, and as a version from the past (`as_of`).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework import serializers

from accounts.serializers import UserRefSerializer
from events import selectors
from events.models import Event
from events.serializers import EventDetailSerializer, EventSerializer, EventWriteResultSerializer
from history import selectors as history_selectors
from history.serializers import DeletedEventSerializer
from sharing import services as sharing_services
from sharing.models import EventPermission
from sharing.serializers import PermissionSerializer
from tests.factories import BASE_TIME, UserFactory, make_event

pytestmark = pytest.mark.django_db

DIRECT = (EventSerializer, PermissionSerializer, UserRefSerializer)


def generic(serializer_class, instance, **kwargs):
    """The answer DRF's own Serializer.to_representation gives, field by field (nested serializers too)."""
    saved = {cls: cls.__dict__["to_representation"] for cls in DIRECT}
    try:
        for cls in DIRECT:
            cls.to_representation = serializers.Serializer.to_representation
        return _plain(serializer_class(instance, **kwargs).data)
    finally:
        for cls, method in saved.items():
            cls.to_representation = method


def direct(serializer_class, instance, **kwargs):
    return _plain(serializer_class(instance, **kwargs).data)


def _plain(value):
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


@pytest.fixture
def calendar(api):
    owner, viewer = UserFactory(username="owner"), UserFactory(username="viewer")
    client = api.as_user(owner)
    created = client.post(
        "/api/events?conflict_strategy=allow",
        {
            "title": "Weekly",
            "description": "Notes",
            "location": "Room 1",
            "start_time": "2030-01-07T09:00:00",
            "end_time": "2030-01-07T10:00:00",
            "timezone": "Europe/Berlin",
            "recurrence_pattern": {"rrule": "FREQ=WEEKLY;COUNT=10", "exdates": ["2030-02-04T09:00:00"]},
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    series_id = created.json()["id"]
    moved = client.patch(
        f"/api/events/{series_id}/occurrences/2030-01-14T09:00:00%2B01:00",
        {"start_time": "2030-01-14T11:00:00", "title": "Moved"},
        format="json",
    )
    assert moved.status_code == 200, moved.content
    cancelled = client.delete(f"/api/events/{series_id}/occurrences/2030-01-21T09:00:00%2B01:00")
    assert cancelled.status_code == 204, cancelled.content
    all_day = make_event(owner, title="Holiday", start=BASE_TIME, hours=24, is_all_day=True, timezone="Asia/Tokyo")
    series = Event.objects.get(pk=series_id)
    sharing_services.event_share(event=series, actor=owner, targets=[{"user_id": viewer.pk, "role": "viewer"}])
    return {"owner": owner, "viewer": viewer, "series": series, "all_day": all_day}


def test_a_list_page_renders_as_drf_would(calendar):
    for user in (calendar["owner"], calendar["viewer"]):
        page = list(selectors.events_visible(user=user).order_by("start_time", "id"))
        assert page, "the caller must see events"
        output = direct(EventSerializer, page, many=True)
        assert output == generic(EventSerializer, page, many=True)
        assert list(output[0]) == list(EventSerializer.Meta.fields)  # the keys in the declared order too
        shown = selectors.CalendarPages(user)[0:20]  # what the list reads: only the shown fields
        assert direct(EventSerializer, shown, many=True) == output == generic(EventSerializer, shown, many=True)
    series = next(item for item in output if item["is_recurring"])
    assert [e.get("cancelled") for e in series["exceptions"]] == [False, True]
    assert series["my_role"] == "viewer"


def test_the_detail_and_write_answers_render_as_drf_would(calendar):
    event = selectors.event_get(user=calendar["owner"], event_id=calendar["series"].pk)
    assert direct(EventDetailSerializer, event) == generic(EventDetailSerializer, event)
    assert len(direct(EventDetailSerializer, event)["permissions"]) == 2

    event.conflicts = [
        {"event_id": 7, "title": "Other", "start_time": BASE_TIME, "end_time": BASE_TIME + timedelta(hours=1)}
    ]
    event.merged = True
    output = direct(EventWriteResultSerializer, event)
    assert output == generic(EventWriteResultSerializer, event)
    assert output["merged"] is True
    assert output["conflicts"][0]["start_time"] == "2030-01-07T09:00:00Z"

    del event.conflicts, event.merged  # absent: `conflicts` left out, `merged` defaults to false
    output = direct(EventWriteResultSerializer, event)
    assert output == generic(EventWriteResultSerializer, event)
    assert "conflicts" not in output and output["merged"] is False


def test_an_event_without_my_role_leaves_it_out_like_drf(calendar):
    event = Event.objects.select_related("owner").get(pk=calendar["all_day"].pk)
    output = direct(EventSerializer, event)
    assert output == generic(EventSerializer, event)
    assert "my_role" not in output
    assert output["start_time"].endswith("+09:00")  # in the event's own zone


def test_deleted_events_and_versions_from_the_past_render_as_drf_would(calendar, api):
    owner = calendar["owner"]
    before = timezone.now()
    deleted = api.as_user(owner).delete(f"/api/events/{calendar['all_day'].pk}")
    assert deleted.status_code == 204
    rows = list(history_selectors.events_deleted(user=owner))
    assert len(rows) == 1
    assert direct(DeletedEventSerializer, rows, many=True) == generic(DeletedEventSerializer, rows, many=True)

    rows = list(history_selectors.events_as_of(user=owner, as_of=before))  # history rows, as the as_of list has
    assert len(rows) == 2
    output = direct(EventSerializer, rows, many=True)
    assert output == generic(EventSerializer, rows, many=True)
    assert {item["id"] for item in output} == {calendar["series"].pk, calendar["all_day"].pk}
    past = [history_selectors.as_event(row) for row in rows]
    assert direct(EventSerializer, past, many=True) == output


def test_permissions_of_a_user_deleted_since_render_as_drf_would(calendar):
    viewer = calendar["viewer"]
    permission = EventPermission.objects.select_related("user", "granted_by").get(user=viewer)
    assert direct(PermissionSerializer, permission) == generic(PermissionSerializer, permission)
    rows = list(EventPermission.history.filter(user_id=viewer.pk))
    viewer.delete()  # the history rows keep the id of a user who is gone
    rows = list(EventPermission.history.filter(pk__in=[r.pk for r in rows]))
    output = direct(PermissionSerializer, rows, many=True)
    assert output == generic(PermissionSerializer, rows, many=True)
    assert output[0]["user"] is None
