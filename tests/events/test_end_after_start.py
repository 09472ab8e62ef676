"""An event ends after it starts: `end_time` equal to `start_time` is a 400 naming `end_time` through every
door that writes times (create, update, batch, transactions, one occurrence), and nothing changes."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.factories import BASE_TIME, make_event
from tests.helpers import assert_problem, database_state

pytestmark = pytest.mark.django_db

START = BASE_TIME.isoformat()
LATER = (BASE_TIME + timedelta(hours=1)).isoformat()


def assert_refused_naming_end_time(response, before) -> None:
    problem = assert_problem(response, 400)
    assert problem["errors"]["end_time"] == ["end_time must be after start_time."], problem
    assert database_state() == before


def test_create(client):
    before = database_state()
    response = client.post("/api/events", {"title": "Zero", "start_time": START, "end_time": START})
    assert_refused_naming_end_time(response, before)


@pytest.mark.parametrize("method", ["put", "patch"])
@pytest.mark.parametrize(
    "body", [{"end_time": START}, {"start_time": LATER}, {"start_time": LATER, "end_time": LATER}], ids=str
)
def test_update(client, me, method, body):
    event = make_event(me)
    before = database_state()
    response = getattr(client, method)(f"/api/events/{event.pk}", body)
    assert_refused_naming_end_time(response, before)


def test_batch_names_the_item_and_the_field(client):
    before = database_state()
    good = {"title": "Fine", "start_time": START, "end_time": LATER}
    response = client.post("/api/events/batch", {"events": [good, {**good, "end_time": START}]})
    problem = assert_problem(response, 400)
    assert problem["errors"] == [{"index": 1, "errors": {"end_time": ["end_time must be after start_time."]}}]
    assert database_state() == before


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "create", "data": {"title": "Zero", "start_time": START, "end_time": START}},
        {"op": "update", "event_id": "$existing", "data": {"end_time": START}},
    ],
    ids=["create", "update"],
)
def test_transactions(client, me, operation):
    event = make_event(me)
    if operation.get("event_id") == "$existing":
        operation = {**operation, "event_id": event.pk}
    before = database_state()
    response = client.post(
        "/api/transactions",
        {"operations": [{"op": "update", "event_id": event.pk, "data": {"title": "First"}}, operation]},
    )
    problem = assert_problem(response, 400)
    assert problem["failed_index"] == 1
    assert "end_time" in problem["errors"], problem
    assert database_state() == before


@pytest.mark.parametrize(
    "body",
    [
        {"end_time": START},
        {"start_time": "2030-01-14T10:00:00Z", "end_time": "2030-01-14T10:00:00Z"},
    ],
    ids=["end-at-start", "both-equal"],
)
def test_one_occurrence(client, me, body):
    series = make_event(me, recurrence={"rrule": "FREQ=WEEKLY;COUNT=4", "exdates": [], "rdates": []})
    before = database_state()
    response = client.patch(f"/api/events/{series.pk}/occurrences/2030-01-14T09:00:00Z", body)
    assert_refused_naming_end_time(response, before)


def test_one_minute_is_enough(client):
    response = client.post(
        "/api/events",
        {"title": "Short", "start_time": START, "end_time": (BASE_TIME + timedelta(minutes=1)).isoformat()},
    )
    assert response.status_code == 201, response.content


def test_an_all_day_event_whose_last_day_is_its_first_is_that_one_day(client):
    response = client.post(
        "/api/events", {"title": "Day", "start_time": "2030-01-07", "end_time": "2030-01-07", "is_all_day": True}
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["start_time"], body["end_time"]) == ("2030-01-07T00:00:00+00:00", "2030-01-08T00:00:00+00:00")
