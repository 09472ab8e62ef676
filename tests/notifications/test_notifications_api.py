"""Persisted notifications: everyone concerned but the actor gets one per change, to read later."""

from __future__ import annotations

from datetime import timedelta

import pytest

from events import services as event_services
from notifications.models import Notification
from sharing import services as sharing_services
from tests.factories import BASE_TIME, UserFactory, make_event
from tests.helpers import edit

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"


def kinds(user) -> list[tuple]:
    return list(Notification.objects.filter(recipient=user).order_by("id").values_list("kind", "event_id", "version"))


def test_a_change_notifies_everyone_with_access_but_the_actor(event_with_roles):
    event, users = event_with_roles
    Notification.objects.all().delete()

    edit(event, users["editor"], title="Moved")

    for name in ("owner", "viewer"):
        assert kinds(users[name]) == [("event_updated", event.pk, 2)]
    for name in ("editor", "stranger", "new"):
        assert kinds(users[name]) == []
    notification = Notification.objects.get(recipient=users["owner"])
    assert (notification.actor, notification.data) == (users["editor"], {"title": "Moved", "fields": ["title"]})


def test_each_kind_of_change_notifies(event_with_roles):
    event, users = event_with_roles
    viewer = users["viewer"]
    Notification.objects.all().delete()

    sharing_services.event_share(
        event=event, actor=users["owner"], targets=[{"user_id": users["new"].pk, "role": "viewer"}]
    )
    sharing_services.permission_set_role(event=event, actor=users["owner"], user_id=users["new"].pk, role="editor")
    sharing_services.permission_revoke(event=event, actor=users["owner"], user_id=users["new"].pk)
    event_services.event_delete(event=event, actor=users["owner"])
    event_services.event_restore(event=event, actor=users["owner"], conflict_strategy="allow")

    assert kinds(viewer) == [
        ("event_shared", event.pk, 1),
        ("permission_changed", event.pk, 1),
        ("permission_removed", event.pk, 1),
        ("event_deleted", event.pk, 2),
        ("event_restored", event.pk, 3),
    ]
    # The user who lost access is told so, once, and nothing after.
    assert kinds(users["new"]) == [
        ("event_shared", event.pk, 1),
        ("permission_changed", event.pk, 1),
        ("access_revoked", event.pk, 1),
    ]
    shared = Notification.objects.filter(recipient=viewer, kind="event_shared").get()
    assert shared.data == {"title": "Planning", "users": [{"id": users["new"].pk, "username": "new", "role": "viewer"}]}


def test_the_list_is_the_callers_newest_first_and_paginated(api, event_with_roles):
    event, users = event_with_roles
    for i in range(3):
        edit(event, users["owner"], title=f"T{i}")

    response = api.as_user(users["viewer"]).get("/api/notifications", {"page_size": 2})

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 4  # shared with them, then three updates
    assert body["next"] and body["previous"] is None
    first = body["results"][0]
    assert first == {
        "id": first["id"],
        "type": "event_updated",
        "event_id": event.pk,
        "version": 4,
        "actor": {"id": users["owner"].pk, "username": "owner"},
        "data": {"title": "T2", "fields": ["title"]},
        "read": False,
        "read_at": None,
        "created_at": first["created_at"],
    }
    assert [n["version"] for n in body["results"]] == [4, 3]
    assert api.as_user(users["stranger"]).get("/api/notifications").json()["count"] == 0


def test_the_list_filters_unread(api, event_with_roles):
    event, users = event_with_roles
    edit(event, users["owner"], title="Changed")
    shared = Notification.objects.get(recipient=users["viewer"], kind="event_shared")
    Notification.objects.filter(pk=shared.pk).update(read_at=BASE_TIME)
    client = api.as_user(users["viewer"])

    unread = client.get("/api/notifications", {"unread": "true"}).json()
    read = client.get("/api/notifications", {"unread": "false"}).json()

    assert [n["type"] for n in unread["results"]] == ["event_updated"]
    assert [(n["type"], n["read"]) for n in read["results"]] == [("event_shared", True)]


