"""Every change to an event writes exactly one version row with who and why; refusals write none."""

from __future__ import annotations

from datetime import timedelta

import pytest

from events.models import Event
from sharing.models import EventPermission
from tests.factories import BASE_TIME, UserFactory, make_event
from tests.helpers import Client, database_state

pytestmark = pytest.mark.django_db


def versions(event_id) -> list[tuple]:
    return list(
        Event.history.filter(id=event_id)
        .order_by("version")
        .values_list("version", "history_action", "history_user_id", "history_change_reason")
    )


def slot(start, **fields) -> dict:
    return {
        "title": fields.pop("title", "New"),
        "start_time": start.isoformat(),
        "end_time": (start + timedelta(hours=1)).isoformat(),
        **fields,
    }


def test_creating_records_version_1_by_the_creator(api, user):
    response = api.as_user(user).post("/api/events", slot(BASE_TIME, title="Born"))

    assert response.status_code == 201
    event_id = response.json()["id"]
    assert versions(event_id) == [(1, "created", user.pk, None)]
    row = Event.history.get(id=event_id)
    assert (row.title, row.history_type, row.start_time) == ("Born", "+", BASE_TIME)


@pytest.mark.parametrize("where", ["body", "header"])
def test_a_create_records_the_change_reason(api, user, where):
    client = api.as_user(user)
    if where == "body":
        response = client.post("/api/events", slot(BASE_TIME, change_reason="planning week"))
    else:
        response = client.post("/api/events", slot(BASE_TIME), HTTP_X_CHANGE_REASON="planning week")

    assert response.status_code == 201, response.content
    assert versions(response.json()["id"]) == [(1, "created", user.pk, "planning week")]


@pytest.mark.parametrize("method", ["put", "patch"])
def test_each_update_adds_one_row_by_the_actor_with_the_body_reason(api, event_with_roles, method):
    event, users = event_with_roles

    response = getattr(api.as_user(users["editor"]), method)(
        f"/api/events/{event.pk}", {"title": "Moved", "change_reason": "room clash"}
    )

    assert response.status_code == 200, response.content
    assert versions(event.pk) == [
        (1, "created", users["owner"].pk, None),
        (2, "updated", users["editor"].pk, "room clash"),
    ]
    row = Event.history.get(id=event.pk, version=2)
    assert (row.title, row.history_type) == ("Moved", "~")


def test_the_reason_may_come_from_the_x_change_reason_header(api, event_with_roles):
    event, users = event_with_roles

    response = api.as_user(users["owner"]).patch(
        f"/api/events/{event.pk}", {"location": "Room 9"}, HTTP_X_CHANGE_REASON="bigger room"
    )

    assert response.status_code == 200, response.content
    assert versions(event.pk)[-1] == (2, "updated", users["owner"].pk, "bigger room")


def test_an_update_without_a_reason_records_none(api, user):
    event = make_event(user)

    api.as_user(user).patch(f"/api/events/{event.pk}", {"title": "Plain"})

    assert versions(event.pk)[-1] == (2, "updated", user.pk, None)


def test_a_reason_over_500_characters_is_a_400_and_records_nothing(api, user):
    event = make_event(user)
    client = api.as_user(user)
    before = database_state()

    for response in (
        client.patch(f"/api/events/{event.pk}", {"title": "x", "change_reason": "r" * 501}),
        api.patch(f"/api/events/{event.pk}", {"title": "x"}, HTTP_X_CHANGE_REASON="r" * 501),
    ):
        assert response.status_code == 400, response.content
        assert "change_reason" in response.json()["errors"]
    assert database_state() == before


def test_successive_updates_by_different_people_number_versions_in_order(api, event_with_roles):
    event, users = event_with_roles

    for n, role in enumerate(["editor", "owner", "editor"]):
        assert api.as_user(users[role]).patch(f"/api/events/{event.pk}", {"title": f"T{n}"}).status_code == 200

    assert [(v, action, who) for v, action, who, _ in versions(event.pk)] == [
        (1, "created", users["owner"].pk),
        (2, "updated", users["editor"].pk),
        (3, "updated", users["owner"].pk),
        (4, "updated", users["editor"].pk),
    ]
    assert list(Event.history.filter(id=event.pk).order_by("version").values_list("title", flat=True)) == [
        "Planning",
        "T0",
        "T1",
        "T2",
    ]


def test_an_update_that_changes_nothing_records_nothing(api, user):
    event = make_event(user, title="Same")

    assert api.as_user(user).patch(f"/api/events/{event.pk}", {"title": "Same"}).status_code == 200

    assert versions(event.pk) == [(1, "created", user.pk, None)]


def test_delete_records_a_deleted_version_by_the_actor(api, user):
    event = make_event(user)

    response = api.as_user(user).delete(f"/api/events/{event.pk}", HTTP_X_CHANGE_REASON="cancelled")

    assert response.status_code == 204
    assert versions(event.pk) == [(1, "created", user.pk, None), (2, "deleted", user.pk, "cancelled")]


# --- refusals write no version -------------------------------------------------------------------


