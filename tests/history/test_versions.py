"""GET /api/events/{id}/history and /history/{version}: one row per version, with who, when, what and why."""

from __future__ import annotations

import pytest

from events import content
from events import services as event_services
from tests.factories import UserFactory, make_event
from tests.helpers import edit

pytestmark = pytest.mark.django_db


def test_history_lists_every_version_oldest_first_with_who_what_and_why(api, event_with_roles):
    event, users = event_with_roles
    event = edit(event, users["editor"], reason="new room", location="Room 9")
    edit(event, users["owner"], title="Planning (moved)")

    response = api.as_user(users["viewer"]).get(f"/api/events/{event.pk}/history")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["count"] == 3 and body["next"] is None
    rows = body["results"]
    assert [(r["version"], r["action"], r["changed_by"]["username"], r["change_reason"]) for r in rows] == [
        (1, "created", "owner", None),
        (2, "updated", "editor", "new room"),
        (3, "updated", "owner", None),
    ]
    assert rows[1]["changed_fields"] == ["location"]
    assert rows[1]["size_change"] == {"location": 6, "total": 6}
    assert rows[1]["summary"] == "set the location to 'Room 9'"
    assert rows[2]["changed_fields"] == ["title"]
    assert rows[2]["summary"] == "changed the title from 'Planning' to 'Planning (moved)'"
    assert rows[0]["changed_at"] <= rows[1]["changed_at"] <= rows[2]["changed_at"]


def test_history_newest_first_and_paginated(api, user):
    event = make_event(user, title="T0")
    for n in range(1, 5):
        event = edit(event, user, title=f"T{n}")

    response = api.as_user(user).get(f"/api/events/{event.pk}/history", {"order": "desc", "page_size": 2, "page": 2})

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 5
    assert [r["version"] for r in body["results"]] == [3, 2]
    assert body["results"][1]["summary"] == "changed the title from 'T0' to 'T1'"  # the row before the page is read too


def test_bad_order_is_a_400(api, user):
    event = make_event(user)

    response = api.as_user(user).get(f"/api/events/{event.pk}/history", {"order": "sideways"})

    assert response.status_code == 400
    assert "order" in response.json()["errors"]


def test_one_version_has_its_full_snapshot(api, user):
    event = make_event(user, title="First", description="Plan", timezone="Europe/Paris")
    edit(event, user, title="Second")

    response = api.as_user(user).get(f"/api/events/{event.pk}/history/1")

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["version"], body["action"], body["changed_by"]["id"]) == (1, "created", user.pk)
    data = body["data"]
    assert data["title"] == "First" and data["description"] == "Plan" and data["version"] == 1
    assert data["start_time"] == "2030-01-07T10:00:00+01:00"  # the instant, with the offset of the event's zone
    assert data["timezone"] == "Europe/Paris" and data["recurrence_pattern"] is None
    assert data["owner"] == {"id": user.pk, "username": user.username}
    assert data["deleted_at"] is None


@pytest.mark.parametrize("version", ["0", "3", "abc", "-1", "99999999999999999999"])
def test_a_version_that_does_not_exist_is_a_404(api, user, version):
    event = make_event(user)
    edit(event, user, title="Two")

    response = api.as_user(user).get(f"/api/events/{event.pk}/history/{version}")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/problem+json")


def test_a_deleted_events_history_stays_readable_by_its_owners_only(api, event_with_roles):
    event, users = event_with_roles
    event_services.event_delete(event=event, actor=users["owner"], reason="cancelled")

    owner = api.as_user(users["owner"]).get(f"/api/events/{event.pk}/history")
    assert owner.status_code == 200
    assert [(r["version"], r["action"], r["change_reason"]) for r in owner.json()["results"]][-1] == (
        2,
        "deleted",
        "cancelled",
    )
    assert owner.json()["results"][-1]["changed_fields"] == []
    assert owner.json()["results"][-1]["summary"] == "deleted the event"
    for role in ("editor", "viewer", "stranger"):
        assert api.as_user(users[role]).get(f"/api/events/{event.pk}/history").status_code == 404


def test_history_query_count_does_not_grow_with_versions(api, user, django_assert_num_queries):
    small = make_event(user, title="small")
    for n in range(2):
        small = edit(small, user, title=f"s{n}")
    big = make_event(user, title="big")
    for n in range(30):
        big = edit(big, user, title=f"b{n}", description="x" * n)
    client = api.as_user(user)

    # auth user, event, count, page (+ the row before the page, when it is not on it)
    with django_assert_num_queries(4):
        assert client.get(f"/api/events/{small.pk}/history").status_code == 200
    with django_assert_num_queries(4):
        assert client.get(f"/api/events/{big.pk}/history").status_code == 200
    with django_assert_num_queries(5):
        response = client.get(f"/api/events/{big.pk}/history", {"page": 2})
    assert (
        response.json()["results"][0]["summary"]
        == "changed the title from 'b18' to 'b19'; edited the description (+1 character)"
    )


def test_another_users_event_history_is_a_404_like_a_missing_one(api, user):
    event = make_event(UserFactory())
    client = api.as_user(user)

    hidden = client.get(f"/api/events/{event.pk}/history")
    missing = client.get(f"/api/events/{event.pk + 1000}/history")

    assert hidden.status_code == missing.status_code == 404
    assert hidden.json() == missing.json()


def test_a_versions_data_is_the_events_answer_at_that_version(client, series):
    """Every content member of the event's answer (events/content.py), exceptions of a series included."""
    client.patch(f"/api/events/{series.pk}/occurrences/2030-01-14T09:00:00Z", {"title": "Moved", "location": "B"})
    client.delete(f"/api/events/{series.pk}/occurrences/2030-01-21T09:00:00Z")
    answer = client.get(f"/api/events/{series.pk}").json()
    assert answer["version"] == 3
    assert [e["cancelled"] for e in answer["exceptions"]] == [False, True]

    data = client.get(f"/api/events/{series.pk}/history/3").json()["data"]

    for name, _ in content.MEMBERS:
        assert data[name] == answer[name], name
    first = client.get(f"/api/events/{series.pk}/history/1").json()["data"]
    assert (first["exceptions"], first["recurrence_pattern"]) == ([], answer["recurrence_pattern"])
