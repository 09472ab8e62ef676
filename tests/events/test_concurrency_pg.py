"""Conflict checks of concurrent writes on one calendar cannot both pass: real transactions on PostgreSQL.

Each thread has its own database connection. SQLite runs one writer at a time, so these tests only mean
something on PostgreSQL, where the calendar lock (events/locks.py, an advisory lock per user) does the work.
"""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection, transaction

from common.exceptions import SchedulingConflict
from events import services
from events.models import Event
from tests.factories import BASE_TIME, UserFactory
from tests.helpers import Client, iso, run_in_threads

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]

WAIT = 30  # seconds a thread may wait for the other before the test fails instead of hanging


@pytest.mark.parametrize("round_", range(5))
def test_two_overlapping_creates_at_the_same_moment_one_wins(round_):
    me = UserFactory(username=f"me{round_}")
    clients = [Client().as_user(me), Client().as_user(me)]
    start = BASE_TIME + timedelta(days=round_)
    barrier = threading.Barrier(2, timeout=WAIT)
    statuses: list[int] = []

    def attempt(client, minutes):
        def run():
            barrier.wait()  # both requests leave together
            begins = start + timedelta(minutes=minutes)
            response = client.post(
                "/api/events",
                {"title": f"At +{minutes}", "start_time": iso(begins), "end_time": iso(begins + timedelta(hours=1))},
            )
            statuses.append(response.status_code)

        return run

    run_in_threads(attempt(clients[0], 0), attempt(clients[1], 30))

    assert sorted(statuses) == [201, 409]
    assert Event.objects.filter(owner=me).count() == 1


def test_a_check_waits_for_the_transaction_that_holds_the_calendar_and_then_sees_its_event():
    """A deterministic interleaving: B's check starts while A's create is written but not committed."""
    me = UserFactory(username="me")
    a_written, b_waiting = threading.Event(), threading.Event()
    outcome: dict[str, object] = {}

    def changes(title: str, minutes: int) -> dict:
        start = BASE_TIME + timedelta(minutes=minutes)
        return {"title": title, "start_time": start, "end_time": start + timedelta(hours=1), "timezone": "UTC"}

    def first():
        with transaction.atomic():
            outcome["a"] = services.event_create(actor=me, changes=changes("A", 0)).event
            a_written.set()
            assert b_waiting.wait(WAIT), "B never queued behind A's lock"
        # A commits here; only now may B's check go on.

    def second():
        assert a_written.wait(WAIT)
        try:
            services.event_create(actor=me, changes=changes("B", 30))
            outcome["b"] = "created"
        except SchedulingConflict as exc:
            outcome["b"] = exc.extra["conflicts"]

    def watch():
        # B is blocked once PostgreSQL shows an advisory lock request that is not granted.
        assert a_written.wait(WAIT)
        with connection.cursor() as cursor:
            for _ in range(WAIT * 100):
                cursor.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
                if cursor.fetchone()[0]:
                    b_waiting.set()
                    return
                threading.Event().wait(0.01)

    run_in_threads(first, second, watch)

    assert b_waiting.is_set()
    assert [c["event_id"] for c in outcome["b"]] == [outcome["a"].pk]
    assert list(Event.objects.values_list("title", flat=True)) == ["A"]


def test_concurrent_changes_to_two_occurrences_of_one_series_both_land():
    """The series row lock serializes exception writes: neither change is lost."""
    me = UserFactory(username="me")
    series = services.event_create(
        actor=me,
        changes={
            "title": "Weekly",
            "start_time": BASE_TIME,
            "end_time": BASE_TIME + timedelta(hours=1),
            "timezone": "UTC",
            "recurrence": {"rrule": "FREQ=WEEKLY;COUNT=4", "exdates": [], "rdates": []},
        },
    ).event
    barrier = threading.Barrier(2, timeout=WAIT)

    def cancel(week: int):
        def run():
            barrier.wait()
            services.event_occurrence_change(
                event=series, actor=me, original_start=BASE_TIME + timedelta(weeks=week), changes={"cancelled": True}
            )

        return run

    run_in_threads(cancel(1), cancel(2))

    stored = Event.objects.get(pk=series.pk)
    assert stored.version == 3
    assert sorted(stored.exceptions) == [iso(BASE_TIME + timedelta(weeks=week)) for week in (1, 2)]
