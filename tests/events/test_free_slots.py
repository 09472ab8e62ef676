"""The 409 of a scheduling conflict offers the next free slots of the same length (`next_free_slots`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from events.models import Event
from tests.factories import BASE_TIME, make_event
from tests.helpers import iso

pytestmark = pytest.mark.django_db

HOUR = timedelta(hours=1)
WEEK = timedelta(weeks=1)


def slots(response) -> list[tuple[datetime, datetime]]:
    assert response.status_code == 409, response.content
    return [
        (datetime.fromisoformat(s["start_time"]), datetime.fromisoformat(s["end_time"]))
        for s in response.json()["next_free_slots"]
    ]


def body(start: datetime, length: timedelta = HOUR, **fields) -> dict:
    return {"title": "New", "start_time": iso(start), "end_time": iso(start + length), **fields}


def test_a_rejected_event_is_offered_the_next_three_free_slots(client, me):
    make_event(me, title="A", start=BASE_TIME)  # 09-10
    make_event(me, title="B", start=BASE_TIME + HOUR, hours=0.5)  # 10-10:30
    make_event(me, title="C", start=BASE_TIME + 2 * HOUR)  # 11-12

    response = client.post("/api/events", body(BASE_TIME + HOUR / 2))

    # 10:30-11:30 would hit C; after C everything is free.
    assert slots(response) == [
        (BASE_TIME + 3 * HOUR, BASE_TIME + 4 * HOUR),
        (BASE_TIME + 4 * HOUR, BASE_TIME + 5 * HOUR),
        (BASE_TIME + 5 * HOUR, BASE_TIME + 6 * HOUR),
    ]
    assert Event.objects.count() == 3


def test_a_gap_of_the_right_length_is_found(client, me):
    make_event(me, title="A", start=BASE_TIME)  # 09-10
    make_event(me, title="B", start=BASE_TIME + 2 * HOUR)  # 11-12

    found = slots(client.post("/api/events", body(BASE_TIME + HOUR / 2)))

    assert found[0] == (BASE_TIME + HOUR, BASE_TIME + 2 * HOUR)  # 10-11 fits exactly between them
    assert found[1] == (BASE_TIME + 3 * HOUR, BASE_TIME + 4 * HOUR)


def test_slots_skip_a_busy_week(client, me):
    make_event(me, title="Conference", start=BASE_TIME, hours=24 * 7)

    found = slots(client.post("/api/events", body(BASE_TIME + 24 * HOUR)))

    assert found[0] == (BASE_TIME + WEEK, BASE_TIME + WEEK + HOUR)


def test_all_day_events_do_not_block_slots(client, me):
    make_event(me, title="A", start=BASE_TIME)
    make_event(me, title="Holiday", start=datetime(2030, 1, 7, tzinfo=UTC), hours=24, is_all_day=True)

    assert slots(client.post("/api/events", body(BASE_TIME)))[0] == (BASE_TIME + HOUR, BASE_TIME + 2 * HOUR)


def test_a_series_is_offered_a_shift_that_frees_every_occurrence(client, me):
    make_event(me, title="Dentist", start=BASE_TIME + 2 * WEEK + HOUR / 2)  # the third Monday, 09:30-10:30

    response = client.post("/api/events", body(BASE_TIME, recurrence_pattern="FREQ=WEEKLY;COUNT=5"))

    assert slots(response) == [
        (BASE_TIME + 1.5 * HOUR, BASE_TIME + 2.5 * HOUR),  # 10:30: the third Monday is then free too
        (BASE_TIME + 2.5 * HOUR, BASE_TIME + 3.5 * HOUR),
        (BASE_TIME + 3.5 * HOUR, BASE_TIME + 4.5 * HOUR),
    ]


def test_an_update_that_conflicts_is_offered_slots_that_ignore_the_event_itself(client, me):
    make_event(me, title="A", start=BASE_TIME)
    moving = make_event(me, title="Moving", start=BASE_TIME + HOUR)  # 10-11, right where the first slot is

    response = client.patch(
        f"/api/events/{moving.pk}", {"start_time": iso(BASE_TIME), "end_time": iso(BASE_TIME + HOUR)}, format="json"
    )

    assert slots(response)[0] == (BASE_TIME + HOUR, BASE_TIME + 2 * HOUR)


def test_warn_and_allow_have_no_slots(client, me):
    make_event(me, title="A", start=BASE_TIME)

    response = client.post("/api/events?conflict_strategy=warn", body(BASE_TIME))

    assert response.status_code == 201
    assert "next_free_slots" not in response.json()
