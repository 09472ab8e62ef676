"""POST /api/transactions: operations in order, in one database transaction, all or nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest

from events.models import Event
from history.models import AuditEntry
from sharing.models import EventPermission
from tests.factories import BASE_TIME, UserFactory, make_event
from tests.helpers import database_state, edit
from transactions.operations import MAX_OPERATIONS

pytestmark = pytest.mark.django_db

URL = "/api/transactions"


def fields(title: str = "Kickoff", days: int = 10, **extra) -> dict:
    start = BASE_TIME + timedelta(days=days)
    return {
        "title": title,
        "start_time": start.isoformat(),
        "end_time": (start + timedelta(hours=1)).isoformat(),
        **extra,
    }


def assert_failed(response, status: int, index: int, slug: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/problem+json")
    problem = response.json()
    assert (problem["status"], problem["type"], problem["failed_index"]) == (status, f"/problems/{slug}", index)
    assert "Nothing was changed" in problem["detail"]
    return problem


def test_create_then_share_the_new_event_in_one_call(client, me):
    friend = UserFactory(username="friend")

    response = client.post(
        URL,
        {
            "operations": [
                {"op": "create", "data": fields()},
                {"op": "share", "event_id": "$0.id", "users": [{"user_id": friend.pk, "role": "editor"}]},
                {"op": "update", "event_id": "$0.id", "data": {"location": "Room 7", "base_version": 1}},
            ]
        },
    )

    assert response.status_code == 200, response.content
    results = response.json()["results"]
    assert [(r["op"], r["status"]) for r in results] == [("create", 201), ("share", 200), ("update", 200)]
    event_id = results[0]["result"]["id"]
    assert (results[0]["result"]["title"], results[0]["result"]["version"]) == ("Kickoff", 1)
    assert {p["user"]["username"]: p["role"] for p in results[1]["result"]["results"]} == {
        "me": "owner",
        "friend": "editor",
    }
    assert (results[2]["result"]["location"], results[2]["result"]["version"]) == ("Room 7", 2)
    event = Event.objects.get(pk=event_id)
    assert (event.owner, event.location, event.version) == (me, "Room 7", 2)
    assert EventPermission.objects.get(event=event, user=friend).role == "editor"
    assert list(Event.history.filter(id=event_id).order_by("version").values_list("version", "history_action")) == [
        (1, "created"),
        (2, "updated"),
    ]


def test_a_failing_operation_rolls_back_everything_before_it(client, me):
    stranger_event = make_event(UserFactory(), title="Not yours")
    before = database_state()

    response = client.post(
        URL,
        {
            "operations": [
                {"op": "create", "data": fields()},
                {"op": "update", "event_id": stranger_event.pk, "data": {"title": "Mine now"}},
            ]
        },
    )

    problem = assert_failed(response, 404, 1, "not-found")
    assert problem["failed_op"] == "update"
    assert database_state() == before


def test_a_role_refusal_inside_fails_the_transaction_with_403(api, event_with_roles):
    event, users = event_with_roles
    editor = api.as_user(users["editor"])
    before = database_state()

    response = editor.post(
        URL,
        {
            "operations": [
                {"op": "update", "event_id": event.pk, "data": {"title": "Edited"}},
                {"op": "delete", "event_id": event.pk},
            ]
        },
    )

    assert_failed(response, 403, 1, "forbidden")
    assert database_state() == before


def test_invalid_data_reports_its_field_errors_and_index(client, me):
    before = database_state()

    response = client.post(
        URL,
        {"operations": [{"op": "create", "data": fields()}, {"op": "create", "data": {"title": "No times"}}]},
    )

    problem = assert_failed(response, 400, 1, "validation-error")
    assert {"start_time", "end_time"} <= problem["errors"].keys()
    assert database_state() == before


@pytest.mark.parametrize(
    "operation, field",
    [
        ({"op": "teleport"}, "op"),
        ({"op": ["create"]}, "op"),
        ({"title": "no op"}, "op"),
        ({"op": "create"}, "data"),
        ({"op": "update", "event_id": "$1.id", "data": {"title": "x"}}, "event_id"),
        ({"op": "update", "event_id": "$0.nope", "data": {"title": "x"}}, "event_id"),
        ({"op": "update", "event_id": "$zero", "data": {"title": "x"}}, "event_id"),
    ],
)
def test_malformed_operations_and_references_are_400s(client, operation, field):
    before = database_state()

    response = client.post(URL, {"operations": [{"op": "create", "data": fields()}, operation]})

    assert field in assert_failed(response, 400, 1, "validation-error")["errors"]
    assert database_state() == before


def test_a_stale_base_version_is_a_412_with_the_current_version(client, me):
    event = make_event(me)
    client.patch(f"/api/events/{event.pk}", {"title": "v2"})
    before = database_state()

    response = client.post(
        URL,
        {
            "operations": [
                {"op": "create", "data": fields()},
                {"op": "update", "event_id": event.pk, "data": {"title": "stale", "base_version": 1}},
            ]
        },
    )

    assert assert_failed(response, 412, 1, "precondition-failed")["current_version"] == 2
    assert database_state() == before


def test_an_update_may_merge_and_a_merge_conflict_fails_the_transaction(client, me):
    event = make_event(me, title="Base")
    client.patch(f"/api/events/{event.pk}", {"title": "Theirs"})

    merged = client.post(
        URL,
        {
            "operations": [
                {
                    "op": "update",
                    "event_id": event.pk,
                    "data": {"location": "Mine", "base_version": 1, "on_conflict": "merge"},
                }
            ]
        },
    )
    before = database_state()
    conflicting = client.post(
        URL,
        {
            "operations": [
                {
                    "op": "update",
                    "event_id": event.pk,
                    "data": {"title": "Mine", "base_version": 1, "on_conflict": "merge"},
                }
            ]
        },
    )

    assert merged.status_code == 200, merged.content
    assert merged.json()["results"][0]["result"]["merged"] is True
    problem = assert_failed(conflicting, 409, 0, "merge-conflict")
    assert problem["conflicts"]["title"] == {"base": "Base", "current": "Theirs", "yours": "Mine"}
    assert database_state() == before


def test_two_creates_that_overlap_each_other_fail_as_a_scheduling_conflict(client):
    before = database_state()

    response = client.post(
        URL, {"operations": [{"op": "create", "data": fields("A")}, {"op": "create", "data": fields("B")}]}
    )

    problem = assert_failed(response, 409, 1, "scheduling-conflict")
    assert problem["conflicts"][0]["title"] == "A"
    assert database_state() == before


def test_delete_unshare_and_rollback(client, me):
    friend = UserFactory()
    doomed = make_event(me, title="Doomed")
    kept = make_event(me, title="First", start=BASE_TIME + timedelta(days=3))
    client.patch(f"/api/events/{kept.pk}", {"title": "Second"})
    client.post(f"/api/events/{kept.pk}/share", {"users": [{"user_id": friend.pk, "role": "viewer"}]})

    response = client.post(
        URL,
        {
            "operations": [
                {"op": "delete", "event_id": doomed.pk, "change_reason": "cancelled"},
                {"op": "unshare", "event_id": kept.pk, "user_id": friend.pk},
                {"op": "rollback", "event_id": kept.pk, "version": 1, "base_version": 2},
            ]
        },
    )

    assert response.status_code == 200, response.content
    results = response.json()["results"]
    assert [(r["op"], r["status"], r["result"] is None) for r in results] == [
        ("delete", 204, True),
        ("unshare", 204, True),
        ("rollback", 200, False),
    ]
    assert (results[2]["result"]["title"], results[2]["result"]["version"]) == ("First", 3)
    assert not Event.objects.alive().filter(pk=doomed.pk).exists()
    assert Event.history.get(id=doomed.pk, version=2).history_change_reason == "cancelled"
    assert not EventPermission.objects.filter(event=kept, user=friend).exists()
    assert Event.history.get(id=kept.pk, version=3).history_action == "rolled_back"


def test_an_operation_after_a_delete_in_the_same_transaction_sees_it_deleted(client, me):
    event = make_event(me)
    before = database_state()

    response = client.post(
        URL,
        {
            "operations": [
                {"op": "delete", "event_id": event.pk},
                {"op": "update", "event_id": event.pk, "data": {"title": "Ghost"}},
            ]
        },
    )

    assert_failed(response, 404, 1, "not-found")
    assert database_state() == before


def test_text_that_looks_like_a_reference_is_left_alone(client):
    response = client.post(URL, {"operations": [{"op": "create", "data": fields("$5.00 lunch", location="$0.id")}]})

    assert response.status_code == 200, response.content
    assert (response.json()["results"][0]["result"]["title"], response.json()["results"][0]["result"]["location"]) == (
        "$5.00 lunch",
        "$0.id",
    )


def test_the_change_reason_header_applies_to_operations_without_one(client, me):
    response = client.post(
        URL,
        {
            "operations": [
                {"op": "create", "data": fields("A")},
                {"op": "create", "data": fields("B", 11, change_reason="own")},
            ]
        },
        HTTP_X_CHANGE_REASON="planning",
    )

    assert response.status_code == 200, response.content
    ids = [r["result"]["id"] for r in response.json()["results"]]
    assert [Event.history.get(id=pk).history_change_reason for pk in ids] == ["planning", "own"]


@pytest.mark.parametrize("operations", [[], [{"op": "create", "data": fields()}] * (MAX_OPERATIONS + 1), "x"])
def test_the_envelope_is_checked_first(client, operations):
    before = database_state()

    response = client.post(URL, {"operations": operations})

    assert response.status_code == 400
    assert "operations" in response.json()["errors"]
    assert "failed_index" not in response.json()
    assert database_state() == before


def test_side_effects_are_queued_only_for_a_committed_transaction(client, me, django_capture_on_commit_callbacks):
    friend = UserFactory()
    with django_capture_on_commit_callbacks() as committed:
        client.post(
            URL,
            {
                "operations": [
                    {"op": "create", "data": fields()},
                    {"op": "share", "event_id": "$0.id", "users": [{"user_id": friend.pk, "role": "viewer"}]},
                ]
            },
        )
    stranger_event = make_event(UserFactory())

    with django_capture_on_commit_callbacks() as failed:
        client.post(
            URL,
            {"operations": [{"op": "create", "data": fields()}, {"op": "delete", "event_id": stranger_event.pk}]},
        )

    assert committed
    assert failed == []


def test_a_transaction_retried_with_its_idempotency_key_runs_once(client, me):
    body = {"operations": [{"op": "create", "data": fields()}]}

    first = client.post(URL, body, HTTP_IDEMPOTENCY_KEY="tx-1")
    again = client.post(URL, body, HTTP_IDEMPOTENCY_KEY="tx-1")

    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Event.objects.filter(owner=me).count() == 1


def test_anonymous_callers_get_a_401(api):
    response = api.post(URL, {"operations": [{"op": "create", "data": fields()}]})

    assert response.status_code == 401
    assert response["WWW-Authenticate"]
    assert not Event.objects.exists()


def test_the_call_is_audited_once_besides_its_operations(client, me):
    from history.models import AuditEntry

    response = client.post(
        URL, {"operations": [{"op": "create", "data": fields()}, {"op": "create", "data": fields("B", 11)}]}
    )

    assert response.status_code == 200, response.content
    call = AuditEntry.objects.get(action="transaction.executed")
    assert call.actor == me and call.data == {"operations": ["create", "create"]}
    assert AuditEntry.objects.filter(action="event.created", actor=me).count() == 2


def test_a_failed_transaction_leaves_no_audit_row(client, me):
    before = database_state()

    response = client.post(URL, {"operations": [{"op": "create", "data": fields()}, {"op": "delete", "event_id": 0}]})

    assert response.status_code == 404
    assert not AuditEntry.objects.filter(action__in=["transaction.executed", "event.created"]).exists()
    assert database_state() == before


def stale_rollback_target(owner) -> tuple[Event, int]:
    """First (v1) → Second (v2) → Room 9 (v3); returns the event and the stale base, 2."""
    event = make_event(owner, title="First", start=BASE_TIME + timedelta(days=3))
    event = edit(event, owner, title="Second")
    stale = event.version
    return edit(event, owner, location="Room 9"), stale


@pytest.mark.parametrize("on_conflict", ["merge", "overwrite"])
def test_a_rollback_operation_takes_on_conflict_as_the_rollback_endpoint_does(client, me, on_conflict):
    """A stale rollback to v1 follows on_conflict, in a transaction exactly as on its own endpoint."""
    in_transaction, stale = stale_rollback_target(me)
    alone, _ = stale_rollback_target(me)
    options = {"base_version": stale, "on_conflict": on_conflict, "conflict_strategy": "allow"}

    response = client.post(
        URL, {"operations": [{"op": "rollback", "event_id": in_transaction.pk, "version": 1, **options}]}, format="json"
    )
    single = client.post(f"/api/events/{alone.pk}/rollback/1", options, format="json")

    assert response.status_code == 200, response.content
    assert single.status_code == 200, single.content
    result = response.json()["results"][0]["result"]
    assert (result["title"], result["version"], result["merged"]) == ("First", 4, on_conflict == "merge")
    assert result["location"] == ("Room 9" if on_conflict == "merge" else "")  # merge keeps the change since v2
    members = ("title", "location", "version", "merged")
    assert {key: result[key] for key in members} == {key: single.json()[key] for key in members}


def test_a_stale_rollback_operation_without_on_conflict_is_a_412(client, me):
    event, stale = stale_rollback_target(me)
    before = database_state()

    response = client.post(
        URL, {"operations": [{"op": "rollback", "event_id": event.pk, "version": 1, "base_version": stale}]}
    )

    assert_failed(response, 412, 0, "precondition-failed")
    assert database_state() == before
