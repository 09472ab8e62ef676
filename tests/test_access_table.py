"""Who may do what: every event and sharing endpoint × owner / editor / viewer / stranger / anonymous.

Unseen events answer 404 whether they exist or not (a stranger learns nothing); seen but not allowed is
403; no credentials is 401 with WWW-Authenticate. A refusal changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pytest

from events.models import Event
from sharing import services as sharing_services
from sharing.models import EventPermission
from tests.factories import UserFactory, make_event

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
    # history (history/urls.py)
    "history": Endpoint("get", "/api/events/{event}/history"),
    "version": Endpoint("get", "/api/events/{event}/history/1"),
    "changelog": Endpoint("get", "/api/events/{event}/changelog"),
    "diff": Endpoint("get", "/api/events/{event}/diff/1/1"),
    "rollback": Endpoint("post", "/api/events/{event}/rollback/1", {"change_reason": "back"}),
    "restore": Endpoint("post", "/api/events/{event}/restore"),  # the event is not deleted: 409 for its owner
    "retrieve_as_of": Endpoint("get", "/api/events/{event}?as_of=2199-01-01T00:00:00Z"),
    "occurrences_as_of": Endpoint("get", "/api/events/{event}/occurrences?as_of=2199-01-01T00:00:00Z"),
    "history_page": Endpoint("get", "/events/{event}/history"),
    "diff_page": Endpoint("get", "/events/{event}/diff/1/1"),
    "deleted": Endpoint("get", "/api/events/deleted"),
    "audit": Endpoint("get", "/api/audit"),  # staff only: see test_staff_read_the_audit_trail
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
    "history": (200, 200, 200, 404, 401),
    "version": (200, 200, 200, 404, 401),
    "changelog": (200, 200, 200, 404, 401),
    "diff": (200, 200, 200, 404, 401),
    "rollback": (200, 200, 403, 404, 401),
    "restore": (409, 403, 403, 404, 401),
    "retrieve_as_of": (200, 200, 200, 404, 401),
    "occurrences_as_of": (200, 200, 200, 404, 401),
    "history_page": (200, 200, 200, 404, 401),
    "diff_page": (200, 200, 200, 404, 401),
    "deleted": (200, 200, 200, 200, 401),
    "audit": (403, 403, 403, 403, 401),
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


def test_staff_read_the_audit_trail(api, setup):
    staff = UserFactory(username="auditor", is_staff=True)

    response = api.as_user(staff).get("/api/audit")

    assert response.status_code == 200
    assert response.json()["count"] >= 1


# POST /api/transactions (events/transactions.py): each operation is checked as its single endpoint; a refusal
# fails the whole transaction with that operation's status.
TRANSACTION_EXPECTED = {"owner": 200, "editor": 200, "viewer": 403, "stranger": 404, "anonymous": 401}


def _transaction_body(event_id) -> dict:
    return {"operations": [{"op": "update", "event_id": event_id, "data": {"title": "Changed"}}]}


@pytest.mark.parametrize("role, status", TRANSACTION_EXPECTED.items(), ids=lambda v: str(v))
def test_transaction_access(api, setup, role, status):
    event, users = setup
    before = state(event)

    response = api.as_user(users[role]).post("/api/transactions", _transaction_body(event.pk))

    assert response.status_code == status, response.content
    if status == 200:
        event.refresh_from_db()
        assert (event.title, event.version) == ("Changed", 2)
        return
    assert response["Content-Type"].startswith("application/problem+json")
    if status != 401:
        assert response.json()["failed_index"] == 0
    assert state(event) == before


def test_a_strangers_transaction_404_is_the_same_as_for_a_missing_event(api, setup):
    event, users = setup
    client = api.as_user(users["stranger"])

    hidden = client.post("/api/transactions", _transaction_body(event.pk))
    missing = client.post("/api/transactions", _transaction_body(event.pk + 10_000))

    assert hidden.status_code == missing.status_code == 404
    assert hidden.json() == missing.json()


# Notifications and sync (notifications/urls.py) belong to the caller, not to an event: every user gets
# their own; another user's notification is 404 like a missing one. {notification}: one of the viewer's.
NOTIFICATION_ENDPOINTS = {
    "notifications": Endpoint("get", "/api/notifications"),
    "notification_read": Endpoint("post", "/api/notifications/{notification}/read"),
    "notifications_read_all": Endpoint("post", "/api/notifications/read"),
    "sync": Endpoint("get", "/api/sync"),
}
NOTIFICATION_EXPECTED = {
    "notifications": (200, 200, 200, 200, 401),
    "notification_read": (404, 404, 200, 404, 401),
    "notifications_read_all": (200, 200, 200, 200, 401),
    "sync": (200, 200, 200, 200, 401),
}


@pytest.mark.parametrize(
    "name, role, status",
    [
        pytest.param(name, role, status, id=f"{name}-{role}-{status}")
        for name, statuses in NOTIFICATION_EXPECTED.items()
        for role, status in zip(ROLES, statuses, strict=True)
    ],
)
def test_notification_access(api, setup, name, role, status):
    from notifications.models import Notification

    event, users = setup
    notification = Notification.objects.filter(recipient=users["viewer"]).first()
    endpoint = NOTIFICATION_ENDPOINTS[name]
    unread = sorted(Notification.objects.filter(read_at__isnull=True).values_list("pk", flat=True))

    response = getattr(api.as_user(users[role]), endpoint.method)(endpoint.path.format(notification=notification.pk))

    assert response.status_code == status, response.content
    if status >= 400:
        assert response["Content-Type"].startswith("application/problem+json")
        assert sorted(Notification.objects.filter(read_at__isnull=True).values_list("pk", flat=True)) == unread
    elif name == "notification_read":
        notification.refresh_from_db()
        assert notification.read_at is not None
    elif name == "notifications_read_all":
        assert not Notification.objects.filter(recipient=users[role], read_at__isnull=True).exists()
    elif name == "sync":
        listed = [change["event_id"] for change in response.json()["changes"]]
        assert listed == ([] if role == "stranger" else [event.pk])


# Series and calendar-wide reads (events/occurrence_views.py, events/calendar_views.py, scope=following).
# {series}: a weekly series shared like the event; {occurrence}: the original start of its second occurrence.
SERIES_START = "2030-01-07T12:00:00Z"
SECOND_OCCURRENCE = "2030-01-14T12:00:00Z"
MONTH = "start=2030-01-01T00:00:00Z&end=2030-02-01T00:00:00Z"
SERIES_ENDPOINTS = {
    "occurrence_update": Endpoint("patch", "/api/events/{series}/occurrences/{occurrence}", {"title": "Changed"}),
    "occurrence_cancel": Endpoint("delete", "/api/events/{series}/occurrences/{occurrence}"),
    "update_following": Endpoint(
        "patch", "/api/events/{series}?scope=following&occurrence={occurrence}", {"title": "Changed"}
    ),
    "conflicts_list": Endpoint("get", "/api/events/conflicts?" + MONTH),
    "freebusy": Endpoint("get", "/api/freebusy?" + MONTH),
}
SERIES_EXPECTED = {
    "occurrence_update": (200, 200, 403, 404, 401),
    "occurrence_cancel": (204, 204, 403, 404, 401),
    "update_following": (200, 200, 403, 404, 401),
    "conflicts_list": (200, 200, 200, 200, 401),
    "freebusy": (200, 200, 200, 200, 401),
}


@pytest.fixture
def series_setup(setup):
    _event, users = setup
    series = make_event(
        users["owner"],
        title="Weekly",
        start=datetime.fromisoformat(SERIES_START),
        recurrence={"rrule": "FREQ=WEEKLY;COUNT=4", "exdates": [], "rdates": []},
    )
    sharing_services.event_share(
        event=series,
        actor=users["owner"],
        targets=[{"user_id": users["editor"].pk, "role": "editor"}, {"user_id": users["viewer"].pk, "role": "viewer"}],
    )
    return series, users


def _series_path(endpoint: Endpoint, series_id: int) -> str:
    return endpoint.path.format(series=series_id, occurrence=SECOND_OCCURRENCE)


@pytest.mark.parametrize(
    "name, role, status",
    [
        pytest.param(name, role, status, id=f"{name}-{role}-{status}")
        for name, statuses in SERIES_EXPECTED.items()
        for role, status in zip(ROLES, statuses, strict=True)
    ],
)
def test_series_access(api, series_setup, name, role, status):
    series, users = series_setup
    endpoint = SERIES_ENDPOINTS[name]
    before = (state(series), Event.objects.count())

    response = getattr(api.as_user(users[role]), endpoint.method)(
        _series_path(endpoint, series.pk), endpoint.body, format="json"
    )

    assert response.status_code == status, response.content
    if status >= 400:
        assert response["Content-Type"].startswith("application/problem+json")
        assert (state(series), Event.objects.count()) == before
        if status == 401:
            assert response["WWW-Authenticate"]
        return
    series.refresh_from_db()
    if name == "occurrence_update":
        assert (series.exceptions, series.version) == ({SECOND_OCCURRENCE: {"title": "Changed"}}, 2)
    elif name == "occurrence_cancel":
        assert (series.exceptions, series.version) == ({SECOND_OCCURRENCE: {"cancelled": True}}, 2)
    elif name == "update_following":
        created = Event.objects.get(pk=response.json()["created"]["id"])
        assert (created.title, series.version, Event.objects.count()) == ("Changed", 2, before[1] + 1)
    elif name == "freebusy":
        assert bool(response.json()["results"]) is (role != "stranger")
    elif name == "conflicts_list":
        assert response.json()["results"] == []
    if name in ("conflicts_list", "freebusy"):
        assert (state(series), Event.objects.count()) == before  # reads write nothing


@pytest.mark.parametrize("name", [name for name, statuses in SERIES_EXPECTED.items() if statuses[3] == 404])
def test_a_strangers_404_on_a_series_is_the_same_as_for_a_missing_one(api, series_setup, name):
    series, users = series_setup
    endpoint = SERIES_ENDPOINTS[name]
    client = api.as_user(users["stranger"])

    hidden = getattr(client, endpoint.method)(_series_path(endpoint, series.pk), endpoint.body, format="json")
    missing = getattr(client, endpoint.method)(_series_path(endpoint, series.pk + 10_000), endpoint.body, format="json")

    assert hidden.status_code == missing.status_code == 404
    assert hidden.json() == missing.json()
