"""Who may do what: every event and sharing endpoint × owner / editor / viewer / stranger / anonymous.

Unseen events answer 404 whether they exist or not (a stranger learns nothing); seen but not allowed is
403; no credentials is 401 with WWW-Authenticate. A refusal changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from events.models import Event
from sharing import services as sharing_services
from sharing.models import EventPermission
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ROLES = ["owner", "editor", "viewer", "stranger", "anonymous"]


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # {event}: the event's id; {member}: a viewer the permission endpoints act on
    body: dict | None = None


ENDPOINTS = {
    "retrieve": Endpoint("get", "/api/events/{event}"),
    "update": Endpoint("put", "/api/events/{event}", {"title": "Changed"}),
    "partial_update": Endpoint("patch", "/api/events/{event}", {"location": "Elsewhere"}),
    "destroy": Endpoint("delete", "/api/events/{event}"),
    "list": Endpoint("get", "/api/events"),
    "share": Endpoint("post", "/api/events/{event}/share", {"users": [{"username": "new", "role": "viewer"}]}),
    "permissions": Endpoint("get", "/api/events/{event}/permissions"),
    "set_role": Endpoint("put", "/api/events/{event}/permissions/{member}", {"role": "editor"}),
    "revoke": Endpoint("delete", "/api/events/{event}/permissions/{member}"),
}

# endpoint: statuses for owner, editor, viewer, stranger, anonymous
EXPECTED = {
    "retrieve": (200, 200, 200, 404, 401),
    "update": (200, 200, 403, 404, 401),
    "partial_update": (200, 200, 403, 404, 401),
    "destroy": (204, 403, 403, 404, 401),
    "list": (200, 200, 200, 200, 401),
    "share": (200, 403, 403, 404, 401),
    "permissions": (200, 200, 200, 404, 401),
    "set_role": (200, 403, 403, 404, 401),
    "revoke": (204, 403, 403, 404, 401),
}

TABLE = [
    pytest.param(name, role, status, id=f"{name}-{role}-{status}")
    for name, statuses in EXPECTED.items()
    for role, status in zip(ROLES, statuses, strict=True)
]


def state(event) -> tuple:
    """Everything a refused request must leave as it was."""
    return (
        Event.objects.filter(pk=event.pk).values().get(),
        Event.history.filter(id=event.pk).count(),
        sorted(EventPermission.objects.filter(event=event).values_list("user_id", "role", "granted_by_id")),
        EventPermission.history.filter(event_id=event.pk).count(),
    )


@pytest.fixture
def setup(event_with_roles):
    """event_with_roles plus `member`, a second viewer whose permission the set_role/revoke rows act on."""
    event, users = event_with_roles
    users["member"] = UserFactory(username="member")
    sharing_services.event_share(
        event=event, actor=users["owner"], targets=[{"user_id": users["member"].pk, "role": "viewer"}]
    )
    return event, users


@pytest.mark.parametrize("name, role, status", TABLE)
def test_access(api, setup, name, role, status):
    event, users = setup
    endpoint = ENDPOINTS[name]
    path = endpoint.path.format(event=event.pk, member=users["member"].pk)
    before = state(event)

    response = getattr(api.as_user(users[role]), endpoint.method)(path, endpoint.body)

    assert response.status_code == status, response.content
    if status >= 400:
        assert response["Content-Type"].startswith("application/problem+json")
        problem = response.json()
        assert problem["status"] == status
        assert {"type", "title", "detail"} <= problem.keys()
        if status == 401:
            assert response["WWW-Authenticate"]
        assert state(event) == before
        return
    # allowed: the request had its effect
    if name == "list":
        listed = [item["id"] for item in response.json()["results"]]
        assert listed == ([] if role == "stranger" else [event.pk])
        if role != "stranger":
            assert response.json()["results"][0]["my_role"] == role
    elif name == "retrieve":
        assert (response.json()["id"], response.json()["my_role"]) == (event.pk, role)
        assert response["ETag"]
    elif name in ("update", "partial_update"):
        event.refresh_from_db()
        assert (event.title, event.location, event.version) == (
            endpoint.body.get("title", "Planning"),
            endpoint.body.get("location", ""),
            2,
        )
        last = Event.history.filter(id=event.pk).latest("version")
        assert (last.version, last.history_user_id) == (2, users[role].pk)
    elif name == "destroy":
        assert not Event.objects.alive().filter(pk=event.pk).exists()
    elif name == "share":
        assert EventPermission.objects.get(event=event, user=users["new"]).role == "viewer"
    elif name == "permissions":
        assert {entry["user"]["username"] for entry in response.json()["results"]} == {
            "owner",
            "editor",
            "viewer",
            "member",
        }
    elif name == "set_role":
        assert EventPermission.objects.get(event=event, user=users["member"]).role == "editor"
    elif name == "revoke":
        assert not EventPermission.objects.filter(event=event, user=users["member"]).exists()
    if name in ("retrieve", "list", "permissions"):
        assert state(event) == before  # reads write nothing


@pytest.mark.parametrize("name", [name for name, statuses in EXPECTED.items() if statuses[3] == 404])
def test_a_strangers_404_is_the_same_as_for_a_missing_event(api, setup, name):
    event, users = setup
    endpoint = ENDPOINTS[name]
    client = api.as_user(users["stranger"])

    hidden = getattr(client, endpoint.method)(
        endpoint.path.format(event=event.pk, member=users["member"].pk), endpoint.body
    )
    missing = getattr(client, endpoint.method)(
        endpoint.path.format(event=event.pk + 10_000, member=users["member"].pk), endpoint.body
    )

    assert hidden.status_code == missing.status_code == 404
    assert hidden.json() == missing.json()


def test_a_bad_token_is_a_401_like_no_token(api, setup):
    event, _ = setup
    api.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")

    response = api.get(f"/api/events/{event.pk}")

    assert response.status_code == 401
    assert response["WWW-Authenticate"]
    assert response["Content-Type"].startswith("application/problem+json")
