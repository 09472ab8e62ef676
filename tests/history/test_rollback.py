"""POST /api/events/{id}/rollback/{version}: a new version equal to an old one; history is never rewritten."""

from __future__ import annotations

from datetime import timedelta

import pytest

from events import services as event_services
from events.models import Event
from history.models import AuditEntry
from tests.factories import BASE_TIME, make_event
from tests.helpers import Client, database_state, edit

pytestmark = pytest.mark.django_db

CONTENT = ("title", "description", "location", "start_time", "end_time", "timezone", "is_all_day", "recurrence")


def content(row) -> tuple:
    return tuple(getattr(row, field) for field in CONTENT)


@pytest.fixture
def edited(event_with_roles):
    """Planning (v1) → renamed, described and moved (v2) → made weekly (v3)."""
    event, users = event_with_roles
    event = edit(
        event,
        users["owner"],
        title="Planning v2",
        description="Agenda",
        start_time=BASE_TIME + timedelta(hours=2),
        end_time=BASE_TIME + timedelta(hours=3),
    )
    event = edit(event, users["editor"], recurrence={"rrule": "FREQ=WEEKLY;COUNT=3", "exdates": [], "rdates": []})
    return event, users


@pytest.mark.parametrize("role", ["owner", "editor"])
def test_rollback_makes_a_new_version_equal_to_the_chosen_one(api, edited, role):
    event, users = edited

    response = api.as_user(users[role]).post(
        f"/api/events/{event.pk}/rollback/1", {"change_reason": "back to the plan"}
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["version"], body["title"], body["description"], body["recurrence_pattern"]) == (
        4,
        "Planning",
        "",
        None,
    )
    assert body["start_time"] == "2030-01-07T09:00:00+00:00" and body["is_recurring"] is False
    assert response["ETag"].startswith('"4-')
    rows = {row.version: row for row in Event.history.filter(id=event.pk)}
    assert sorted(rows) == [1, 2, 3, 4]  # nothing rewritten
    assert content(rows[4]) == content(rows[1])
    assert (rows[4].history_action, rows[4].history_user_id, rows[4].history_change_reason) == (
        "rolled_back",
        users[role].pk,
        "back to the plan",
    )
    event.refresh_from_db()
    assert content(event) == content(rows[1]) and event.series_end == BASE_TIME + timedelta(hours=1)
    audit = AuditEntry.objects.get(action="event.rolled_back")
    assert audit.data["rolled_back_to"] == 1 and audit.data["version"] == 4 and audit.actor == users[role]


def test_the_changelog_says_what_the_rollback_did(api, edited):
    event, users = edited
    client = api.as_user(users["owner"])
    assert client.post(f"/api/events/{event.pk}/rollback/2").status_code == 200

    last = client.get(f"/api/events/{event.pk}/changelog", {"order": "desc"}).json()["results"][0]

    assert (last["version"], last["action"], last["changed_fields"]) == (4, "rolled_back", ["recurrence_pattern"])
    assert last["summary"] == "rolled back to version 2: made it a single event (it repeated weekly, 3 times)"


@pytest.mark.parametrize("role, status", [("viewer", 403), ("stranger", 404), ("anonymous", 401)])
def test_others_cannot_roll_back_and_nothing_changes(api, edited, role, status):
    event, users = edited
    client = api.as_user(users[role])
    before = database_state()

    response = client.post(f"/api/events/{event.pk}/rollback/1")

    assert response.status_code == status
    assert response["Content-Type"].startswith("application/problem+json")
    assert database_state() == before


def test_a_stale_if_match_is_a_412_and_changes_nothing(api, edited):
    event, users = edited
    client = api.as_user(users["owner"])
    before = database_state()

    response = client.post(f"/api/events/{event.pk}/rollback/1", HTTP_IF_MATCH='"2-abc"')

    assert response.status_code == 412
    assert response.json()["current_version"] == 3
    assert database_state() == before


