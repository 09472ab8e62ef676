"""POST /api/events/batch: all or nothing."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from events.models import Event
from sharing.models import EventPermission
from tests.factories import BASE_TIME, make_event
from tests.helpers import assert_problem, database_state

pytestmark = pytest.mark.django_db


def item(n: int, minutes: int = 30, **fields) -> dict:
    """The n-th item, each in its own hour so items never overlap unless a test wants them to."""
    start = BASE_TIME + timedelta(hours=n)
    return {
        "title": f"Item {n}",
        "start_time": start.isoformat(),
        "end_time": (start + timedelta(minutes=minutes)).isoformat(),
        **fields,
    }


@pytest.mark.parametrize("envelope", ["object", "bare-list"])
def test_a_batch_creates_every_event_at_version_1_with_a_history_row_each(api, me, envelope):
    items = [item(0), item(1, location="Room 2"), item(2, timezone="Europe/Paris")]
    payload = {"events": items} if envelope == "object" else items

    response = api.as_user(me).post("/api/events/batch", payload)

    assert response.status_code == 201, response.content
    results = response.json()["results"]
    assert [r["title"] for r in results] == ["Item 0", "Item 1", "Item 2"]
    for n, result in enumerate(results):
        assert result["version"] == 1
        assert result["my_role"] == "owner"
        assert result["owner"] == {"id": me.pk, "username": "me"}
        assert datetime.fromisoformat(result["start_time"]) == BASE_TIME + timedelta(hours=n)
    assert results[1]["location"] == "Room 2"
    assert results[2]["timezone"] == "Europe/Paris"

    ids = [r["id"] for r in results]
    assert set(Event.objects.filter(owner=me).values_list("pk", flat=True)) == set(ids)
    assert set(EventPermission.objects.filter(event_id__in=ids).values_list("event_id", "user_id", "role")) == {
        (event_id, me.pk, "owner") for event_id in ids
    }
    history = Event.history.filter(id__in=ids).values_list("id", "version", "history_action", "history_user_id")
    assert sorted(history) == sorted((event_id, 1, "created", me.pk) for event_id in ids)


def test_created_events_are_then_readable_and_listed(api, me):
    client = api.as_user(me)
    results = client.post("/api/events/batch", {"events": [item(0), item(1)]}).json()["results"]

    for result in results:
        detail = client.get(f"/api/events/{result['id']}")
        assert detail.status_code == 200
        assert detail.json()["version"] == 1
    assert client.get("/api/events").json()["count"] == 2


def test_a_batch_may_hold_recurring_events(api, me):
    response = api.as_user(me).post("/api/events/batch", [item(0, recurrence_pattern="FREQ=DAILY;COUNT=3"), item(5)])

    assert response.status_code == 201, response.content
    first, second = response.json()["results"]
    assert first["is_recurring"] is True
    assert set(first["recurrence_pattern"]) == {"rrule", "exdates", "rdates"}
    assert (second["is_recurring"], second["recurrence_pattern"]) == (False, None)


def test_500_items_are_accepted(api, me):
    response = api.as_user(me).post("/api/events/batch", [item(n) for n in range(500)])

    assert response.status_code == 201, response.content
    assert len(response.json()["results"]) == 500
    assert Event.objects.count() == 500
    assert Event.history.filter(history_action="created").count() == 500


def test_501_items_are_a_400_and_create_nothing(api, me):
    client = api.as_user(me)
    before = database_state()

    response = client.post("/api/events/batch", [item(n) for n in range(501)])

    assert_problem(response, 400)
    assert database_state() == before


@pytest.mark.parametrize("payload", [[], {"events": []}], ids=["bare-list", "object"])
def test_an_empty_batch_is_a_400(api, me, payload):
    client = api.as_user(me)
    before = database_state()

    assert_problem(client.post("/api/events/batch", payload, format="json"), 400)
    assert database_state() == before


@pytest.mark.parametrize(
    "payload",
    [{}, {"events": "nope"}, {"events": {"title": "x"}}, {"events": [42]}, {"events": [None]}],
    ids=["no-events", "string", "object", "number-item", "null-item"],
)
def test_a_malformed_batch_is_a_400(api, me, payload):
    assert_problem(api.as_user(me).post("/api/events/batch", payload, format="json"), 400)
    assert Event.objects.count() == 0


def test_one_bad_item_the_last_one_fails_the_batch_and_creates_nothing(api, me):
    make_event(me, title="Existing", start=BASE_TIME - timedelta(days=1))
    client = api.as_user(me)
    before = database_state()

    response = client.post("/api/events/batch", [item(0), item(1), {**item(2), "title": ""}])

    problem = assert_problem(response, 400)
    assert [entry["index"] for entry in problem["errors"]] == [2]
    assert "title" in problem["errors"][0]["errors"]
    assert database_state() == before


def test_every_bad_item_is_reported_with_its_index(api, me):
    items = [
        {**item(0), "title": "x" * 201},
        item(1),
        {**item(2), "end_time": item(1)["start_time"]},
        {**item(3), "timezone": "Nowhere/Nada"},
    ]

    problem = assert_problem(api.as_user(me).post("/api/events/batch", {"events": items}), 400)

    assert [(entry["index"], sorted(entry["errors"])) for entry in problem["errors"]] == [
        (0, ["title"]),
        (2, ["end_time"]),
        (3, ["timezone"]),
    ]
    assert Event.objects.count() == 0


def test_items_overlapping_each_other_are_a_409_and_create_nothing(api, me):
    client = api.as_user(me)
    before = database_state()

    response = client.post("/api/events/batch", [item(0), item(1), item(1, minutes=45, title="Clash")])

    problem = assert_problem(response, 409)
    assert problem["conflicts"]
    for conflict in problem["conflicts"]:
        assert {"event_id", "title", "start_time", "end_time"} <= conflict.keys()
        assert conflict["event_id"] is None  # another item of the batch: not an event yet
    assert {c["title"] for c in problem["conflicts"]} == {"Item 1", "Clash"}
    assert database_state() == before


def test_an_item_overlapping_the_calendar_is_a_409_naming_the_event(api, me):
    existing = make_event(me, title="Existing", start=BASE_TIME + timedelta(hours=1, minutes=15))
    client = api.as_user(me)
    before = database_state()

    response = client.post("/api/events/batch", [item(0), item(1)])

    problem = assert_problem(response, 409)
    assert [(c["event_id"], c["title"]) for c in problem["conflicts"]] == [(existing.pk, "Existing")]
    assert database_state() == before


@pytest.mark.parametrize("where", ["query", "body"])
def test_a_conflicting_batch_with_warn_is_created_and_lists_the_conflicts(api, me, where):
    existing = make_event(me, title="Existing", start=BASE_TIME)
    payload = {"events": [item(0), item(3), item(3, title="Clash")]}
    path = "/api/events/batch"
    if where == "query":
        path += "?conflict_strategy=warn"
    else:
        payload["conflict_strategy"] = "warn"

    response = api.as_user(me).post(path, payload)

    assert response.status_code == 201, response.content
    body = response.json()
    assert len(body["results"]) == 3
    titles = {c["title"] for c in body["conflicts"]}
    assert "Existing" in titles
    # Each of the two overlapping items names the other by its place in the batch.
    assert sorted((c["index"], c["title"], c.get("batch_index")) for c in body["conflicts"]) == [
        (0, "Existing", None),
        (1, "Clash", 2),
        (2, "Item 3", 1),
    ]
    assert existing.pk in {c["event_id"] for c in body["conflicts"]}
    assert Event.objects.count() == 4


def test_a_conflicting_batch_with_allow_is_created_without_conflicts(api, me):
    make_event(me, title="Existing", start=BASE_TIME)

    response = api.as_user(me).post("/api/events/batch?conflict_strategy=allow", [item(0), item(0)])

    assert response.status_code == 201, response.content
    assert not response.json().get("conflicts")
    assert Event.objects.count() == 3


def test_the_change_reason_is_recorded_on_every_first_version(api, me):
    response = api.as_user(me).post("/api/events/batch", {"events": [item(0), item(1)], "change_reason": "import"})

    assert response.status_code == 201, response.content
    ids = [r["id"] for r in response.json()["results"]]
    assert list(Event.history.filter(id__in=ids).values_list("history_change_reason", flat=True)) == ["import"] * 2


def test_anonymous_batch_is_a_401(api):
    response = api.as_user(None).post("/api/events/batch", [item(0)])

    assert_problem(response, 401)
    assert response["WWW-Authenticate"]
    assert Event.objects.count() == 0
