"""Real concurrent requests on PostgreSQL: writers racing on one event lose nothing.

Threads with their own database connections send PATCHes based on the version they just read;
the row lock serializes them, `on_conflict` resolves the stale ones. Afterwards every accepted
write must be in history at the version it was answered with, versions must be contiguous, and each
version must differ from the one before in exactly the field its write changed (nothing reverted).
SQLite runs one writer at a time, so these tests only run on PostgreSQL.
"""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from common.models import IdempotencyRecord
from events.models import Event
from sharing import services as sharing_services
from tests.factories import BASE_TIME, UserFactory, make_event
from tests.helpers import Client, run_threads

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]

WRITERS = 8
WRITES_EACH = 5
FIELDS = ("title", "description", "location")


@pytest.fixture
def shared_event():
    owner = UserFactory(username="owner")
    editors = [UserFactory(username=f"editor{n}") for n in range(WRITERS)]
    event = make_event(owner, title="Contended", description="", location="")
    sharing_services.event_share(
        event=event, actor=owner, targets=[{"user_id": user.pk, "role": "editor"} for user in editors]
    )
    return event, editors


def hammer(event, editors, strategy: str) -> list[dict]:
    clients = [Client().as_user(user) for user in editors]
    outcomes: list[dict] = []
    lock = threading.Lock()

    def writer(index: int) -> None:
        client = clients[index]
        field = FIELDS[index % len(FIELDS)]
        for n in range(WRITES_EACH):
            base = client.get(f"/api/events/{event.pk}").json()["version"]
            value = f"writer {index} write {n}"
            response = client.patch(
                f"/api/events/{event.pk}?on_conflict={strategy}", {field: value, "base_version": base}
            )
            body = response.json()
            with lock:
                outcomes.append(
                    {
                        "status": response.status_code,
                        "field": field,
                        "value": value,
                        "base": base,
                        "version": body.get("version"),
                        "merged": body.get("merged"),
                        "type": body.get("type"),
                    }
                )

    run_threads(len(editors), writer)
    return outcomes


def assert_nothing_lost(event, accepted: list[dict]) -> None:
    rows = {row.version: row for row in Event.history.filter(id=event.pk).exclude(history_type="-")}
    assert sorted(rows) == list(range(1, len(accepted) + 2))  # contiguous: one version per accepted write
    assert Event.objects.get(pk=event.pk).version == len(accepted) + 1
    assert len({write["version"] for write in accepted}) == len(accepted)
    for write in accepted:
        row, previous = rows[write["version"]], rows[write["version"] - 1]
        assert getattr(row, write["field"]) == write["value"], write
        changed = [field for field in FIELDS if getattr(row, field) != getattr(previous, field)]
        assert changed == [write["field"]], (write, changed)  # nothing else was reverted or dropped


def test_concurrent_merges_lose_no_accepted_write(shared_event):
    event, editors = shared_event

    outcomes = hammer(event, editors, "merge")

    accepted = [o for o in outcomes if o["status"] == 200]
    refused = [o for o in outcomes if o["status"] != 200]
    assert len(outcomes) == WRITERS * WRITES_EACH
    assert {(o["status"], o["type"]) for o in refused} <= {(409, "/problems/merge-conflict")}
    assert accepted
    assert all(o["merged"] == (o["base"] != o["version"] - 1) for o in accepted)
    assert_nothing_lost(event, accepted)


def test_concurrent_overwrites_are_all_accepted_and_all_recorded(shared_event):
    event, editors = shared_event

    outcomes = hammer(event, editors, "overwrite")

    assert [o["status"] for o in outcomes] == [200] * (WRITERS * WRITES_EACH)
    assert_nothing_lost(event, outcomes)
    overwrites = Event.history.filter(id=event.pk, history_change_reason__startswith="[overwrite")
    assert overwrites.count() == sum(o["base"] != o["version"] - 1 for o in outcomes)


def test_concurrent_rejects_accept_only_current_bases(shared_event):
    event, editors = shared_event

    outcomes = hammer(event, editors, "reject")

    accepted = [o for o in outcomes if o["status"] == 200]
    assert {o["status"] for o in outcomes} <= {200, 412}
    assert all(o["base"] == o["version"] - 1 for o in accepted)
    assert_nothing_lost(event, accepted)


def test_concurrent_first_requests_with_one_idempotency_key_create_once():
    me = UserFactory()
    clients = [Client().as_user(me) for _ in range(4)]
    start = BASE_TIME + timedelta(days=3)
    body = {"title": "Once", "start_time": start.isoformat(), "end_time": (start + timedelta(hours=1)).isoformat()}
    statuses: list[int] = []

    def post(index: int) -> None:
        response = clients[index].post("/api/events", body, HTTP_IDEMPOTENCY_KEY="same-key")
        statuses.append(response.status_code)

    run_threads(len(clients), post)

    assert Event.objects.filter(owner=me).count() == 1
    assert 201 in statuses
    assert set(statuses) <= {201, 409}  # a replay of the first answer, or "still running"
    assert IdempotencyRecord.objects.get(key="same-key").status_code == 201
