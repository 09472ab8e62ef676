"""Window queries and conflict checks cost a fixed number of queries, however big the calendar.

Measured counts (queries the view runs; the authenticated user is one of them):
- GET /api/events?start&end: the user, COUNT(*), the page, the recurring candidates = 4.
- GET /api/events?start&end&expand=true: the user, the recurring candidates, the first one-off events = 3.
- GET /api/freebusy and GET /api/events/conflicts: the same three.
- a conflict check (scheduling.conflicts.event_conflicts): 1, the candidates that may overlap.
- POST /api/events (a checked create): whatever the write costs, the same at any size.
- the free slots of a 409: at most one query per reach tried, one for a series' recurring candidates and
  one per check of a shift (free_slots._SLOT_MAX_CHECKS), at any size.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from events import services as event_services
from events.models import Event
from scheduling import conflicts, free_slots
from sharing import services as sharing_services
from tests.factories import BASE_TIME, UserFactory, make_event

pytestmark = pytest.mark.django_db

WINDOW_LIST_QUERIES = 4
EXPAND_QUERIES = 3
CALENDAR_QUERIES = 3
CHECK_QUERIES = 1
WEEK = timedelta(weeks=1)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


@pytest.fixture
def me(db):
    return UserFactory(username="me")


def calendar(me, size: int) -> None:
    """`size` events on my calendar: a fifth weekly series begun a year earlier (some with a cancelled and a
    moved occurrence), the rest one-off events over the coming weeks, half of them shared with me."""
    other = UserFactory()
    for n in range(size):
        owner = me if n % 2 else other
        if n % 5 == 0:
            start = BASE_TIME - 52 * WEEK + timedelta(hours=n % 9, minutes=7 * n % 60)
            rule = {"rrule": "FREQ=WEEKLY", "exdates": [], "rdates": []}
            event = make_event(owner, title=f"Series {n}", start=start, recurrence=rule)
            if n % 10 == 0:
                this_week = start + 52 * WEEK
                moved = this_week + WEEK + timedelta(days=1)
                for original, changes in (
                    (this_week, {"cancelled": True}),
                    (this_week + WEEK, {"start": moved, "end": moved + timedelta(hours=1)}),
                ):
                    event_services.event_occurrence_change(
                        event=event, actor=owner, original_start=original, changes=changes, conflict_strategy="allow"
                    )
        else:
            event = make_event(owner, title=f"One-off {n}", start=BASE_TIME + timedelta(days=n % 20, hours=n % 8))
        if owner is other:
            sharing_services.event_share(event=event, actor=other, targets=[{"user_id": me.pk, "role": "viewer"}])


SIZES = [10, 60]
WINDOW = {"start": iso(BASE_TIME), "end": iso(BASE_TIME + 4 * WEEK)}


@pytest.mark.parametrize("size", SIZES)
def test_a_window_query_costs_the_same_at_any_size(api, me, django_assert_num_queries, size):
    calendar(me, size)
    client = api.as_user(me)

    with django_assert_num_queries(WINDOW_LIST_QUERIES):
        response = client.get("/api/events", WINDOW)

    assert response.status_code == 200
    assert response.json()["count"] == size  # every series has an occurrence in these four weeks


@pytest.mark.parametrize("size", SIZES)
def test_an_expanded_window_costs_the_same_at_any_size(api, me, django_assert_num_queries, size):
    calendar(me, size)
    client = api.as_user(me)

    with django_assert_num_queries(EXPAND_QUERIES):
        response = client.get("/api/events", {**WINDOW, "expand": "true", "page_size": 100})

    assert response.status_code == 200
    series = size // 5
    assert response.json()["count"] == (size - series) + series * 4 - (size // 10)  # one cancelled each


@pytest.mark.parametrize("path", ["/api/freebusy", "/api/events/conflicts"])
@pytest.mark.parametrize("size", SIZES)
def test_calendar_reads_cost_the_same_at_any_size(api, me, django_assert_num_queries, size, path):
    calendar(me, size)
    client = api.as_user(me)

    with django_assert_num_queries(CALENDAR_QUERIES):
        response = client.get(path, WINDOW)

    assert response.status_code == 200


@pytest.mark.parametrize("size", SIZES)
def test_a_conflict_check_of_a_weekly_series_is_one_query(me, django_assert_num_queries, size):
    calendar(me, size)
    new = Event(
        title="New",
        start_time=BASE_TIME + timedelta(hours=20),
        end_time=BASE_TIME + timedelta(hours=21),
        timezone="UTC",
        recurrence={"rrule": "FREQ=WEEKLY", "exdates": [], "rdates": []},
    )

    with django_assert_num_queries(CHECK_QUERIES):
        found = conflicts.event_conflicts(user=me, event=new)

    assert found == []


def count_queries(callable_) -> int:
    with CaptureQueriesContext(connection) as captured:
        callable_()
    return len(captured.captured_queries)


def test_a_checked_create_costs_the_same_on_a_small_and_a_big_calendar(api, me):
    def creates(size: int) -> int:
        Event.objects.all().delete()
        calendar(me, size)
        client = api.as_user(me)
        start = BASE_TIME + timedelta(days=40)
        payload = {
            "title": "Weekly",
            "start_time": iso(start),
            "end_time": iso(start + timedelta(hours=1)),
            "recurrence_pattern": "FREQ=WEEKLY;COUNT=20",
        }
        responses = []
        count = count_queries(lambda: responses.append(client.post("/api/events", payload, format="json")))
        assert responses[0].status_code == 201, responses[0].content
        return count

    assert creates(10) == creates(60)


# The free-slot search of a 409: one query per reach, one for a series' recurring candidates, one per check.
SLOT_QUERIES_AT_MOST = len(free_slots._SLOT_REACH_SERIES) + 1 + free_slots._SLOT_MAX_CHECKS


@pytest.mark.parametrize("size", SIZES)
def test_the_free_slot_search_of_a_409_is_bounded_at_any_size(me, size):
    calendar(me, size)
    start = BASE_TIME + timedelta(days=1, hours=1)  # where the calendar is busy
    new = Event(
        title="New",
        start_time=start,
        end_time=start + timedelta(hours=1),
        timezone="UTC",
        recurrence={"rrule": "FREQ=WEEKLY;COUNT=20", "exdates": [], "rdates": []},
    )
    assert conflicts.event_conflicts(user=me, event=new)
    found = []

    queries = count_queries(
        lambda: found.extend(free_slots.next_free_slots(user=me, occurrences=conflicts.event_candidates(new)))
    )

    assert len(found) == 3
    assert queries <= SLOT_QUERIES_AT_MOST
