"""POST /api/events/{id}/share and GET /api/events/{id}/permissions."""

from __future__ import annotations

from datetime import datetime

import pytest

from events.models import Event
from sharing.models import EventPermission
from tests.factories import UserFactory, make_event
from tests.helpers import assert_problem, database_state

pytestmark = pytest.mark.django_db


def roles_of(event) -> dict[str, str]:
    return dict(EventPermission.objects.filter(event=event).values_list("user__username", "role"))


def assert_permissions_list(body: dict, users) -> dict[str, str]:
    """Checks the shape of the permissions list; answers {username: role}."""
    assert set(body) >= {"results"}
    for entry in body["results"]:
        assert set(entry) >= {"user", "role", "granted_by", "granted_at"}
        assert set(entry["user"]) == {"id", "username"}
        assert entry["user"]["id"] == users[entry["user"]["username"]].pk
        assert datetime.fromisoformat(entry["granted_at"]).tzinfo is not None
    return {entry["user"]["username"]: entry["role"] for entry in body["results"]}


def share(client, event, *targets):
    """`client` (signed in) shares `event` with `targets`."""
    return client.post(f"/api/events/{event.pk}/share", {"users": list(targets)})


@pytest.mark.parametrize(
    "reference",
    [
        lambda user: {"user_id": user.pk},
        lambda user: {"username": user.username},
        lambda user: {"username": user.username.upper()},
        lambda user: {"email": user.email},
        lambda user: {"email": user.email.upper()},
    ],
    ids=["user_id", "username", "username-other-case", "email", "email-other-case"],
)
def test_share_by_any_reference_answers_the_whole_permissions_list(api, event_with_roles, reference):
    event, users = event_with_roles

    response = share(api.as_user(users["owner"]), event, {**reference(users["new"]), "role": "editor"})

    assert response.status_code == 200, response.content
    listed = assert_permissions_list(response.json(), users)
    assert listed == {"owner": "owner", "editor": "editor", "viewer": "viewer", "new": "editor"}
    [entry] = [e for e in response.json()["results"] if e["user"]["username"] == "new"]
    assert entry["granted_by"] == {"id": users["owner"].pk, "username": "owner"}
    permission = EventPermission.objects.get(event=event, user=users["new"])
    assert (permission.role, permission.granted_by) == ("editor", users["owner"])
    [row] = EventPermission.history.filter(event_id=event.pk, user_id=users["new"].pk)
    assert (row.history_type, row.role, row.history_user_id) == ("+", "editor", users["owner"].pk)


def test_the_new_collaborator_then_sees_the_event(api, event_with_roles):
    event, users = event_with_roles
    assert api.as_user(users["new"]).get(f"/api/events/{event.pk}").status_code == 404

    assert share(api.as_user(users["owner"]), event, {"user_id": users["new"].pk, "role": "viewer"}).status_code == 200

    response = api.as_user(users["new"]).get(f"/api/events/{event.pk}")
    assert response.status_code == 200
    assert response.json()["my_role"] == "viewer"
    assert [item["id"] for item in api.get("/api/events").json()["results"]] == [event.pk]


def test_sharing_does_not_make_a_new_event_version(api, event_with_roles):
    event, users = event_with_roles

    share(api.as_user(users["owner"]), event, {"user_id": users["new"].pk, "role": "viewer"})

    assert Event.objects.get(pk=event.pk).version == 1
    assert Event.history.filter(id=event.pk).count() == 1


def test_several_users_in_one_request(api, event_with_roles):
    event, users = event_with_roles
    extra = UserFactory(username="extra")
    users["extra"] = extra

    response = share(
        api.as_user(users["owner"]),
        event,
        {"user_id": users["new"].pk, "role": "viewer"},
        {"email": extra.email, "role": "owner"},
    )

    assert response.status_code == 200, response.content
    assert assert_permissions_list(response.json(), users) == {
        "owner": "owner",
        "editor": "editor",
        "viewer": "viewer",
        "new": "viewer",
        "extra": "owner",
    }


def test_resharing_changes_the_role_and_keeps_one_row(api, event_with_roles):
    event, users = event_with_roles

    response = share(api.as_user(users["owner"]), event, {"username": "viewer", "role": "editor"})

    assert response.status_code == 200, response.content
    assert assert_permissions_list(response.json(), users)["viewer"] == "editor"
    assert EventPermission.objects.filter(event=event, user=users["viewer"]).count() == 1
    assert roles_of(event)["viewer"] == "editor"
    last = EventPermission.history.filter(event_id=event.pk, user_id=users["viewer"].pk).latest("history_id")
    assert (last.history_type, last.role, last.history_user_id) == ("~", "editor", users["owner"].pk)


def test_resharing_the_same_role_changes_nothing(api, event_with_roles):
    event, users = event_with_roles
    owner = api.as_user(users["owner"])
    before = database_state()

    response = share(owner, event, {"username": "viewer", "role": "viewer"})

    assert response.status_code == 200, response.content
    assert database_state() == before


