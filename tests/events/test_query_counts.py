"""A page of events and one event cost a fixed number of queries, however much data there is.

Measured counts:
- GET /api/events: the authenticated user, and the page with the calendar's size (COUNT(*) in a subquery) for
  the paginator (owner joined, my_role from the permission) = 2.
- with a window: + the recurring candidates, loaded once to be expanded in memory = 4.
- GET /api/events/{id}: the user, the event, its permissions with users joined = 3.
- GET /api/events/{id}/permissions: the user, the event, the permissions = 3.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from accounts.models import User
from events import selectors
from events.serializers import EventSerializer
from sharing import services as sharing_services
from tests.factories import BASE_TIME, UserFactory, make_event

pytestmark = pytest.mark.django_db

LIST_QUERIES = 2
WINDOW_LIST_QUERIES = 4
DETAIL_QUERIES = 3
PERMISSIONS_QUERIES = 3


def shared_calendar(me, *, events: int, collaborators: int) -> list:
    """`events` events owned by three others, each shared with me and with `collaborators` more users."""
    owners = [UserFactory() for _ in range(3)]
    others = [UserFactory() for _ in range(collaborators)]
    made = []
    for n in range(events):
        owner = owners[n % 3]
        event = make_event(owner, title=f"E{n:03}", start=BASE_TIME + timedelta(hours=n), location=f"Room {n}")
        sharing_services.event_share(
            event=event,
            actor=owner,
            targets=[{"user_id": me.pk, "role": "viewer" if n % 2 else "editor"}]
            + [{"user_id": user.pk, "role": "viewer"} for user in others],
        )
        made.append(event)
    return made


def test_the_list_of_20_shared_events_costs_a_fixed_number_of_queries(api, me, django_assert_num_queries):
    shared_calendar(me, events=20, collaborators=4)
    client = api.as_user(me)  # issuing the token writes; keep it out of the count

    with django_assert_num_queries(LIST_QUERIES):
        response = client.get("/api/events")

    assert response.status_code == 200
    body = response.json()
    assert (body["count"], len(body["results"])) == (20, 20)
    assert {item["my_role"] for item in body["results"]} == {"viewer", "editor"}
    assert all(item["owner"]["username"] for item in body["results"])


def test_a_list_page_loads_only_what_it_shows(me, django_assert_num_queries):
    """The page leaves what the answer does not show unread (the owner's password hash among it); a deferred
    field read while rendering would cost a query per event, which the count would show."""
    shared_calendar(me, events=20, collaborators=2)

    with django_assert_num_queries(1):
        page = selectors.CalendarPages(me)[0:20]
        rendered = EventSerializer(page, many=True).data

    assert len(rendered) == 20
    unread_owner = {field.attname for field in User._meta.concrete_fields} - {"id", "username"}
    for event in page:  # still unread after rendering
        assert event.get_deferred_fields() == {"deleted_at", "series_start", "series_end", "ical_extra"}
        assert event.owner.get_deferred_fields() == unread_owner
        assert "password" in unread_owner


@pytest.mark.parametrize("events, collaborators", [(5, 2), (50, 20)])
def test_the_list_does_not_grow_with_the_data(api, me, django_assert_num_queries, events, collaborators):
    shared_calendar(me, events=events, collaborators=collaborators)
    client = api.as_user(me)

    with django_assert_num_queries(LIST_QUERIES):
        response = client.get("/api/events")

    assert response.status_code == 200
    assert (response.json()["count"], len(response.json()["results"])) == (events, min(events, 20))


@pytest.mark.parametrize("events", [5, 50])
def test_a_windowed_list_with_recurring_events_does_not_grow_with_the_data(api, me, django_assert_num_queries, events):
    shared_calendar(me, events=events, collaborators=2)
    client = api.as_user(me)
    for n in range(events // 5):  # a fifth of them weekly series that started a year earlier
        created = client.post(
            "/api/events?conflict_strategy=allow",
            {
                "title": f"Weekly {n}",
                "start_time": (BASE_TIME - timedelta(weeks=52, hours=-n)).isoformat(),
                "end_time": (BASE_TIME - timedelta(weeks=52, hours=-n - 1)).isoformat(),
                "recurrence_pattern": "FREQ=WEEKLY",
            },
        )
        assert created.status_code == 201, created.content
    window = {"start": BASE_TIME.isoformat(), "end": (BASE_TIME + timedelta(days=7)).isoformat()}

    with django_assert_num_queries(WINDOW_LIST_QUERIES):
        response = client.get("/api/events", window)

    assert response.status_code == 200
    assert response.json()["count"] == events + events // 5


def test_the_detail_with_10_collaborators_costs_a_fixed_number_of_queries(api, me, django_assert_num_queries):
    [event] = shared_calendar(me, events=1, collaborators=9)
    client = api.as_user(me)

    with django_assert_num_queries(DETAIL_QUERIES):
        response = client.get(f"/api/events/{event.pk}")

    assert response.status_code == 200
    assert len(response.json()["permissions"]) == 11  # the owner, me and nine others


@pytest.mark.parametrize("collaborators", [2, 20])
def test_the_detail_does_not_grow_with_collaborators(api, me, django_assert_num_queries, collaborators):
    [event] = shared_calendar(me, events=1, collaborators=collaborators)
    client = api.as_user(me)

    with django_assert_num_queries(DETAIL_QUERIES):
        response = client.get(f"/api/events/{event.pk}")

    assert response.status_code == 200
    permissions = response.json()["permissions"]
    assert len(permissions) == collaborators + 2
    assert all(p["user"]["username"] and p["granted_by"]["username"] for p in permissions)


@pytest.mark.parametrize("collaborators", [2, 20])
def test_the_permissions_list_does_not_grow_with_collaborators(api, me, django_assert_num_queries, collaborators):
    [event] = shared_calendar(me, events=1, collaborators=collaborators)
    client = api.as_user(me)

    with django_assert_num_queries(PERMISSIONS_QUERIES):
        response = client.get(f"/api/events/{event.pk}/permissions")

    assert response.status_code == 200
    assert len(response.json()["results"]) == collaborators + 2
