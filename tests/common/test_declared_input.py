"""A query parameter or body member an operation does not declare in the OpenAPI schema is a 400 naming it,
on every /api/ operation (walked from the schema itself); read-only members of an event are accepted."""

from __future__ import annotations

import re
from functools import cache

import pytest
from drf_spectacular.settings import spectacular_settings

from common.declared_input import operations
from events.models import Event
from tests.factories import UserFactory, make_event
from tests.helpers import assert_problem, database_state

pytestmark = pytest.mark.django_db

UNDECLARED = "surely_not_a_parameter"
WRITES = ("post", "put", "patch")


@cache
def schema() -> dict:
    return spectacular_settings.DEFAULT_GENERATOR_CLASS().get_schema(request=None, public=True)


def api_operations() -> list[tuple[str, str, dict]]:
    return [
        (method, path, operation)
        for path, item in schema()["paths"].items()
        if path.startswith("/api/")
        for method, operation in item.items()
        if method in ("get", *WRITES, "delete")
    ]


def _url(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)  # the check runs before the view looks anything up


def _json_body(operation: dict) -> bool:
    return "application/json" in operation.get("requestBody", {}).get("content", {})


@pytest.fixture
def staff_client(api):
    # Staff: every operation lets them in (the audit trail too), so each request reaches the check.
    return api.as_user(UserFactory(username="checker", is_staff=True))


def test_every_api_operation_of_the_schema_is_checked():
    in_schema = {(path, method) for method, path, _ in api_operations()}
    assert len(operations()) == len(in_schema)


@pytest.mark.parametrize("method, path", [(m, p) for m, p, _ in api_operations()], ids=lambda value: value)
def test_an_undeclared_query_parameter_is_refused(staff_client, method, path):
    before = database_state()
    response = getattr(staff_client, method)(f"{_url(path)}?{UNDECLARED}=1", {}, format="json")
    body = assert_problem(response, 400)
    assert body["errors"] == {UNDECLARED: ["Not a query parameter of this endpoint."]}
    assert database_state() == before


@pytest.mark.parametrize(
    "method, path",
    [
        (m, p)
        for m, p, op in api_operations()
        if m in (*WRITES, "delete") and (_json_body(op) or "requestBody" not in op)
    ],
    ids=lambda value: value,
)
def test_an_undeclared_body_member_is_refused(staff_client, method, path):
    before = database_state()
    response = getattr(staff_client, method)(_url(path), {UNDECLARED: 1}, format="json")
    body = assert_problem(response, 400)
    assert body["errors"][UNDECLARED] == ["Not a member this endpoint takes."]
    assert database_state() == before


def test_declared_parameters_and_format_still_work(client, event):
    assert client.get("/api/events", {"q": "Plan", "page_size": 5, "format": "json"}).status_code == 200
    assert client.get("/api/schema", {"format": "json"}).status_code == 200
    page = client.get("/api/events", HTTP_ACCEPT="text/html")
    assert page.status_code == 200 and page["Content-Type"].startswith("text/html")


def test_an_event_read_can_be_sent_back_with_its_read_only_members(client, event):
    read = client.get(f"/api/events/{event.pk}").json()
    assert {"id", "version", "created_at", "owner", "my_role", "permissions"} <= read.keys()

    response = client.put(f"/api/events/{event.pk}", {**read, "title": "Sent back"}, format="json")

    assert response.status_code == 200, response.content
    event.refresh_from_db()
    assert (event.title, event.version) == ("Sent back", 2)


def test_a_nested_undeclared_member_is_named_by_its_path(client, event, alice):
    before = database_state()
    share = client.post(f"/api/events/{event.pk}/share", {"users": [{"username": "alice", "rol": "editor"}]})
    assert assert_problem(share, 400)["errors"] == {"users.0.rol": ["Not a member this endpoint takes."]}
    # A transaction names the operation, as for any other failure of one.
    response = client.post(
        "/api/transactions",
        {"operations": [{"op": "update", "event_id": event.pk, "data": {"titel": "typo", "version": 9}}]},
        format="json",
    )
    problem = assert_problem(response, 400)
    assert (problem["failed_index"], problem["errors"]) == (0, {"data.titel": ["Not a member this endpoint takes."]})
    assert database_state() == before


def test_a_typo_in_a_filter_is_not_silently_a_full_list(client, me):
    make_event(me, title="Mine")
    response = client.get("/api/events", {"updated_sinse": "2030-01-01T00:00:00Z"})
    assert assert_problem(response, 400)["errors"] == {"updated_sinse": ["Not a query parameter of this endpoint."]}
    assert Event.objects.count() == 1


def test_a_delete_takes_the_body_it_declares_and_nothing_else(client, me):
    event = make_event(me, title="Doomed")
    declared = schema()["paths"]["/api/events/{id}/"]["delete"]["requestBody"]["content"]["application/json"]
    assert declared["schema"]["$ref"].endswith("/DeleteInputRequest")

    typo = client.delete(f"/api/events/{event.pk}", {"base_versoin": 1}, format="json")

    assert assert_problem(typo, 400)["errors"] == {"base_versoin": ["Not a member this endpoint takes."]}
    assert Event.objects.filter(pk=event.pk, deleted_at__isnull=True).exists()
    deleted = client.delete(f"/api/events/{event.pk}", {"base_version": 1, "change_reason": "gone"}, format="json")
    assert deleted.status_code == 204, deleted.content


def _batch_item(title: str, **extra) -> dict:
    return {"title": title, "start_time": "2031-03-03T09:00:00Z", "end_time": "2031-03-03T10:00:00Z", **extra}


def test_a_batch_names_the_item_with_a_member_it_does_not_take_and_creates_nothing(client, me):
    before = database_state()
    items = [_batch_item("Fine"), _batch_item("Typo", locaton="Room 1"), _batch_item("Own option", change_reason="x")]

    response = client.post("/api/events/batch", {"events": items}, format="json")

    problem = assert_problem(response, 400)
    assert problem["errors"] == [
        {"index": 1, "errors": {"locaton": ["Not a member this endpoint takes."]}},
        {"index": 2, "errors": {"change_reason": ["Not a member this endpoint takes."]}},
    ]
    assert database_state() == before
    # The batch's own options stay at its top level, and an item read back from the API may be sent again.
    read = client.get(f"/api/events/{make_event(me, title='Read').pk}").json()
    del read["uid"]  # a UID is unique among the owner's events
    created = client.post(
        "/api/events/batch",
        {"events": [_batch_item("Fine"), {**read, "title": "Sent back"}], "conflict_strategy": "allow"},
        format="json",
    )
    assert created.status_code == 201, created.content
    assert [item["title"] for item in created.json()["results"]] == ["Fine", "Sent back"]
