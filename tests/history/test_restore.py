"""Delete keeps the history; owners list their deleted events and restore them for 30 days."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from events import services as event_services
from events.models import Event
from history.models import AuditEntry
from tests.factories import BASE_TIME, UserFactory, make_event
from tests.helpers import database_state

pytestmark = pytest.mark.django_db


@pytest.fixture
def deleted(event_with_roles):
    event, users = event_with_roles
    event = event_services.event_delete(event=event, actor=users["owner"], reason="cancelled")
    return event, users


def test_the_owner_restores_a_deleted_event_as_a_new_version(api, deleted):
    event, users = deleted

    response = api.as_user(users["owner"]).post(
        f"/api/events/{event.pk}/restore", {"change_reason": "back on"}, HTTP_USER_AGENT="pytest-agent"
    )

    assert response.status_code == 200, response.content
    assert (response.json()["version"], response.json()["title"]) == (3, "Planning")
    event.refresh_from_db()
    assert event.deleted_at is None
    assert list(Event.history.filter(id=event.pk).order_by("version").values_list("version", "history_action")) == [
        (1, "created"),
        (2, "deleted"),
        (3, "restored"),
    ]
    assert Event.history.get(id=event.pk, version=3).history_change_reason == "back on"
    # everyone who had a role sees it again
    assert api.as_user(users["viewer"]).get(f"/api/events/{event.pk}").status_code == 200
    entry = AuditEntry.objects.get(action="event.restored")
    assert (entry.actor, entry.target_id, entry.user_agent) == (users["owner"], str(event.pk), "pytest-agent")


@pytest.mark.parametrize("role", ["editor", "viewer", "stranger"])
def test_only_owners_see_and_restore_deleted_events(api, deleted, role):
    event, users = deleted
    client = api.as_user(users[role])
    before = database_state()

    response = client.post(f"/api/events/{event.pk}/restore")

    assert response.status_code == 404
    assert database_state() == before


@pytest.mark.parametrize("role, status", [("owner", 409), ("editor", 403), ("viewer", 403), ("stranger", 404)])
def test_restoring_a_live_event(api, event_with_roles, role, status):
    event, users = event_with_roles
    client = api.as_user(users[role])
    before = database_state()

    response = client.post(f"/api/events/{event.pk}/restore")

    assert response.status_code == status
    assert database_state() == before


def test_after_30_days_it_is_gone(api, deleted):
    event, users = deleted
    Event.objects.filter(pk=event.pk).update(deleted_at=timezone.now() - timedelta(days=30, minutes=1))
    client = api.as_user(users["owner"])
    before = database_state()

    response = client.post(f"/api/events/{event.pk}/restore")

    assert response.status_code == 410
    assert response["Content-Type"].startswith("application/problem+json")
    assert response.json()["type"] == "/problems/gone"
    assert database_state() == before
    assert client.get("/api/events/deleted").json()["results"] == []


def test_restoring_into_a_busy_slot_follows_the_conflict_strategy(api, deleted):
    event, users = deleted
    make_event(users["owner"], title="Meanwhile", start=BASE_TIME)
    client = api.as_user(users["owner"])
    before = database_state()

    assert client.post(f"/api/events/{event.pk}/restore").status_code == 409
    assert database_state() == before
    allowed = client.post(f"/api/events/{event.pk}/restore", {"conflict_strategy": "allow"})
    assert allowed.status_code == 200 and allowed.json()["version"] == 3


def test_a_stale_if_match_is_a_412(api, deleted):
    event, users = deleted
    client = api.as_user(users["owner"])
    before = database_state()

    response = client.post(f"/api/events/{event.pk}/restore", HTTP_IF_MATCH='"1-abc"')

    assert response.status_code == 412 and response.json()["current_version"] == 2
    assert database_state() == before


def test_the_owner_lists_deleted_events_newest_deletion_first(api, user):
    first = make_event(user, title="first")
    second = make_event(user, title="second")
    make_event(user, title="alive")
    someone_elses = make_event(UserFactory(), title="not mine")
    for event in (first, second, someone_elses):
        event_services.event_delete(event=event, actor=event.owner)

    response = api.as_user(user).get("/api/events/deleted")

    assert response.status_code == 200, response.content
    results = response.json()["results"]
    assert [r["title"] for r in results] == ["second", "first"]
    assert results[0]["my_role"] == "owner" and results[0]["version"] == 2
    assert results[0]["deleted_at"] and results[0]["restorable_until"] > results[0]["deleted_at"]
    assert response.json()["count"] == 2
    # deleted events stay out of the normal list
    assert [r["title"] for r in api.as_user(user).get("/api/events").json()["results"]] == ["alive"]


def test_the_deleted_list_needs_authentication(api):
    response = api.get("/api/events/deleted")

    assert response.status_code == 401


def test_a_long_reason_is_kept_whole_in_the_audit(api, deleted):
    event, users = deleted
    reason = ("why " * 125).strip() + "!"  # 500 characters, the most the API takes

    response = api.as_user(users["owner"]).post(f"/api/events/{event.pk}/restore", {"change_reason": reason})

    assert response.status_code == 200, response.content
    assert AuditEntry.objects.get(action="event.restored").data["reason"] == reason
    recorded = Event.history.get(id=event.pk, version=3).history_change_reason
    assert recorded and reason.startswith(recorded)
