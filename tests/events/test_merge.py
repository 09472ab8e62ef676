"""Stale writes resolved by on_conflict: reject (412), merge (three-way, 409 on overlap) and overwrite."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from events.models import Event
from tests.factories import BASE_TIME
from tests.helpers import assert_problem, database_state

pytestmark = pytest.mark.django_db


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text)


def someone_else_patches(client, event, body) -> int:
    response = client.patch(f"/api/events/{event.pk}", body)
    assert response.status_code == 200, response.content
    return response.json()["version"]


def test_merge_applies_a_stale_write_whose_fields_nobody_else_changed(client, event):
    assert someone_else_patches(client, event, {"title": "Planning (moved)"}) == 2

    response = client.patch(
        f"/api/events/{event.pk}?on_conflict=merge", {"location": "Room 2"}, HTTP_IF_MATCH='"1-0123"'
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["merged"], body["version"], body["title"], body["location"]) == (
        True,
        3,
        "Planning (moved)",
        "Room 2",
    )
    assert response["ETag"].startswith('"3-')
    stored = Event.objects.get(pk=event.pk)
    assert (stored.version, stored.title, stored.location) == (3, "Planning (moved)", "Room 2")
    row = Event.history.get(id=event.pk, version=3)
    assert (row.title, row.location, row.history_change_reason) == ("Planning (moved)", "Room 2", "[merge base=v1]")


def test_merge_works_from_the_body_with_base_version_and_keeps_the_reason(client, event):
    someone_else_patches(client, event, {"description": "New agenda"})

    response = client.put(
        f"/api/events/{event.pk}",
        {"title": "Renamed", "base_version": 1, "on_conflict": "merge", "change_reason": "typo"},
    )

    assert response.status_code == 200, response.content
    assert (response.json()["merged"], response.json()["description"]) == (True, "New agenda")
    assert Event.history.get(id=event.pk, version=3).history_change_reason == "[merge base=v1] typo"


def test_a_full_put_only_counts_the_fields_it_changed_from_its_base(client, event):
    """A client that PUTs everything it read does not overwrite what others changed since."""
    read = client.get(f"/api/events/{event.pk}").json()
    someone_else_patches(client, event, {"location": "Room 9", "start_time": read["start_time"]})
    full = {key: read[key] for key in ("title", "description", "location", "start_time", "end_time", "timezone")}

    response = client.put(
        f"/api/events/{event.pk}?on_conflict=merge", {**full, "title": "Mine"}, HTTP_IF_MATCH=f'"{read["version"]}-0"'
    )

    assert response.status_code == 200, response.content
    assert (response.json()["title"], response.json()["location"]) == ("Mine", "Room 9")


def test_overlapping_changes_are_a_409_with_base_current_and_yours_and_change_nothing(client, event):
    someone_else_patches(client, event, {"title": "Theirs", "location": "Room 3"})
    before = database_state()

    response = client.patch(
        f"/api/events/{event.pk}?on_conflict=merge", {"title": "Mine", "description": "Mine too", "base_version": 1}
    )

    problem = assert_problem(response, 409, "merge-conflict")
    assert problem["conflicts"] == {"title": {"base": "Planning", "current": "Theirs", "yours": "Mine"}}
    assert problem["current_version"] == 2
    assert database_state() == before


def test_the_same_change_on_both_sides_is_no_conflict(client, event):
    someone_else_patches(client, event, {"title": "Same"})

    response = client.patch(
        f"/api/events/{event.pk}", {"title": "Same", "location": "Room 5", "base_version": 1, "on_conflict": "merge"}
    )

    assert response.status_code == 200, response.content
    assert (response.json()["title"], response.json()["location"], response.json()["version"]) == (
        "Same",
        "Room 5",
        3,
    )


def test_a_merge_over_several_versions_compares_with_the_base_not_the_previous_version(client, event):
    someone_else_patches(client, event, {"title": "Two"})
    someone_else_patches(client, event, {"title": "Planning"})  # back to the base value
    someone_else_patches(client, event, {"description": "Four"})

    response = client.patch(f"/api/events/{event.pk}?on_conflict=merge", {"title": "Mine", "base_version": 1})

    assert response.status_code == 200, response.content
    assert (response.json()["title"], response.json()["description"], response.json()["version"]) == (
        "Mine",
        "Four",
        5,
    )


def test_a_schedule_change_merges_with_a_text_change(client, event):
    moved = {
        "start_time": (BASE_TIME + timedelta(days=1)).isoformat(),
        "end_time": (BASE_TIME + timedelta(days=1, hours=2)).isoformat(),
    }
    someone_else_patches(client, event, {"title": "Theirs"})

    response = client.patch(f"/api/events/{event.pk}?on_conflict=merge", {**moved, "base_version": 1})

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["title"] == "Theirs"
    assert instant(body["start_time"]) == BASE_TIME + timedelta(days=1)
    assert instant(body["end_time"]) == BASE_TIME + timedelta(days=1, hours=2)


def test_the_schedule_merges_as_one_unit(client, event):
    """Their new end with my new start could make an event neither wrote (or one ending before it starts)."""
    someone_else_patches(client, event, {"end_time": (BASE_TIME + timedelta(hours=3)).isoformat()})
    before = database_state()

    response = client.patch(
        f"/api/events/{event.pk}?on_conflict=merge",
        {"start_time": (BASE_TIME + timedelta(hours=2)).isoformat(), "base_version": 1},
    )

    problem = assert_problem(response, 409, "merge-conflict")
    assert set(problem["conflicts"]) == {"start_time", "end_time"}
    start = problem["conflicts"]["start_time"]
    assert [instant(start[side]) for side in ("base", "current", "yours")] == [
        BASE_TIME,
        BASE_TIME,
        BASE_TIME + timedelta(hours=2),
    ]
    end = problem["conflicts"]["end_time"]
    assert instant(end["current"]) == BASE_TIME + timedelta(hours=3)
    assert database_state() == before


def test_a_recurrence_conflict_is_named_as_the_api_names_it(client, event):
    someone_else_patches(client, event, {"recurrence_pattern": "FREQ=DAILY;COUNT=3"})

    response = client.patch(
        f"/api/events/{event.pk}?on_conflict=merge", {"recurrence_pattern": "FREQ=WEEKLY;COUNT=3", "base_version": 1}
    )

    problem = assert_problem(response, 409, "merge-conflict")
    conflict = problem["conflicts"]["recurrence_pattern"]
    assert conflict["base"] is None
    assert conflict["current"]["rrule"].startswith("FREQ=DAILY")
    assert conflict["yours"]["rrule"].startswith("FREQ=WEEKLY")


def test_overwrite_lets_the_last_writer_win_and_says_so_in_history(client, event):
    someone_else_patches(client, event, {"title": "Theirs"})

    response = client.patch(f"/api/events/{event.pk}?on_conflict=overwrite", {"title": "Mine"}, HTTP_IF_MATCH='"1-abc"')

    assert response.status_code == 200, response.content
    assert (response.json()["title"], response.json()["version"], response.json()["merged"]) == ("Mine", 3, False)
    overwrites = Event.history.filter(id=event.pk, history_change_reason__startswith="[overwrite")
    assert [(row.version, row.title) for row in overwrites] == [(3, "Mine")]
    assert Event.history.get(id=event.pk, version=2).title == "Theirs"  # what was overwritten stays on record


def test_reject_is_the_default(client, event):
    someone_else_patches(client, event, {"title": "Theirs"})
    before = database_state()

    response = client.patch(f"/api/events/{event.pk}", {"location": "Room 2", "base_version": 1})

    assert assert_problem(response, 412, "precondition-failed")["current_version"] == 2
    assert database_state() == before


@pytest.mark.parametrize("tag", ['"99-x"', "garbage", '"0"'])
def test_merge_with_a_base_that_never_existed_is_a_412(client, event, tag):
    someone_else_patches(client, event, {"title": "Theirs"})
    before = database_state()

    response = client.patch(f"/api/events/{event.pk}?on_conflict=merge", {"location": "x"}, HTTP_IF_MATCH=tag)

    assert assert_problem(response, 412, "precondition-failed")["current_version"] == 2
    assert database_state() == before


def test_an_unknown_on_conflict_is_a_400(client, event):
    before = database_state()

    query = client.patch(f"/api/events/{event.pk}?on_conflict=maybe", {"title": "x"})
    body = client.patch(f"/api/events/{event.pk}", {"title": "x", "on_conflict": "maybe"})

    assert "on_conflict" in assert_problem(query, 400, "validation-error")["errors"]
    assert "on_conflict" in assert_problem(body, 400, "validation-error")["errors"]
    assert database_state() == before


def test_a_current_base_is_an_ordinary_write(client, event):
    response = client.patch(
        f"/api/events/{event.pk}?on_conflict=merge",
        {"title": "Fresh"},
        HTTP_IF_MATCH=client.get(f"/api/events/{event.pk}")["ETag"],
    )

    assert response.status_code == 200
    assert (response.json()["merged"], response.json()["version"]) == (False, 2)
    assert Event.history.get(id=event.pk, version=2).history_change_reason is None


def test_a_viewer_cannot_merge_either(api, event_with_roles):
    event, users = event_with_roles
    client = api.as_user(users["viewer"])
    before = database_state()

    response = client.patch(f"/api/events/{event.pk}?on_conflict=overwrite", {"title": "x", "base_version": 1})

    assert response.status_code == 403
    assert database_state() == before
