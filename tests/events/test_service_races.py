"""Writers that lose a race to a delete get a 404, never a 500."""

from datetime import timedelta

import pytest
from rest_framework.exceptions import NotFound, ValidationError

from events import services
from events.models import Event
from events.serializers import EventInputSerializer
from tests.factories import BASE_TIME, UserFactory, make_event
from tests.helpers import database_state

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("write", ["update", "delete"])
def test_a_write_to_an_event_deleted_meanwhile_is_not_found(write):
    owner = UserFactory()
    event = make_event(owner)
    seen_by_writer = Event.objects.get(pk=event.pk)  # what the view looked up before the delete landed
    services.event_delete(event=event, actor=owner)
    before = database_state()

    with pytest.raises(NotFound):
        if write == "update":
            services.event_update(event=seen_by_writer, actor=owner, changes={"title": "Late"})
        else:
            services.event_delete(event=seen_by_writer, actor=owner)

    assert database_state() == before


def _stale_changes(stale, body: dict) -> dict:
    """What a request validated against an old read of the event asks to change."""
    data = EventInputSerializer(instance=stale, data=body, partial=True)
    data.is_valid(raise_exception=True)
    return data.validated_data["changes"]


def test_moving_one_end_does_not_undo_a_concurrent_move_of_the_other():
    owner = UserFactory()
    event = make_event(owner)  # 09:00-10:00 UTC
    stale = Event.objects.get(pk=event.pk)  # B reads version 1
    services.event_update(event=event, actor=owner, changes={"start_time": BASE_TIME + timedelta(minutes=30)})

    changes = _stale_changes(stale, {"end_time": (BASE_TIME + timedelta(hours=2)).isoformat()})
    services.event_update(event=stale, actor=owner, changes=changes, conflict_strategy="allow")

    fresh = Event.objects.get(pk=event.pk)
    assert changes.keys() == {"end_time"}
    assert (fresh.start_time, fresh.end_time) == (BASE_TIME + timedelta(minutes=30), BASE_TIME + timedelta(hours=2))
    assert fresh.version == 3


def test_a_change_that_a_concurrent_move_would_invert_is_a_400_and_changes_nothing():
    owner = UserFactory()
    event = make_event(owner)  # 09:00-10:00 UTC
    stale = Event.objects.get(pk=event.pk)
    services.event_update(event=event, actor=owner, changes={"start_time": BASE_TIME + timedelta(minutes=45)})
    changes = _stale_changes(stale, {"end_time": (BASE_TIME + timedelta(minutes=30)).isoformat()})
    before = database_state()

    with pytest.raises(ValidationError) as refused:
        services.event_update(event=stale, actor=owner, changes=changes, conflict_strategy="allow")

    assert "end_time" in refused.value.detail
    fresh = Event.objects.get(pk=event.pk)
    assert (fresh.version, fresh.end_time) == (2, BASE_TIME + timedelta(hours=1))
    assert database_state() == before
