"""PUT and DELETE /api/events/{id}/permissions/{userId}, and the last-owner rule."""

from __future__ import annotations

import pytest

from events.models import Event
from sharing import services as sharing_services
from sharing.models import EventPermission
from tests.factories import make_event
from tests.helpers import assert_problem, database_state

pytestmark = pytest.mark.django_db


def roles_of(event) -> dict[str, str]:
    return dict(EventPermission.objects.filter(event=event).values_list("user__username", "role"))


def url(event, user) -> str:
    return f"/api/events/{event.pk}/permissions/{user.pk}"


# --- PUT -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("target, role", [("viewer", "editor"), ("editor", "viewer"), ("viewer", "owner")])
def test_the_owner_changes_a_role(api, event_with_roles, target, role):
    event, users = event_with_roles

    response = api.as_user(users["owner"]).put(url(event, users[target]), {"role": role})

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["user"] == {"id": users[target].pk, "username": target}
    assert body["role"] == role
    assert body["granted_by"] == {"id": users["owner"].pk, "username": "owner"}
    assert roles_of(event)[target] == role
    last = EventPermission.history.filter(event_id=event.pk, user_id=users[target].pk).latest("history_id")
    assert (last.history_type, last.role, last.history_user_id) == ("~", role, users["owner"].pk)
    assert api.as_user(users[target]).get(f"/api/events/{event.pk}").json()["my_role"] == role


def test_a_demoted_editor_can_no_longer_update(api, event_with_roles):
    event, users = event_with_roles
    assert api.as_user(users["owner"]).put(url(event, users["editor"]), {"role": "viewer"}).status_code == 200

    response = api.as_user(users["editor"]).patch(f"/api/events/{event.pk}", {"title": "Nope"})

    assert_problem(response, 403)
    assert Event.objects.get(pk=event.pk).title == "Planning"


def test_setting_the_same_role_changes_nothing(api, event_with_roles):
    event, users = event_with_roles
    client = api.as_user(users["owner"])
    before = database_state()

    response = client.put(url(event, users["viewer"]), {"role": "viewer"})

    assert response.status_code == 200
    assert response.json()["role"] == "viewer"
    assert database_state() == before


@pytest.mark.parametrize("body", [{}, {"role": "king"}, {"role": None}, {"role": 3}])
def test_an_invalid_role_is_a_400_and_nothing_changes(api, event_with_roles, body):
    event, users = event_with_roles
    client = api.as_user(users["owner"])
    before = database_state()

    problem = assert_problem(client.put(url(event, users["viewer"]), body, format="json"), 400)

    assert "role" in problem["errors"]
    assert database_state() == before


def test_demoting_the_last_owner_is_a_409_and_nothing_changes(api, event_with_roles):
    event, users = event_with_roles
    client = api.as_user(users["owner"])
    before = database_state()

    response = client.put(url(event, users["owner"]), {"role": "editor"})

    problem = assert_problem(response, 409)
    assert problem["type"].endswith("/problems/last-owner")
    assert database_state() == before


def test_with_two_owners_one_may_be_demoted(api, event_with_roles):
    event, users = event_with_roles
    client = api.as_user(users["owner"])
    assert client.put(url(event, users["editor"]), {"role": "owner"}).status_code == 200

    response = client.put(url(event, users["owner"]), {"role": "viewer"})

    assert response.status_code == 200, response.content
    assert roles_of(event) == {"owner": "viewer", "editor": "owner", "viewer": "viewer"}
    # the event's owner is someone who still owns it
    assert api.as_user(users["editor"]).get(f"/api/events/{event.pk}").json()["owner"]["id"] == users["editor"].pk


# --- DELETE --------------------------------------------------------------------------------------


@pytest.mark.parametrize("target", ["editor", "viewer"])
def test_the_owner_removes_a_collaborator_who_then_gets_404(api, event_with_roles, target):
    event, users = event_with_roles

    response = api.as_user(users["owner"]).delete(url(event, users[target]))

    assert response.status_code == 204
    assert response.content == b""
    assert target not in roles_of(event)
    last = EventPermission.history.filter(event_id=event.pk, user_id=users[target].pk).latest("history_id")
    assert (last.history_type, last.history_user_id) == ("-", users["owner"].pk)
    client = api.as_user(users[target])
    assert_problem(client.get(f"/api/events/{event.pk}"), 404)
    assert_problem(client.get(f"/api/events/{event.pk}/permissions"), 404)
    assert event.pk not in [item["id"] for item in client.get("/api/events").json()["results"]]


