"""Prepared hot reads (SQL compiled once per process) give what the ORM gives: the same instances, field for
field and type for type, the same related objects and annotations, the same count, the same pages."""

from __future__ import annotations

from datetime import timedelta

import pytest

from common.prepared_queries import PreparedQuery
from events import selectors
from events.models import Event
from events.representation import SHOWN_FIELDS
from sharing import services as sharing_services
from sharing.models import EventPermission
from sharing.roles import Role
from tests.factories import BASE_TIME, UserFactory, make_event

pytestmark = pytest.mark.django_db


def assert_same_instance(found, expected) -> None:
    assert type(found) is type(expected)
    assert found.get_deferred_fields() == expected.get_deferred_fields()  # none read here: that would load them
    for field in type(expected)._meta.concrete_fields:
        if field.attname in expected.get_deferred_fields():
            continue
        assert getattr(found, field.attname) == getattr(expected, field.attname), field.name
        assert type(getattr(found, field.attname)) is type(getattr(expected, field.attname)), field.name
    assert (found._state.adding, found._state.db) == (False, expected._state.db)


@pytest.fixture
def calendar(me):
    """25 events of mine (every fifth a series with exceptions and iCalendar extras), 5 of them shared with me."""
    other = UserFactory()
    made = []
    for n in range(25):
        fields = {}
        if n % 5 == 0:
            fields = {
                "recurrence": {"rrule": "FREQ=DAILY;COUNT=3", "exdates": [], "rdates": []},
                "ical_extra": {"X-TEST": [{"value": str(n)}]},
            }
        made.append(make_event(me, title=f"E{n:02}", start=BASE_TIME + timedelta(hours=n), **fields))
    for n in range(5):
        shared = make_event(other, title=f"S{n}", start=BASE_TIME + timedelta(hours=n, minutes=30))
        sharing_services.event_share(event=shared, actor=other, targets=[{"user_id": me.pk, "role": Role.VIEWER}])
        made.append(shared)
    return made


def test_an_event_with_its_permissions_is_what_the_orm_reads(me, event_with_roles):
    event, users = event_with_roles
    for name in ("owner", "editor", "viewer"):
        found = selectors.event_get(user=users[name], event_id=event.pk)
        expected = selectors.with_permissions(selectors.events_visible(user=users[name])).get(pk=event.pk)

        assert_same_instance(found, expected)
        assert found.my_role == expected.my_role == name
        assert_same_instance(found.owner, expected.owner)
        assert len(found.permission_list) == len(expected.permission_list) == 3
        for permission, orm_permission in zip(found.permission_list, expected.permission_list, strict=True):
            assert_same_instance(permission, orm_permission)
            assert_same_instance(permission.user, orm_permission.user)
            assert (permission.granted_by is None) == (orm_permission.granted_by is None)
            assert permission.event is found  # as the prefetch sets it


def test_an_event_nobody_may_see_is_not_found(me, event_with_roles):
    event, users = event_with_roles
    with pytest.raises(selectors.NotFound):
        selectors.event_get(user=users["stranger"], event_id=event.pk)
    EventPermission.objects.filter(event=event, user=users["viewer"]).delete()
    with pytest.raises(selectors.NotFound):
        selectors.event_get(user=users["viewer"], event_id=event.pk, detail=False)


def test_the_calendar_pages_and_count_are_the_orms(me, calendar):
    orm = selectors.events_visible(user=me).order_by("start_time", "id").only(*SHOWN_FIELDS)
    pages = selectors.CalendarPages(me)
    Event.objects.filter(pk=calendar[3].pk).update(deleted_at=BASE_TIME)  # a deleted event is in neither

    assert pages.count() == orm.count() == 29
    for window in (slice(0, 20), slice(20, 40), slice(7, 8), slice(0, 0)):
        found, expected = pages[window], list(orm[window])
        assert [event.pk for event in found] == [event.pk for event in expected]
        for event, orm_event in zip(found, expected, strict=True):
            assert_same_instance(event, orm_event)
            assert_same_instance(event.owner, orm_event.owner)
            assert event.my_role == orm_event.my_role
    assert pages[0:1][0].get_deferred_fields() == {"series_end", "series_start", "ical_extra", "deleted_at"}


def test_a_calendar_page_read_with_its_count_is_the_orms(me, calendar, django_assert_num_queries):
    orm = selectors.events_visible(user=me).order_by("start_time", "id").only(*SHOWN_FIELDS)
    Event.objects.filter(pk=calendar[3].pk).update(deleted_at=BASE_TIME)  # a deleted event is in neither
    for offset, limit in ((0, 20), (20, 20), (7, 1), (28, 5)):
        pages = selectors.CalendarPages(me)
        with django_assert_num_queries(1):  # the page, its count with it; then neither is read again
            pages.read_page(offset=offset, limit=limit)
            count = pages.count()
            found = pages[offset : min(offset + limit, count)]
        expected = list(orm[offset : offset + limit])
        assert count == orm.count() == 29
        assert [event.pk for event in found] == [event.pk for event in expected]
        for event, orm_event in zip(found, expected, strict=True):
            assert_same_instance(event, orm_event)
            assert_same_instance(event.owner, orm_event.owner)
            assert event.my_role == orm_event.my_role
            assert not hasattr(event, "calendar_size")  # the count is the paginator's, not the event's
        with django_assert_num_queries(1):  # another slice than the one read is read again
            again = pages[offset + 1 : offset + 2]
        assert [event.pk for event in again] == [event.pk for event in orm[offset + 1 : offset + 2]]


def test_a_calendar_page_past_the_end_leaves_the_count_to_its_own_query(me, calendar, django_assert_num_queries):
    pages = selectors.CalendarPages(me)
    with django_assert_num_queries(2):
        pages.read_page(offset=30, limit=20)
        assert pages.count() == 30


def test_deferred_fields_are_what_the_orm_defers_and_load_when_read(me, calendar, django_assert_num_queries):
    slim = PreparedQuery(
        lambda title: Event.objects.filter(title=title).select_related("owner").defer("description", "owner__email"),
        title=str,
    )
    found = slim.fetch(title="E05")[0]
    expected = Event.objects.filter(title="E05").select_related("owner").defer("description", "owner__email").get()

    assert_same_instance(found, expected)
    assert_same_instance(found.owner, expected.owner)
    assert found.get_deferred_fields() == {"description"}
    assert found.owner.get_deferred_fields() == {"email"}
    with django_assert_num_queries(2):  # as with the ORM's instances: a deferred field is read when asked for
        assert (found.description, found.owner.email) == (calendar[5].description, me.email)
    assert_same_instance(found, Event.objects.get(pk=found.pk))


def test_a_prepared_query_compiles_once_and_takes_each_calls_values(me, calendar, django_assert_num_queries):
    titles = PreparedQuery(lambda title: Event.objects.filter(title=title), title=str)

    with django_assert_num_queries(2):
        assert [event.pk for event in titles.fetch(title="E01")] == [calendar[1].pk]
        assert titles.count(title="S2") == 1
    assert titles.fetch(title="no such title") == []
    with pytest.raises(TypeError):
        titles.fetch(name="E01")


def test_a_query_whose_sql_does_not_carry_a_value_is_refused():
    ignoring = PreparedQuery(lambda pk: Event.objects.filter(pk=5), pk=int)

    with pytest.raises(ValueError, match="pk"):
        ignoring.fetch(pk=1)
