"""`scope` on PATCH /api/events/{id}/occurrences/{original_start}: this (default), following, all; and
parameters the endpoint does not take are refused, never silently dropped."""

from __future__ import annotations

import pytest

from events.models import Event
from tests.factories import make_event
from tests.helpers import assert_problem, database_state

pytestmark = pytest.mark.django_db

WEEKLY = {"rrule": "FREQ=WEEKLY;COUNT=6", "exdates": [], "rdates": []}  # Mondays 09:00 UTC from 2030-01-07
THIRD = "2030-01-21T09:00:00Z"


def titles(client, event_id) -> list[str]:
    response = client.get(f"/api/events/{event_id}/occurrences", {"limit": 10})
    return [item["title"] for item in response.json()["results"]]


def without_ids(answer: dict) -> dict:
    """The parts of a split answer that do not depend on which event (or when) it happened to."""
    drop = {"id", "created_at", "updated_at", "uid", "permissions", "owner"}
    return {side: {k: v for k, v in (answer[side] or {}).items() if k not in drop} for side in ("updated", "created")}


@pytest.mark.parametrize("where", ["query", "body"])
def test_following_splits_the_series_exactly_as_the_series_endpoint_does(client, me, series, where):
    twin = make_event(me, title="Weekly", recurrence=WEEKLY)
    body = {"title": "Later", "conflict_strategy": "allow"}  # the twin overlaps the series
    url = f"/api/events/{series.pk}/occurrences/{THIRD}"
    if where == "query":
        url += "?scope=following"
    else:
        body["scope"] = "following"

    response = client.patch(url, body)
    reference = client.patch(
        f"/api/events/{twin.pk}?scope=following&occurrence={THIRD}", {"title": "Later", "conflict_strategy": "allow"}
    )

    assert response.status_code == 200, response.content
    assert reference.status_code == 200, reference.content
    answer = response.json()
    assert answer["updated"]["id"] == series.pk and answer["created"]["title"] == "Later"
    assert without_ids(answer) == without_ids(reference.json())
    assert titles(client, series.pk) == ["Weekly", "Weekly"]
    assert titles(client, answer["created"]["id"]) == ["Later"] * 4


def test_following_at_the_first_occurrence_changes_the_whole_series(client, series):
    response = client.patch(
        f"/api/events/{series.pk}/occurrences/2030-01-07T09:00:00Z?scope=following", {"title": "All"}
    )

    assert response.status_code == 200, response.content
    assert response.json()["created"] is None
    assert titles(client, series.pk) == ["All"] * 6


def test_all_applies_the_change_to_the_series(client, series):
    response = client.patch(f"/api/events/{series.pk}/occurrences/{THIRD}", {"title": "Renamed", "scope": "all"})

    assert response.status_code == 200, response.content
    assert response.json()["title"] == "Renamed" and response.json()["version"] == series.version + 1
    assert titles(client, series.pk) == ["Renamed"] * 6
    assert Event.objects.get(pk=series.pk).exceptions in ({}, [], None)


@pytest.mark.parametrize("url_suffix, body", [("", {"title": "Once"}), ("?scope=this", {"title": "Once"})])
def test_this_is_the_default_and_changes_the_occurrence_alone(client, series, url_suffix, body):
    response = client.patch(f"/api/events/{series.pk}/occurrences/{THIRD}{url_suffix}", body)

    assert response.status_code == 200, response.content
    assert titles(client, series.pk) == ["Weekly", "Weekly", "Once", "Weekly", "Weekly", "Weekly"]


@pytest.mark.parametrize(
    "url_suffix, body, field",
    [
        ("?scope=series", {"title": "x"}, "scope"),
        ("", {"title": "x", "scope": "everything"}, "scope"),
        ("?scope=", {"title": "x"}, "scope"),
        ("?scope=all", {"cancelled": True}, "cancelled"),
        ("?scope=following", {"title": "x", "occurrence": THIRD}, "occurrence"),
        ("?scope=following", {"title": "x"} | {"on_conflict": "merge"}, "on_conflict"),
        ("?on_conflict=merge", {"title": "x"}, "on_conflict"),
        ("?scop=all", {"title": "x"}, "scop"),
        ("", {"title": "x", "colour": "red"}, "colour"),
        ("", {"title": "x", "recurrence_pattern": "FREQ=DAILY"}, "recurrence_pattern"),
    ],
    ids=[
        "scope-unknown-query",
        "scope-unknown-body",
        "scope-empty",
        "all-with-cancelled",
        "following-with-occurrence",
        "following-with-merge",
        "on-conflict-without-all",
        "misspelled-parameter",
        "unknown-member",
        "series-field-on-one-occurrence",
    ],
)
def test_a_scope_or_parameter_not_taken_is_a_400_naming_it_and_changes_nothing(client, series, url_suffix, body, field):
    before = database_state()

    response = client.patch(f"/api/events/{series.pk}/occurrences/{THIRD}{url_suffix}", body)

    problem = assert_problem(response, 400)
    assert field in problem["errors"], problem
    assert database_state() == before


def test_the_write_options_still_work_with_every_scope(client, series):
    stale = client.patch(
        f"/api/events/{series.pk}/occurrences/{THIRD}?scope=all", {"title": "x"}, HTTP_IF_MATCH='"999-0"'
    )
    assert_problem(stale, 412)
    response = client.patch(
        f"/api/events/{series.pk}/occurrences/{THIRD}?scope=all&conflict_strategy=allow",
        {"title": "Why", "change_reason": "asked"},
    )
    assert response.status_code == 200, response.content
    assert Event.history.filter(id=series.pk).latest("history_date").history_change_reason == "asked"
