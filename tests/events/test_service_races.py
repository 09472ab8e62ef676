"""Writers that lose a race to a delete get a 404, never a 500."""

import pytest
from rest_framework.exceptions import NotFound

from events import services
from events.models import Event
from tests.factories import UserFactory, make_event

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("write", ["update", "delete"])
def test_a_write_to_an_event_deleted_meanwhile_is_not_found(write):
    owner = UserFactory()
    event = make_event(owner)
    seen_by_writer = Event.objects.get(pk=event.pk)  # what the view looked up before the delete landed
    services.event_delete(event=event, actor=owner)
    versions = Event.history.filter(id=event.pk).count()

    with pytest.raises(NotFound):
        if write == "update":
            services.event_update(event=seen_by_writer, actor=owner, changes={"title": "Late"})
        else:
            services.event_delete(event=seen_by_writer, actor=owner)

    assert Event.history.filter(id=event.pk).count() == versions
    assert Event.objects.get(pk=event.pk).title == event.title
