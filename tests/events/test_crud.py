"""Event create, read, update and delete through the API, checked against the contract (API.md)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from events.models import Event
from sharing.models import EventPermission
from tests.factories import BASE_TIME, UserFactory, make_event

pytestmark = pytest.mark.django_db

UTC = UTC
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
CONTRACT_FIELDS = {
    "id",
    "title",
    "description",
    "location",
    "start_time",
    "end_time",
    "timezone",
    "is_all_day",
    "is_recurring",
    "recurrence_pattern",
    "version",
    "owner",
    "my_role",
    "created_at",
    "updated_at",
}


def instant(value: str) -> datetime:
    """An RFC 3339 time with an offset, as an aware datetime (clients compare instants, not strings)."""
    assert RFC3339.match(value), f"{value!r} is not RFC 3339 with an offset"
    return datetime.fromisoformat(value)


def history_rows(event_id) -> int:
    return Event.history.filter(id=event_id).count()


def body_for(start: datetime, hours: float = 1, **fields) -> dict:
    return {
        "title": "Standup",
        "start_time": start.isoformat(),
        "end_time": (start + timedelta(hours=hours)).isoformat(),
        **fields,
    }


def rrule_parts(rule: str) -> dict[str, str]:
    rule = rule.removeprefix("RRULE:")
    return dict(part.split("=", 1) for part in rule.split(";") if part)


# --- create ------------------------------------------------------------------------------------


def test_create_answers_every_field_of_the_contract(api, user):
    response = api.as_user(user).post(
        "/api/events",
        {
            "title": "Kick-off",
            "description": "First meeting",
            "location": "Room 1",
            "start_time": "2030-01-07T09:00:00Z",
            "end_time": "2030-01-07T10:30:00Z",
        },
    )

    assert response.status_code == 201, response.content
    assert response["ETag"]
    body = response.json()
    assert body.keys() >= CONTRACT_FIELDS
    assert body["title"] == "Kick-off"
    assert body["description"] == "First meeting"
    assert body["location"] == "Room 1"
    assert instant(body["start_time"]) == datetime(2030, 1, 7, 9, 0, tzinfo=UTC)
    assert instant(body["end_time"]) == datetime(2030, 1, 7, 10, 30, tzinfo=UTC)
    assert body["timezone"] == "UTC"
    assert body["is_all_day"] is False
    assert body["is_recurring"] is False
    assert body["recurrence_pattern"] is None
    assert body["version"] == 1
    assert body["owner"] == {"id": user.pk, "username": user.username}
    assert body["my_role"] == "owner"
    instant(body["created_at"])
    instant(body["updated_at"])
    assert [(p["user"], p["role"]) for p in body["permissions"]] == [
        ({"id": user.pk, "username": user.username}, "owner")
    ]

    event = Event.objects.get(pk=body["id"])
    assert (event.title, event.description, event.location, event.version) == (
        "Kick-off",
        "First meeting",
        "Room 1",
        1,
    )
    assert event.owner == user
    assert list(EventPermission.objects.filter(event=event).values_list("user_id", "role")) == [(user.pk, "owner")]
    versions = list(Event.history.filter(id=event.pk).values_list("version", "history_action", "history_user_id"))
    assert versions == [(1, "created", user.pk)]


def test_create_defaults_optional_fields(api, user):
    response = api.as_user(user).post("/api/events", body_for(BASE_TIME))

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["description"], body["location"], body["timezone"], body["is_all_day"]) == ("", "", "UTC", False)


def test_a_time_without_offset_is_read_in_the_events_time_zone(api, user):
    response = api.as_user(user).post(
        "/api/events",
        {
            "title": "Berlin",
            "start_time": "2030-07-01T09:00:00",
            "end_time": "2030-07-01T10:00:00",
            "timezone": "Europe/Berlin",
        },
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["timezone"] == "Europe/Berlin"
    assert instant(body["start_time"]) == datetime(2030, 7, 1, 7, 0, tzinfo=UTC)  # CEST is UTC+2
    assert instant(body["end_time"]) == datetime(2030, 7, 1, 8, 0, tzinfo=UTC)
    event = Event.objects.get(pk=body["id"])
    assert event.start_time == datetime(2030, 7, 1, 7, 0, tzinfo=UTC)


def test_a_time_with_an_offset_keeps_its_instant_whatever_the_events_time_zone(api, user):
    response = api.as_user(user).post(
        "/api/events",
        {
            "title": "New York",
            "start_time": "2030-07-01T09:00:00-04:00",
            "end_time": "2030-07-01T10:00:00-04:00",
            "timezone": "Europe/Berlin",
        },
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert instant(body["start_time"]) == datetime(2030, 7, 1, 13, 0, tzinfo=UTC)
    assert Event.objects.get(pk=body["id"]).end_time == datetime(2030, 7, 1, 14, 0, tzinfo=UTC)


def test_trailing_slash_is_optional(api, user):
    client = api.as_user(user)
    created = client.post("/api/events/", body_for(BASE_TIME))
    assert created.status_code == 201, created.content
    event_id = created.json()["id"]

    assert client.get(f"/api/events/{event_id}/").status_code == 200
    assert client.get(f"/api/events/{event_id}").status_code == 200
    assert client.get("/api/events/").status_code == 200


# --- read --------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["owner", "editor", "viewer"])
def test_detail_adds_the_permissions_list(api, event_with_roles, role):
    event, users = event_with_roles

    response = api.as_user(users[role]).get(f"/api/events/{event.pk}")

    assert response.status_code == 200
    assert response["ETag"]
    body = response.json()
    assert CONTRACT_FIELDS | {"permissions"} <= body.keys()
    assert body["id"] == event.pk
    assert body["my_role"] == role
    assert body["owner"] == {"id": users["owner"].pk, "username": "owner"}
    assert {p["user"]["username"]: p["role"] for p in body["permissions"]} == {
        "owner": "owner",
        "editor": "editor",
        "viewer": "viewer",
    }
    for permission in body["permissions"]:
        assert permission["granted_by"] == {"id": users["owner"].pk, "username": "owner"}
        instant(permission["granted_at"])


def test_list_items_carry_the_event_fields_and_my_role(api, event_with_roles):
    event, users = event_with_roles

    response = api.as_user(users["editor"]).get("/api/events")

    assert response.status_code == 200
    [item] = response.json()["results"]
    assert item.keys() >= CONTRACT_FIELDS
    assert (item["id"], item["my_role"], item["version"]) == (event.pk, "editor", 1)


# --- update ------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["put", "patch"])
def test_update_with_a_subset_of_fields_changes_only_those_and_bumps_version_once(api, event_with_roles, method):
    event, users = event_with_roles
    before = Event.objects.get(pk=event.pk)

    response = getattr(api.as_user(users["editor"]), method)(
        f"/api/events/{event.pk}", {"title": "Renamed", "location": "Room 2"}
    )

    assert response.status_code == 200, response.content
    assert response["ETag"]
    body = response.json()
    assert (body["title"], body["location"], body["version"], body["my_role"]) == ("Renamed", "Room 2", 2, "editor")
    assert instant(body["start_time"]) == before.start_time
    assert instant(body["end_time"]) == before.end_time
    after = Event.objects.get(pk=event.pk)
    assert (after.title, after.location, after.version) == ("Renamed", "Room 2", 2)
    assert (after.description, after.start_time, after.end_time) == (
        before.description,
        before.start_time,
        before.end_time,
    )
    assert list(Event.history.filter(id=event.pk).order_by("version").values_list("version", flat=True)) == [1, 2]


@pytest.mark.parametrize("method", ["put", "patch"])
def test_update_of_times_reads_naive_times_in_the_events_time_zone(api, user, method):
    event = make_event(user, timezone="America/New_York")

    response = getattr(api.as_user(user), method)(
        f"/api/events/{event.pk}", {"start_time": "2030-01-08T09:00:00", "end_time": "2030-01-08T11:00:00"}
    )

    assert response.status_code == 200, response.content
    assert instant(response.json()["start_time"]) == datetime(2030, 1, 8, 14, 0, tzinfo=UTC)  # EST is UTC-5
    event.refresh_from_db()
    assert (event.start_time, event.end_time, event.version) == (
        datetime(2030, 1, 8, 14, 0, tzinfo=UTC),
        datetime(2030, 1, 8, 16, 0, tzinfo=UTC),
        2,
    )


def test_each_update_bumps_the_version_by_exactly_one(api, user):
    event = make_event(user)
    client = api.as_user(user)

    versions = [client.patch(f"/api/events/{event.pk}", {"title": f"T{n}"}).json()["version"] for n in range(3)]

    assert versions == [2, 3, 4]
    assert Event.objects.get(pk=event.pk).version == 4
    assert history_rows(event.pk) == 4


@pytest.mark.parametrize("method", ["put", "patch"])
def test_an_update_that_changes_nothing_makes_no_version(api, user, method):
    event = make_event(user, title="Same", location="Here")
    client = api.as_user(user)
    current = client.get(f"/api/events/{event.pk}").json()
    unchanged = {key: current[key] for key in ("title", "description", "location", "start_time", "end_time")}
    unchanged |= {"timezone": current["timezone"], "is_all_day": False, "recurrence_pattern": None}

    response = getattr(client, method)(f"/api/events/{event.pk}", unchanged)

    assert response.status_code == 200, response.content
    assert response.json()["version"] == 1
    assert Event.objects.get(pk=event.pk).version == 1
    assert history_rows(event.pk) == 1


def test_an_empty_patch_makes_no_version(api, user):
    event = make_event(user)

    response = api.as_user(user).patch(f"/api/events/{event.pk}", {})

    assert response.status_code == 200, response.content
    assert response.json()["version"] == 1
    assert history_rows(event.pk) == 1


# --- delete ------------------------------------------------------------------------------------


def test_delete_removes_the_event_for_every_collaborator(api, event_with_roles):
    event, users = event_with_roles

    response = api.as_user(users["owner"]).delete(f"/api/events/{event.pk}")

    assert response.status_code == 204
    assert response.content == b""
    for role in ("owner", "editor", "viewer"):
        client = api.as_user(users[role])
        detail = client.get(f"/api/events/{event.pk}")
        assert detail.status_code == 404, role
        assert detail["Content-Type"].startswith("application/problem+json")
        assert event.pk not in [item["id"] for item in client.get("/api/events").json()["results"]], role
    assert not Event.objects.alive().filter(pk=event.pk).exists()
    last = Event.history.filter(id=event.pk).latest("version")
    assert (last.version, last.history_action, last.history_user_id) == (2, "deleted", users["owner"].pk)


def test_a_deleted_event_cannot_be_updated_or_deleted_again(api, user):
    event = make_event(user)
    client = api.as_user(user)
    assert client.delete(f"/api/events/{event.pk}").status_code == 204
    rows = history_rows(event.pk)

    assert client.patch(f"/api/events/{event.pk}", {"title": "Ghost"}).status_code == 404
    assert client.delete(f"/api/events/{event.pk}").status_code == 404
    assert history_rows(event.pk) == rows


# --- recurrence_pattern ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "pattern",
    [
        "FREQ=WEEKLY;BYDAY=MO;COUNT=5",
        "RRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=5",
        {"rrule": "FREQ=WEEKLY;BYDAY=MO;COUNT=5"},
        {"rrule": "FREQ=WEEKLY;BYDAY=MO;COUNT=5", "exdates": [], "rdates": []},
    ],
    ids=["string", "prefixed-string", "object", "full-object"],
)
def test_recurrence_pattern_is_accepted_as_string_or_object_and_answered_as_object(api, user, pattern):
    response = api.as_user(user).post("/api/events", body_for(BASE_TIME, recurrence_pattern=pattern))

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["is_recurring"] is True
    output = body["recurrence_pattern"]
    assert set(output) == {"rrule", "exdates", "rdates"}
    parts = rrule_parts(output["rrule"])
    assert (parts["FREQ"], parts["BYDAY"], parts["COUNT"]) == ("WEEKLY", "MO", "5")
    assert (output["exdates"], output["rdates"]) == ([], [])
    event = Event.objects.get(pk=body["id"])
    assert event.is_recurring is True
    assert event.recurrence is not None
    # the detail answers the same object
    assert api.get(f"/api/events/{event.pk}").json()["recurrence_pattern"] == output


def test_recurrence_exdates_and_rdates_are_kept(api, user):
    pattern = {
        "rrule": "FREQ=DAILY;COUNT=5",
        "exdates": ["2030-01-08T09:00:00Z"],
        "rdates": ["2030-01-20T09:00:00Z"],
    }

    response = api.as_user(user).post("/api/events", body_for(BASE_TIME, recurrence_pattern=pattern))

    assert response.status_code == 201, response.content
    output = response.json()["recurrence_pattern"]
    assert [instant(value) for value in output["exdates"]] == [datetime(2030, 1, 8, 9, 0, tzinfo=UTC)]
    assert [instant(value) for value in output["rdates"]] == [datetime(2030, 1, 20, 9, 0, tzinfo=UTC)]


@pytest.mark.parametrize(
    "fields, status",
    [
        ({"recurrence_pattern": "FREQ=DAILY;COUNT=3", "is_recurring": True}, 201),
        ({"recurrence_pattern": None, "is_recurring": False}, 201),
        ({"is_recurring": False}, 201),
        ({"recurrence_pattern": "FREQ=DAILY;COUNT=3", "is_recurring": False}, 400),
        ({"recurrence_pattern": None, "is_recurring": True}, 400),
        ({"is_recurring": True}, 400),
    ],
)
def test_is_recurring_must_agree_with_the_pattern(api, user, fields, status):
    response = api.as_user(user).post("/api/events", body_for(BASE_TIME, **fields))

    assert response.status_code == status, response.content
    if status == 201:
        body = response.json()
        assert body["is_recurring"] is (body["recurrence_pattern"] is not None)
    else:
        assert response["Content-Type"].startswith("application/problem+json")
        assert "is_recurring" in response.json()["errors"]
        assert not Event.objects.exists()


def test_adding_and_removing_a_pattern_flips_is_recurring(api, user):
    event = make_event(user)
    client = api.as_user(user)

    added = client.patch(f"/api/events/{event.pk}", {"recurrence_pattern": "FREQ=WEEKLY;COUNT=4"})
    assert added.status_code == 200, added.content
    assert (added.json()["is_recurring"], added.json()["version"]) == (True, 2)
    assert rrule_parts(added.json()["recurrence_pattern"]["rrule"])["FREQ"] == "WEEKLY"

    removed = client.patch(f"/api/events/{event.pk}", {"recurrence_pattern": None})
    assert removed.status_code == 200, removed.content
    assert (removed.json()["is_recurring"], removed.json()["recurrence_pattern"], removed.json()["version"]) == (
        False,
        None,
        3,
    )
    event.refresh_from_db()
    assert (event.is_recurring, event.recurrence) == (False, None)


def test_patching_is_recurring_against_the_stored_pattern_is_refused(api, user):
    event = make_event(user)

    response = api.as_user(user).patch(f"/api/events/{event.pk}", {"is_recurring": True})

    assert response.status_code == 400, response.content
    assert "is_recurring" in response.json()["errors"]
    event.refresh_from_db()
    assert (event.is_recurring, event.version) == (False, 1)


def test_the_owner_field_names_the_creator_for_other_collaborators(api, event_with_roles):
    event, users = event_with_roles
    newcomer = UserFactory()

    response = api.as_user(newcomer).post("/api/events", body_for(BASE_TIME + timedelta(days=1)))

    assert response.status_code == 201
    assert response.json()["owner"] == {"id": newcomer.pk, "username": newcomer.username}
    assert api.as_user(users["viewer"]).get(f"/api/events/{event.pk}").json()["owner"]["id"] == users["owner"].pk