def test_removing_the_last_owner_is_a_409_and_nothing_changes(api, event_with_roles):
    event, users = event_with_roles
    client = api.as_user(users["owner"])
    before = database_state()

    response = client.delete(url(event, users["owner"]))

    problem = assert_problem(response, 409)
    assert problem["type"].endswith("/problems/last-owner")
    assert database_state() == before


def test_with_two_owners_one_may_remove_the_other(api, event_with_roles):
    event, users = event_with_roles
    sharing_services.event_share(
        event=event, actor=users["owner"], targets=[{"user_id": users["new"].pk, "role": "owner"}]
    )

    response = api.as_user(users["new"]).delete(url(event, users["owner"]))

    assert response.status_code == 204
    assert roles_of(event) == {"editor": "editor", "viewer": "viewer", "new": "owner"}
    assert api.as_user(users["owner"]).get(f"/api/events/{event.pk}").status_code == 404
    detail = api.as_user(users["new"]).get(f"/api/events/{event.pk}").json()
    assert detail["owner"] == {"id": users["new"].pk, "username": "new"}


def test_an_owner_may_leave_when_another_owner_remains(api, event_with_roles):
    event, users = event_with_roles
    sharing_services.event_share(
        event=event, actor=users["owner"], targets=[{"user_id": users["new"].pk, "role": "owner"}]
    )

    response = api.as_user(users["owner"]).delete(url(event, users["owner"]))

    assert response.status_code == 204
    assert roles_of(event)["new"] == "owner"
    assert "owner" not in roles_of(event)


@pytest.mark.parametrize("role", ["editor", "viewer"])
def test_a_non_owner_may_leave(api, event_with_roles, role):
    event, users = event_with_roles

    response = api.as_user(users[role]).delete(url(event, users[role]))

    assert response.status_code == 204
    assert role not in roles_of(event)
    last = EventPermission.history.filter(event_id=event.pk, user_id=users[role].pk).latest("history_id")
    assert (last.history_type, last.history_user_id) == ("-", users[role].pk)
    assert api.as_user(users[role]).get(f"/api/events/{event.pk}").status_code == 404


@pytest.mark.parametrize("role, target", [("editor", "viewer"), ("viewer", "editor"), ("editor", "owner")])
def test_a_non_owner_may_not_remove_someone_else(api, event_with_roles, role, target):
    event, users = event_with_roles
    client = api.as_user(users[role])
    before = database_state()

    assert_problem(client.delete(url(event, users[target])), 403)
    assert database_state() == before


# --- unknown users -------------------------------------------------------------------------------


@pytest.mark.parametrize("user_id", ["999999", "abc", "0", "-3", "1.0", "99999999999999999999999"])
@pytest.mark.parametrize("method", ["put", "delete"])
def test_an_unknown_or_malformed_user_id_is_a_404(api, event_with_roles, method, user_id):
    event, users = event_with_roles
    client = api.as_user(users["owner"])
    before = database_state()
    body = {"role": "viewer"} if method == "put" else None

    response = getattr(client, method)(f"/api/events/{event.pk}/permissions/{user_id}", body)

    assert_problem(response, 404)
    assert database_state() == before


@pytest.mark.parametrize("method", ["put", "delete"])
def test_a_user_without_a_role_on_this_event_is_a_404(api, event_with_roles, method):
    event, users = event_with_roles
    other = make_event(users["owner"], title="Other")
    sharing_services.event_share(
        event=other, actor=users["owner"], targets=[{"user_id": users["new"].pk, "role": "viewer"}]
    )
    client = api.as_user(users["owner"])
    before = database_state()
    body = {"role": "editor"} if method == "put" else None

    response = getattr(client, method)(url(event, users["new"]), body)

    assert_problem(response, 404)
    assert database_state() == before
    assert roles_of(other)["new"] == "viewer"


@pytest.mark.parametrize("event_id", ["999999", "abc"])
@pytest.mark.parametrize("method", ["put", "delete"])
def test_an_unknown_event_is_a_404(api, event_with_roles, method, event_id):
    _, users = event_with_roles
    client = api.as_user(users["owner"])
    before = database_state()
    body = {"role": "editor"} if method == "put" else None

    response = getattr(client, method)(f"/api/events/{event_id}/permissions/{users['viewer'].pk}", body)

    assert_problem(response, 404)
    assert database_state() == before
