"""Each permission carries its event's start and liveness, kept by the database (sharing/migrations/0002), and
the calendar's pages read through them are the visible events in order, whatever changed the event.

No mock: the triggers run in the test database, on SQLite and on PostgreSQL. A door that wrote an event or a
permission without them (a table rebuilt by a later SQLite migration, a trigger dropped) fails here.
"""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection, connections, transaction
from django.db.models import F

from events import selectors
from events import services as event_services
from events.models import Event
from events.representation import SHOWN_FIELDS
from sharing import services as sharing_services
from sharing.models import EventPermission
from tests.factories import BASE_TIME, UserFactory, make_event

TRIGGERS = {
    "sqlite": {"permission_calendar_insert", "permission_calendar_update", "event_calendar_follow"},
    "postgresql": {"permission_calendar_fill", "event_calendar_follow"},
}


def installed_triggers() -> set[str]:
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        else:
            cursor.execute("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")
        return {name for (name,) in cursor.fetchall()}


def assert_every_permission_follows_its_event() -> None:
    rows = EventPermission.objects.values_list(
        "pk", "event_start", "event_live", F("event__start_time"), F("event__deleted_at")
    )
    assert rows, "nothing to check"
    wrong = [row for row in rows if (row[1], row[2]) != (row[3], row[4] is None)]
    assert wrong == []


def assert_calendar_is_the_visible_events_in_order(user) -> None:
    pages = selectors.CalendarPages(user)
    expected = selectors.events_visible(user=user).order_by("start_time", "id").only(*SHOWN_FIELDS)
    assert pages.count() == expected.count()
    for window in (slice(0, 3), slice(3, 7), slice(0, 100)):
        found = pages[window]
        assert [(event.pk, event.my_role) for event in found] == [
            (event.pk, event.my_role) for event in expected[window]
        ]


@pytest.mark.django_db
def test_the_triggers_are_installed():
    assert TRIGGERS[connection.vendor] <= installed_triggers()


@pytest.mark.django_db
def test_a_permission_follows_its_event_through_every_kind_of_write():
    owner, friend, other = UserFactory(), UserFactory(), UserFactory()
    first = make_event(owner, title="First", start=BASE_TIME + timedelta(hours=5))
    second = make_event(owner, title="Second", start=BASE_TIME + timedelta(hours=5))  # the same start: id decides
    third = make_event(friend, title="Third", start=BASE_TIME + timedelta(hours=1))
    sharing_services.event_share(event=third, actor=friend, targets=[{"user_id": owner.pk, "role": "viewer"}])
    assert_every_permission_follows_its_event()  # inserted by the services
    stale = EventPermission.objects.get(event=first, user=owner)  # loaded before the moves below

    # Moved by the service, then by a queryset update (no signals, no service), then by a save() outside the services.
    event_services.event_update(
        event=first, actor=owner, changes={"start_time": BASE_TIME, "end_time": BASE_TIME + timedelta(hours=1)}
    )
    Event.objects.filter(pk=second.pk).update(start_time=BASE_TIME - timedelta(days=1))
    third.refresh_from_db()
    third.start_time = BASE_TIME + timedelta(days=3)
    third.end_time = third.start_time + timedelta(hours=1)
    third.version += 1  # a new version, as the admin's save makes one
    third.save()
    assert_every_permission_follows_its_event()
    assert_calendar_is_the_visible_events_in_order(owner)

    # A permission saved whole from an instance read before its event moved keeps the event's start.
    stale.role = "owner"
    stale.save()
    assert (EventPermission.objects.get(pk=stale.pk).event_start) == BASE_TIME

    # Deleted and restored by the services; deleted by a queryset update; shared in bulk.
    event_services.event_delete(event=first, actor=owner)
    Event.objects.filter(pk=third.pk).update(deleted_at=BASE_TIME)
    assert_every_permission_follows_its_event()
    assert [event.pk for event in selectors.CalendarPages(owner)[0:10]] == [second.pk]
    event_services.event_restore(event=first, actor=owner, conflict_strategy="allow")
    EventPermission.objects.bulk_create([EventPermission(event=first, user=other, role="viewer")])
    assert_every_permission_follows_its_event()
    for user in (owner, friend, other):
        assert_calendar_is_the_visible_events_in_order(user)


@pytest.mark.django_db
def test_a_batch_and_its_permissions_follow_too(api):
    me = UserFactory()
    items = [
        {
            "title": f"B{n}",
            "start_time": (BASE_TIME + timedelta(hours=5 - n)).isoformat(),
            "end_time": (BASE_TIME + timedelta(hours=6 - n)).isoformat(),
        }
        for n in range(5)
    ]
    response = api.as_user(me).post("/api/events/batch", {"events": items})

    assert response.status_code == 201, response.content
    assert_every_permission_follows_its_event()
    listed = api.as_user(me).get("/api/events").json()["results"]
    assert [item["title"] for item in listed] == ["B4", "B3", "B2", "B1", "B0"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_permission_made_while_its_event_moves_waits_for_the_move():
    """Two transactions: the event's move is not committed yet when the permission is inserted. The insert
    waits for it (its trigger reads the event FOR SHARE) and carries the new start, not the one before."""
    owner, friend = UserFactory(), UserFactory()
    event = make_event(owner, title="Moving")
    moved_to = BASE_TIME + timedelta(days=7)
    moved, inserted = threading.Event(), threading.Event()

    def move() -> None:
        try:
            with transaction.atomic():
                Event.objects.filter(pk=event.pk).update(start_time=moved_to, end_time=moved_to + timedelta(hours=1))
                moved.set()
                assert not inserted.wait(0.5)  # the insert below is held until this commits
        finally:
            connections.close_all()

    mover = threading.Thread(target=move)
    mover.start()
    assert moved.wait(10)
    EventPermission.objects.create(event=event, user=friend, role="viewer")
    inserted.set()
    mover.join(10)

    assert EventPermission.objects.get(event=event, user=friend).event_start == moved_to
    assert_every_permission_follows_its_event()
