"""Parallel batch creates on PostgreSQL: all or nothing each, no double booking, nothing duplicated.

Every thread sends its own `POST /api/events/batch` through its own database connection, released
together by a barrier. The calendar lock (events/locks.py) must serialize the conflict checks of
batches and single creates on one calendar, so that under `reject` two overlapping writes can never
both land, and a batch that loses lands none of its items.
"""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from events.models import Event
from tests.factories import BASE_TIME, UserFactory
from tests.helpers import Client, iso, run_threads

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]

BATCHES = 4
ITEMS = 25


def items(label: str, first_day: int, minutes_offset: int = 0) -> list[dict]:
    """ITEMS one-hour events on consecutive days, starting `first_day` days after BASE_TIME."""
    out = []
    for index in range(ITEMS):
        begins = BASE_TIME + timedelta(days=first_day + index, minutes=minutes_offset)
        out.append(
            {"title": f"{label} {index}", "start_time": iso(begins), "end_time": iso(begins + timedelta(hours=1))}
        )
    return out


def post_batches(me, bodies: list[list[dict]]) -> list[tuple[int, dict]]:
    clients = [Client().as_user(me) for _ in bodies]
    answers: list[tuple[int, dict]] = [(0, {})] * len(bodies)
    lock = threading.Lock()

    def send(index: int) -> None:
        response = clients[index].post("/api/events/batch", {"events": bodies[index]}, format="json")
        with lock:
            answers[index] = (response.status_code, response.json())

    run_threads(len(bodies), send)
    return answers


@pytest.mark.parametrize("round_", range(3))
def test_overlapping_batches_at_once_land_exactly_one(round_):
    me = UserFactory(username=f"me{round_}")
    # Every batch books the same 25 days, each shifted by a few minutes: each overlaps all others.
    bodies = [items(f"batch{b}", first_day=round_ * 100, minutes_offset=5 * b) for b in range(BATCHES)]

    answers = post_batches(me, bodies)

    statuses = sorted(status for status, _ in answers)
    assert statuses == [201] + [409] * (BATCHES - 1), answers
    winner = next(index for index, (status, _) in enumerate(answers) if status == 201)
    titles = set(Event.objects.filter(owner=me).values_list("title", flat=True))
    assert titles == {item["title"] for item in bodies[winner]}  # the winner whole, no loser item
    for status, body in answers:
        if status == 409:
            assert body["type"].endswith("/problems/scheduling-conflict") and body["conflicts"], body


def test_disjoint_batches_at_once_all_land_once_with_one_version_each():
    me = UserFactory(username="me")
    bodies = [items(f"batch{b}", first_day=b * ITEMS) for b in range(BATCHES)]

    answers = post_batches(me, bodies)

    assert [status for status, _ in answers] == [201] * BATCHES, answers
    events = Event.objects.filter(owner=me)
    assert events.count() == BATCHES * ITEMS
    assert len(set(events.values_list("title", flat=True))) == BATCHES * ITEMS  # no duplicate
    assert set(events.values_list("version", flat=True)) == {1}
    assert Event.history.filter(owner=me).count() == BATCHES * ITEMS  # one history row per event
    returned = {result["id"] for _, body in answers for result in body["results"]}
    assert returned == set(events.values_list("pk", flat=True))


def test_a_batch_and_single_creates_racing_for_the_same_slots_never_both_land():
    me = UserFactory(username="me")
    batch = items("batch", first_day=0)
    singles = [items("single", first_day=0, minutes_offset=30)[index] for index in (0, 12, 24)]
    clients = [Client().as_user(me) for _ in range(1 + len(singles))]
    statuses: list[int] = [0] * len(clients)

    def send(index: int) -> None:
        if index == 0:
            response = clients[0].post("/api/events/batch", {"events": batch}, format="json")
        else:
            response = clients[index].post("/api/events", singles[index - 1], format="json")
        statuses[index] = response.status_code

    run_threads(len(clients), send)

    assert set(statuses) <= {201, 409}, statuses
    titles = set(Event.objects.filter(owner=me).values_list("title", flat=True))
    if statuses[0] == 201:  # the batch won: every single that overlaps it lost
        assert statuses[1:] == [409] * len(singles)
        assert titles == {item["title"] for item in batch}
    else:  # a single won first: the batch landed nothing
        assert 201 in statuses[1:]
        assert titles == {singles[i - 1]["title"] for i, status in enumerate(statuses) if i and status == 201}
