"""`uid`: given on create or generated, unique per owner (a database constraint), never changed, new on a split."""

import pytest
from django.db import IntegrityError, transaction

from events.models import Event
from tests.factories import UserFactory, make_event
from tests.helpers import assert_problem

pytestmark = pytest.mark.django_db

NEW = {"title": "A", "start_time": "2032-03-01T10:00:00Z", "end_time": "2032-03-01T11:00:00Z"}


def test_generated_given_and_in_every_answer(api, user):
    client = api.as_user(user)
    generated = client.post("/api/events", NEW, format="json").json()
    assert len(generated["uid"]) == 36
    given = client.post(
        "/api/events", {**NEW, "uid": "meeting-1@example.com", "conflict_strategy": "allow"}, format="json"
    )
    assert given.status_code == 201 and given.json()["uid"] == "meeting-1@example.com"
    event_id = given.json()["id"]
    assert client.get(f"/api/events/{event_id}").json()["uid"] == "meeting-1@example.com"
    assert client.get(f"/api/events/{event_id}/history/1").json()["data"]["uid"] == "meeting-1@example.com"
    changes = client.get("/api/sync").json()["changes"]
    assert {c["event"]["uid"] for c in changes if c.get("event")} >= {"meeting-1@example.com"}


def test_unique_per_owner_not_across_owners(api, user):
    client = api.as_user(user)
    body = {**NEW, "uid": "same", "conflict_strategy": "allow"}
    assert client.post("/api/events", body, format="json").status_code == 201
    problem = assert_problem(client.post("/api/events", body, format="json"), 400)
    assert "uid" in problem["errors"]
    batch = client.post("/api/events/batch", {"events": [{**NEW, "uid": "x"}, {**NEW, "uid": "x"}]}, format="json")
    assert_problem(batch, 400)
    assert Event.objects.filter(owner=user).count() == 1
    other = api.as_user(UserFactory()).post("/api/events", body, format="json")
    assert other.status_code == 201


def test_the_database_guards_uniqueness(user):
    event = make_event(user)
    with pytest.raises(IntegrityError), transaction.atomic():
        Event.objects.create(owner=user, uid=event.uid, title="B", start_time=event.start_time, end_time=event.end_time)


def test_an_update_never_changes_it(api, user):
    event = make_event(user)
    client = api.as_user(user)
    problem = assert_problem(client.patch(f"/api/events/{event.pk}", {"uid": "other"}, format="json"), 400)
    assert "uid" in problem["errors"]
    same = client.patch(f"/api/events/{event.pk}", {"uid": event.uid, "title": "Renamed"}, format="json")
    assert same.status_code == 200 and same.json()["uid"] == event.uid


def test_a_split_keeps_the_old_uid_and_gives_the_new_series_a_new_one(api, user):
    client = api.as_user(user)
    series = client.post(
        "/api/events",
        {**NEW, "uid": "series@example.com", "recurrence_pattern": "FREQ=WEEKLY;COUNT=6"},
        format="json",
    ).json()
    response = client.patch(
        f"/api/events/{series['id']}?scope=following&occurrence=2032-03-15T10:00:00Z", {"title": "Later"}, format="json"
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["updated"]["uid"] == "series@example.com"
    assert body["created"]["uid"] not in ("series@example.com", "")