def test_a_bad_unread_filter_is_400(api, user):
    response = api.as_user(user).get("/api/notifications", {"unread": "maybe"})

    assert response.status_code == 400
    assert response["Content-Type"].startswith(PROBLEM)
    assert "unread" in response.json()["errors"]


def test_marking_one_read(api, event_with_roles):
    _, users = event_with_roles
    notification = Notification.objects.get(recipient=users["viewer"])
    client = api.as_user(users["viewer"])

    response = client.post(f"/api/notifications/{notification.pk}/read")

    assert response.status_code == 200
    assert response.json()["read"] is True
    notification.refresh_from_db()
    read_at = notification.read_at
    assert read_at is not None
    # again: nothing changes
    again = client.post(f"/api/notifications/{notification.pk}/read/")
    assert again.status_code == 200
    notification.refresh_from_db()
    assert notification.read_at == read_at


@pytest.mark.parametrize("who", ["editor", "stranger"])
def test_someone_elses_notification_is_404_and_stays_unread(api, event_with_roles, who):
    _, users = event_with_roles
    notification = Notification.objects.get(recipient=users["viewer"])

    response = api.as_user(users[who]).post(f"/api/notifications/{notification.pk}/read")

    assert response.status_code == 404
    assert response["Content-Type"].startswith(PROBLEM)
    notification.refresh_from_db()
    assert notification.read_at is None


@pytest.mark.parametrize("bad_id", ["abc", "0", "99999999999999999999999"])
def test_a_malformed_notification_id_is_404(api, user, bad_id):
    assert api.as_user(user).post(f"/api/notifications/{bad_id}/read").status_code == 404


def test_marking_all_read_answers_how_many(api, event_with_roles):
    event, users = event_with_roles
    edit(event, users["owner"], title="A")
    edit(event, users["owner"], title="B")
    client = api.as_user(users["viewer"])

    response = client.post("/api/notifications/read")

    assert response.status_code == 200
    assert response.json() == {"count": 3}
    assert not Notification.objects.filter(recipient=users["viewer"], read_at__isnull=True).exists()
    assert Notification.objects.filter(recipient=users["editor"], read_at__isnull=True).count() == 3
    assert client.post("/api/notifications/read/").json() == {"count": 0}


@pytest.mark.parametrize(
    "method, path",
    [("get", "/api/notifications"), ("post", "/api/notifications/read"), ("post", "/api/notifications/1/read")],
)
def test_notifications_need_a_token(api, db, method, path):
    response = getattr(api, method)(path)

    assert response.status_code == 401
    assert response["WWW-Authenticate"]


def test_the_list_costs_a_fixed_number_of_queries(api, user, django_assert_max_num_queries):
    actors = UserFactory.create_batch(5)
    for i, actor in enumerate(actors):
        event = make_event(actor, start=BASE_TIME + timedelta(days=i))
        sharing_services.event_share(event=event, actor=actor, targets=[{"user_id": user.pk, "role": "editor"}])
        edit(event, actor, title="Changed")
    client = api.as_user(user)

    with django_assert_max_num_queries(4):
        response = client.get("/api/notifications", {"page_size": 100})

    assert response.json()["count"] == 10


def test_a_batch_notifies_nobody_but_feeds_the_creator(api, user):
    cursor = api.as_user(user).get("/api/sync").json()["cursor"]
    response = api.as_user(user).post(
        "/api/events/batch",
        {
            "events": [
                {
                    "title": f"B{i}",
                    "start_time": f"2030-02-0{i + 1}T09:00:00Z",
                    "end_time": f"2030-02-0{i + 1}T10:00:00Z",
                }
                for i in range(3)
            ]
        },
    )
    assert response.status_code == 201, response.content

    assert Notification.objects.count() == 0
    feed = api.as_user(user).get("/api/sync", {"cursor": cursor}).json()
    assert [(c["type"], c["event_id"]) for c in feed["changes"]] == [
        ("created", e["id"]) for e in response.json()["results"]
    ]