def test_a_current_if_match_or_base_version_is_accepted(api, edited):
    event, users = edited
    client = api.as_user(users["owner"])

    assert client.post(f"/api/events/{event.pk}/rollback/1", HTTP_IF_MATCH='"3-abc"').status_code == 200
    assert client.post(f"/api/events/{event.pk}/rollback/2", {"base_version": 4}).status_code == 200
    assert client.post(f"/api/events/{event.pk}/rollback/1", {"base_version": 4}).status_code == 412


def test_a_rollback_into_a_busy_slot_follows_the_conflict_strategy(api, edited):
    event, users = edited
    make_event(users["owner"], title="Dentist", start=BASE_TIME)  # where version 1 was
    client = api.as_user(users["owner"])
    before = database_state()

    rejected = client.post(f"/api/events/{event.pk}/rollback/1")
    assert rejected.status_code == 409
    assert rejected.json()["conflicts"][0]["title"] == "Dentist"
    assert database_state() == before

    warned = client.post(f"/api/events/{event.pk}/rollback/1", {"conflict_strategy": "warn"})
    assert warned.status_code == 200
    assert warned.json()["conflicts"][0]["title"] == "Dentist"
    assert warned.json()["version"] == 4


def test_rolling_back_to_what_the_event_already_is_makes_no_version(api, edited):
    event, users = edited

    response = api.as_user(users["owner"]).post(f"/api/events/{event.pk}/rollback/3")

    assert response.status_code == 200
    assert response.json()["version"] == 3
    assert Event.history.filter(id=event.pk).count() == 3


@pytest.mark.parametrize("version", ["9", "0", "abc"])
def test_a_version_that_does_not_exist_is_a_404(api, edited, version):
    event, users = edited
    client = api.as_user(users["owner"])
    before = database_state()

    response = client.post(f"/api/events/{event.pk}/rollback/{version}")

    assert response.status_code == 404
    assert database_state() == before


def test_a_deleted_event_must_be_restored_first(api, edited):
    event, users = edited
    event_services.event_delete(event=event, actor=users["owner"])
    as_owner, as_editor = api.as_user(users["owner"]), Client().as_user(users["editor"])
    before = database_state()

    owner = as_owner.post(f"/api/events/{event.pk}/rollback/1")
    editor = as_editor.post(f"/api/events/{event.pk}/rollback/1")

    assert owner.status_code == 409
    assert owner.json()["type"] == "/problems/event-deleted"
    assert editor.status_code == 404  # a deleted event is visible to its owners only
    assert database_state() == before


def test_a_bad_body_is_a_400(api, edited):
    event, users = edited
    client = api.as_user(users["owner"])

    for body in ({"conflict_strategy": "maybe"}, {"change_reason": "r" * 501}, {"base_version": "x"}):
        response = client.post(f"/api/events/{event.pk}/rollback/1", body)
        assert response.status_code == 400, body
    assert Event.history.filter(id=event.pk).count() == 3


def test_a_stale_rollback_may_merge_onto_the_current_version(api, edited):
    """on_conflict=merge: rolling back the description (v1) while someone else renamed the event since."""
    event, users = edited
    stale = event.version
    event = edit(event, users["owner"], location="Room 9")

    response = api.as_user(users["editor"]).post(
        f"/api/events/{event.pk}/rollback/2",
        {"base_version": stale, "on_conflict": "merge", "conflict_strategy": "allow"},
        format="json",
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["merged"] is True
    assert body["version"] == event.version + 1
    assert body["location"] == "Room 9"  # the change made since the base survives
    assert body["recurrence_pattern"] is None  # the rollback to version 2 applied on top


def test_a_stale_rollback_is_a_412_by_default(api, edited):
    event, users = edited
    stale = event.version
    event = edit(event, users["owner"], location="Room 9")
    client = api.as_user(users["editor"])
    before = database_state()

    response = client.post(f"/api/events/{event.pk}/rollback/1", {"base_version": stale})

    assert response.status_code == 412
    assert response.json()["current_version"] == event.version
    assert database_state() == before