def _stale(api, users, event):
    tag = api.as_user(users["owner"]).get(f"/api/events/{event.pk}")["ETag"]
    assert api.as_user(users["editor"]).patch(f"/api/events/{event.pk}", {"title": "Editor's"}).status_code == 200
    owner = api.as_user(users["owner"])
    return lambda: owner.patch(f"/api/events/{event.pk}", {"title": "Late"}, HTTP_IF_MATCH=tag)


def _conflict(api, users, event):
    make_event(users["owner"], title="Busy", start=BASE_TIME + timedelta(days=1))
    moved = {
        "start_time": (BASE_TIME + timedelta(days=1)).isoformat(),
        "end_time": (BASE_TIME + timedelta(days=1, hours=1)).isoformat(),
    }
    client = api.as_user(users["owner"])
    return lambda: client.patch(f"/api/events/{event.pk}", moved)


def _invalid(api, users, event):
    client = api.as_user(users["editor"])
    return lambda: client.patch(f"/api/events/{event.pk}", {"title": ""})


def _forbidden(api, users, event):
    client = api.as_user(users["viewer"])
    return lambda: client.patch(f"/api/events/{event.pk}", {"title": "Viewer's"})


def _forbidden_delete(api, users, event):
    client = api.as_user(users["editor"])
    return lambda: client.delete(f"/api/events/{event.pk}")


@pytest.mark.parametrize(
    "prepare, status",
    [(_stale, 412), (_conflict, 409), (_invalid, 400), (_forbidden, 403), (_forbidden_delete, 403)],
    ids=["412", "409", "400", "403", "403-delete"],
)
def test_a_rejected_request_records_no_version(api, event_with_roles, prepare, status):
    event, users = event_with_roles
    refused = prepare(api, users, event)  # signs in: the request alone is measured
    before = database_state()

    response = refused()

    assert response.status_code == status, response.content
    assert database_state() == before


def test_a_rejected_create_records_no_version(api, user):
    make_event(user, title="Busy")
    client = api.as_user(user)
    before = database_state()

    response = client.post("/api/events", slot(BASE_TIME))

    assert response.status_code == 409
    assert database_state() == before


# --- permissions ---------------------------------------------------------------------------------


def test_the_creators_owner_permission_is_recorded(api, user):
    response = api.as_user(user).post("/api/events", slot(BASE_TIME))

    rows = EventPermission.history.filter(event_id=response.json()["id"])
    assert list(rows.values_list("history_type", "user_id", "role", "history_user_id")) == [
        ("+", user.pk, "owner", user.pk)
    ]


def test_grant_change_and_revoke_are_recorded_with_the_actor(api, event_with_roles):
    event, users = event_with_roles
    owner = api.as_user(users["owner"])
    new = users["new"]

    assert (
        owner.post(f"/api/events/{event.pk}/share", {"users": [{"user_id": new.pk, "role": "viewer"}]}).status_code
        == 200
    )
    assert owner.put(f"/api/events/{event.pk}/permissions/{new.pk}", {"role": "editor"}).status_code == 200
    assert owner.delete(f"/api/events/{event.pk}/permissions/{new.pk}").status_code == 204

    rows = EventPermission.history.filter(event_id=event.pk, user_id=new.pk).order_by("history_date", "history_id")
    assert list(rows.values_list("history_type", "role", "history_user_id")) == [
        ("+", "viewer", users["owner"].pk),
        ("~", "editor", users["owner"].pk),
        ("-", "editor", users["owner"].pk),
    ]


def test_leaving_is_recorded_with_the_leaver(api, event_with_roles):
    event, users = event_with_roles

    assert (
        api.as_user(users["viewer"]).delete(f"/api/events/{event.pk}/permissions/{users['viewer'].pk}").status_code
        == 204
    )

    last = EventPermission.history.filter(event_id=event.pk, user_id=users["viewer"].pk).latest("history_id")
    assert (last.history_type, last.history_user_id) == ("-", users["viewer"].pk)


def test_a_refused_permission_change_records_nothing(api, event_with_roles):
    event, users = event_with_roles
    owner, editor = api.as_user(users["owner"]), Client().as_user(users["editor"])
    before = database_state()

    responses = [
        owner.put(f"/api/events/{event.pk}/permissions/{users['owner'].pk}", {"role": "viewer"}),
        owner.delete(f"/api/events/{event.pk}/permissions/{users['owner'].pk}"),
        editor.put(f"/api/events/{event.pk}/permissions/{users['viewer'].pk}", {"role": "owner"}),
        owner.post(f"/api/events/{event.pk}/share", {"users": [{"username": "ghost", "role": "viewer"}]}),
    ]

    assert [r.status_code for r in responses] == [409, 409, 403, 400]
    assert database_state() == before


def test_batch_creates_record_the_creator(api):
    creator = UserFactory()

    response = api.as_user(creator).post("/api/events/batch", [slot(BASE_TIME), slot(BASE_TIME + timedelta(hours=2))])

    assert response.status_code == 201, response.content
    ids = [r["id"] for r in response.json()["results"]]
    for event_id in ids:
        assert versions(event_id) == [(1, "created", creator.pk, None)]
        assert list(
            EventPermission.history.filter(event_id=event_id).values_list("history_type", "history_user_id")
        ) == [("+", creator.pk)]