def test_sharing_owner_makes_a_co_owner_who_may_delete(api, event_with_roles):
    event, users = event_with_roles
    assert (
        share(api.as_user(users["owner"]), event, {"user_id": users["editor"].pk, "role": "owner"}).status_code == 200
    )

    assert api.as_user(users["editor"]).delete(f"/api/events/{event.pk}").status_code == 204


@pytest.mark.parametrize(
    "target",
    [{"user_id": 999_999}, {"username": "ghost"}, {"email": "ghost@example.com"}],
    ids=["user_id", "username", "email"],
)
def test_an_unknown_user_is_a_400_and_nothing_changes(api, event_with_roles, target):
    event, users = event_with_roles
    owner = api.as_user(users["owner"])
    before = database_state()

    response = share(owner, event, {"user_id": users["new"].pk, "role": "viewer"}, {**target, "role": "viewer"})

    problem = assert_problem(response, 400)
    assert "users" in problem["errors"]
    assert database_state() == before  # the known user of the same request was not shared with either


def test_an_inactive_user_cannot_be_shared_with(api, event_with_roles):
    event, users = event_with_roles
    users["new"].is_active = False
    users["new"].save()
    owner = api.as_user(users["owner"])
    before = database_state()

    assert_problem(share(owner, event, {"user_id": users["new"].pk, "role": "viewer"}), 400)
    assert database_state() == before


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"users": []},
        {"users": "new"},
        {"users": [{"role": "viewer"}]},
        {"users": [{"user_id": 1, "email": "new@example.com", "role": "viewer"}]},
        {"users": [{"username": "new", "role": "admin"}]},
        {"users": [{"username": "new"}]},
        {"users": [{"user_id": "abc", "role": "viewer"}]},
        {"users": [{"email": "not-an-email", "role": "viewer"}]},
        {"users": [{"username": "new", "role": None}]},
    ],
    ids=[
        "no-users",
        "empty-users",
        "users-not-a-list",
        "no-reference",
        "two-references",
        "bad-role",
        "no-role",
        "bad-user-id",
        "bad-email",
        "null-role",
    ],
)
def test_an_invalid_share_body_is_a_400_and_nothing_changes(api, event_with_roles, body):
    event, users = event_with_roles
    client = api.as_user(users["owner"])
    before = database_state()

    response = client.post(f"/api/events/{event.pk}/share", body, format="json")

    problem = assert_problem(response, 400)
    assert problem["errors"]
    assert database_state() == before


def test_the_last_owner_cannot_demote_themselves_by_sharing(api, event_with_roles):
    event, users = event_with_roles
    owner = api.as_user(users["owner"])
    before = database_state()

    response = share(owner, event, {"user_id": users["owner"].pk, "role": "editor"})

    problem = assert_problem(response, 409)
    assert problem["type"].endswith("/problems/last-owner")
    assert database_state() == before


@pytest.mark.parametrize("role", ["owner", "editor", "viewer"])
def test_every_collaborator_may_list_permissions(api, event_with_roles, role):
    event, users = event_with_roles

    response = api.as_user(users[role]).get(f"/api/events/{event.pk}/permissions")

    assert response.status_code == 200
    assert assert_permissions_list(response.json(), users) == {"owner": "owner", "editor": "editor", "viewer": "viewer"}
    by_name = {entry["user"]["username"]: entry for entry in response.json()["results"]}
    assert by_name["viewer"]["granted_by"] == {"id": users["owner"].pk, "username": "owner"}


def test_the_permissions_list_matches_the_detail(api, event_with_roles):
    event, users = event_with_roles
    client = api.as_user(users["editor"])

    listed = client.get(f"/api/events/{event.pk}/permissions").json()["results"]

    assert client.get(f"/api/events/{event.pk}").json()["permissions"] == listed


def test_permissions_of_another_event_are_not_mixed_in(api, event_with_roles):
    event, users = event_with_roles
    other = make_event(users["owner"], title="Other")
    share(api.as_user(users["owner"]), other, {"user_id": users["new"].pk, "role": "viewer"})

    response = api.as_user(users["owner"]).get(f"/api/events/{event.pk}/permissions")

    assert "new" not in assert_permissions_list(response.json(), users)


@pytest.mark.parametrize("method, path", [("post", "share"), ("get", "permissions")])
@pytest.mark.parametrize("event_id", ["999999", "abc", "0"])
def test_an_unknown_event_is_a_404(api, event_with_roles, method, path, event_id):
    _, users = event_with_roles
    client = api.as_user(users["owner"])
    before = database_state()
    body = {"users": [{"user_id": users["new"].pk, "role": "viewer"}]} if method == "post" else None

    assert_problem(getattr(client, method)(f"/api/events/{event_id}/{path}", body), 404)
    assert database_state() == before
