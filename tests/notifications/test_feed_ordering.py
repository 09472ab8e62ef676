"""The feed is gap-free under concurrent commits (PostgreSQL; SQLite runs one writer at a time).

The hazard: positions handed out at insert time become visible at commit time, so a reader could
see position 11 while 10 is still uncommitted, move its cursor past 10 and never get it. Each user's
counter row stays locked until the numbering transaction ends, so a second writer waits instead.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection, transaction

from events import services as event_services
from notifications.models import FeedEntry
from sharing import services as sharing_services
from tests.factories import BASE_TIME, UserFactory, make_event
from tests.helpers import Client

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]

TIMEOUT = 30


def sync_all(client, cursor: str | None) -> tuple[list[dict], str]:
    changes = []
    while True:
        body = client.get("/api/sync", {"cursor": cursor} if cursor else {}).json()
        changes += body["changes"]
        cursor = body["cursor"]
        if not body["has_more"]:
            return changes, cursor


def waiting_on_a_lock() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0]


def in_thread(target, errors: list) -> threading.Thread:
    def body():
        try:
            target()
        except BaseException as exc:  # noqa: BLE001 — re-raised in the test
            errors.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=body)
    thread.start()
    return thread


def test_a_later_writer_waits_for_the_earlier_one_to_commit_before_taking_a_position():
    # Two owners, two events: the writers share nothing but the watcher's feed.
    owner, other_owner, watcher = UserFactory.create_batch(3)
    first = make_event(owner, title="A")
    second = make_event(other_owner, title="B", start=BASE_TIME + timedelta(days=1))
    for event, actor in ((first, owner), (second, other_owner)):
        sharing_services.event_share(event=event, actor=actor, targets=[{"user_id": watcher.pk, "role": "viewer"}])
    reader = Client().as_user(watcher)
    _, cursor = sync_all(reader, None)

    holding, release, errors = threading.Event(), threading.Event(), []

    def slow_writer():
        with transaction.atomic():
            event_services.event_update(event=first, actor=owner, changes={"title": "A2"}, conflict_strategy="allow")
            holding.set()
            assert release.wait(TIMEOUT)

    def quick_writer():
        event_services.event_update(event=second, actor=other_owner, changes={"title": "B2"}, conflict_strategy="allow")

    slow = in_thread(slow_writer, errors)
    assert holding.wait(TIMEOUT)
    quick = in_thread(quick_writer, errors)
    deadline = time.monotonic() + TIMEOUT
    while waiting_on_a_lock() == 0:  # until the quick writer is blocked on the watcher's counter
        assert time.monotonic() < deadline, "the second writer never waited"
        time.sleep(0.01)

    # Neither change can be seen yet: the first is not committed, the second has no position yet.
    seen, _ = sync_all(reader, cursor)
    assert seen == []
    assert not FeedEntry.objects.filter(user=watcher, event_id=second.pk, change__version=2).exists()

    release.set()
    slow.join(TIMEOUT)
    quick.join(TIMEOUT)
    assert not errors, errors

    changes, _ = sync_all(reader, cursor)
    assert [(c["event_id"], c["event"]["title"]) for c in changes] == [(first.pk, "A2"), (second.pk, "B2")]
    positions = list(
        FeedEntry.objects.filter(user=watcher, change__version=2).order_by("seq").values_list("event_id", flat=True)
    )
    assert positions == [first.pk, second.pk]


def test_a_reader_racing_many_writers_gets_every_change_exactly_once():
    watcher = UserFactory()
    writers = UserFactory.create_batch(6)
    per_writer = 8
    reader = Client().as_user(watcher)
    _, start = sync_all(reader, None)
    done, errors = threading.Event(), []
    seen: list[tuple[str, int]] = []

    def write(owner, index: int):
        def body():
            for n in range(per_writer):
                event = make_event(owner, title=f"{index}-{n}", start=BASE_TIME + timedelta(days=index * 100 + n))
                sharing_services.event_share(
                    event=event, actor=owner, targets=[{"user_id": watcher.pk, "role": "viewer"}]
                )

        return body

    def read():
        cursor = start
        while not done.is_set():
            changes, cursor = sync_all(reader, cursor)
            seen.extend((c["type"], c["event_id"]) for c in changes)
        changes, cursor = sync_all(reader, cursor)
        seen.extend((c["type"], c["event_id"]) for c in changes)

    reading = in_thread(read, errors)
    writing = [in_thread(write(owner, index), errors) for index, owner in enumerate(writers)]
    for thread in writing:
        thread.join(120)
    done.set()
    reading.join(120)
    assert not errors, errors

    shared = set(FeedEntry.objects.filter(user=watcher).values_list("event_id", flat=True))
    assert len(shared) == len(writers) * per_writer
    assert sorted(seen) == sorted(("created", event_id) for event_id in shared)  # each once, none missing
