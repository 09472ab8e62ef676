"""Bad input answers 400 (or 404 for ids) as problem details, and writes nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest

from events.models import Event
from tests.factories import BASE_TIME, make_event
from tests.helpers import assert_problem, database_state

pytestmark = pytest.mark.django_db

START = BASE_TIME.isoformat()
END = (BASE_TIME + timedelta(hours=1)).isoformat()
VALID = {"title": "Valid", "start_time": START, "end_time": END}


def without(key: str) -> dict:
    return {k: v for k, v in VALID.items() if k != key}


INVALID_CREATES = [
    pytest.param({**VALID, "title": ""}, "title", id="title-empty"),
    pytest.param({**VALID, "title": "x" * 201}, "title", id="title-201"),
    pytest.param({**VALID, "description": "x" * 10_001}, "description", id="description-10001"),
    pytest.param({**VALID, "location": "x" * 256}, "location", id="location-256"),
    pytest.param({**VALID, "start_time": END, "end_time": START}, "end_time", id="end-before-start"),
    pytest.param({**VALID, "timezone": "Mars/Olympus_Mons"}, "timezone", id="bad-timezone"),
    pytest.param({**VALID, "timezone": ""}, "timezone", id="empty-timezone"),
    pytest.param({**VALID, "recurrence_pattern": "FREQ=SOMETIMES"}, "recurrence_pattern", id="bad-rrule"),
    pytest.param({**VALID, "recurrence_pattern": "not a rule"}, "recurrence_pattern", id="rrule-garbage"),
    pytest.param({**VALID, "recurrence_pattern": {"rrule": "FREQ=NEVER"}}, "recurrence_pattern", id="bad-rrule-obj"),
    pytest.param({**VALID, "recurrence_pattern": {"exdates": []}}, "recurrence_pattern", id="object-without-rrule"),
    pytest.param({**VALID, "recurrence_pattern": 42}, "recurrence_pattern", id="pattern-number"),
    pytest.param({**VALID, "recurrence_pattern": ["FREQ=DAILY"]}, "recurrence_pattern", id="pattern-list"),
    pytest.param({**VALID, "title": 123}, "title", id="title-number"),
    pytest.param({**VALID, "title": ["a"]}, "title", id="title-list"),
    pytest.param({**VALID, "title": {"a": 1}}, "title", id="title-object"),
    pytest.param({**VALID, "start_time": 123}, "start_time", id="start-number"),
    pytest.param({**VALID, "start_time": "tomorrow"}, "start_time", id="start-text"),
    pytest.param({**VALID, "start_time": "2030-02-30T09:00:00Z"}, "start_time", id="start-impossible-date"),
    pytest.param({**VALID, "is_all_day": "maybe"}, "is_all_day", id="all-day-maybe"),
    pytest.param(without("title"), "title", id="missing-title"),
    pytest.param(without("start_time"), "start_time", id="missing-start"),
    pytest.param(without("end_time"), "end_time", id="missing-end"),
    pytest.param({**VALID, "title": None}, "title", id="null-title"),
    pytest.param({**VALID, "start_time": None}, "start_time", id="null-start"),
    pytest.param({**VALID, "end_time": None}, "end_time", id="null-end"),
    pytest.param({**VALID, "conflict_strategy": "sometimes"}, "conflict_strategy", id="bad-strategy"),
]


@pytest.mark.parametrize("body, field", INVALID_CREATES)
def test_invalid_create_is_a_400_problem_naming_the_field_and_writes_nothing(api, user, body, field):
    client = api.as_user(user)
    before = database_state()

    response = client.post("/api/events", body)

    problem = assert_problem(response, 400)
    assert field in problem["errors"], problem
    assert isinstance(problem["errors"][field], list) and problem["errors"][field]
    assert database_state() == before


@pytest.mark.parametrize(
    "field, value",
    [("title", "x" * 200), ("description", "x" * 10_000), ("location", "x" * 255), ("title", "x")],
    ids=["title-200", "description-10000", "location-255", "title-1"],
)
def test_the_longest_allowed_values_are_accepted(api, user, field, value):
    response = api.as_user(user).post("/api/events", {**VALID, field: value})

    assert response.status_code == 201, response.content
    assert response.json()[field] == value
    assert getattr(Event.objects.get(pk=response.json()["id"]), field) == value


def test_a_zero_length_event_is_allowed(api, user):
    response = api.as_user(user).post("/api/events", {**VALID, "end_time": START})

    assert response.status_code == 201, response.content


@pytest.mark.parametrize(
    "raw, content_type",
    [
        (b'{"title": "x", ', "application/json"),
        (b"[1, 2, 3]", "application/json"),
        (b'"just a string"', "application/json"),
    ],
    ids=["truncated-json", "a-list", "a-string"],
)
def test_a_body_that_is_not_an_event_object_is_a_400_problem(api, user, raw, content_type):
    client = api.as_user(user)
    before = database_state()

    response = client.generic("POST", "/api/events", raw, content_type=content_type)

    assert_problem(response, 400)
    assert database_state() == before


INVALID_UPDATES = [
    pytest.param({"title": ""}, "title", id="title-empty"),
    pytest.param({"title": "x" * 201}, "title", id="title-201"),
    pytest.param({"title": None}, "title", id="title-null"),
    pytest.param({"description": "x" * 10_001}, "description", id="description-10001"),
    pytest.param({"location": "x" * 256}, "location", id="location-256"),
    pytest.param({"end_time": (BASE_TIME - timedelta(hours=1)).isoformat()}, "end_time", id="end-before-start"),
    pytest.param({"start_time": (BASE_TIME + timedelta(hours=2)).isoformat()}, "end_time", id="start-after-end"),
    pytest.param({"timezone": "Nowhere/Else"}, "timezone", id="bad-timezone"),
    pytest.param({"recurrence_pattern": "FREQ=SOMETIMES"}, "recurrence_pattern", id="bad-rrule"),
    pytest.param({"recurrence_pattern": 42}, "recurrence_pattern", id="pattern-number"),
    pytest.param({"start_time": 123}, "start_time", id="start-number"),
    pytest.param({"is_all_day": "maybe"}, "is_all_day", id="all-day-maybe"),
]


@pytest.mark.parametrize("method", ["put", "patch"])
@pytest.mark.parametrize("body, field", INVALID_UPDATES)
def test_invalid_update_is_a_400_problem_and_leaves_the_event_unchanged(api, user, method, body, field):
    event = make_event(user, title="Original")
    stored = Event.objects.filter(pk=event.pk).values().get()
    client = api.as_user(user)
    before = database_state()

    response = getattr(client, method)(f"/api/events/{event.pk}", body)

    problem = assert_problem(response, 400)
    assert field in problem["errors"], problem
    assert Event.objects.filter(pk=event.pk).values().get() == stored
    assert database_state() == before


UNKNOWN_IDS = ["999999", "0", "-1", "abc", "1.5", "1e3", "99999999999999999999999999"]


@pytest.mark.parametrize("event_id", UNKNOWN_IDS)
@pytest.mark.parametrize("method", ["get", "put", "patch", "delete"])
def test_unknown_or_malformed_event_id_is_a_404_problem(api, user, method, event_id):
    make_event(user)
    client = api.as_user(user)
    before = database_state()
    body = {"title": "x"} if method in ("put", "patch") else None

    response = getattr(client, method)(f"/api/events/{event_id}", body)

    assert_problem(response, 404)
    assert database_state() == before
