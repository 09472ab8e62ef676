"""GET /api/events: pagination, visibility and every filter of the contract."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from events.models import Event
from sharing import services as sharing_services
from tests.factories import BASE_TIME, UserFactory, make_event
from tests.helpers import assert_problem

pytestmark = pytest.mark.django_db

UTC = UTC


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A time in January 2030 (the 7th is a Monday)."""
    return datetime(2030, 1, day, hour, minute, tzinfo=UTC)


def share(event: Event, owner, user, role: str) -> None:
    sharing_services.event_share(event=event, actor=owner, targets=[{"user_id": user.pk, "role": role}])


def titles(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [item["title"] for item in response.json()["results"]]


@pytest.fixture
def calendar(me):
    """My own three events on Monday, two shared with me on Tuesday, a stranger's on Monday."""
    other = UserFactory(username="other")
    stranger = UserFactory(username="stranger")
    events = {
        "Alpha review": make_event(
            me, title="Alpha review", start=at(7, 9), location="Room A", description="quarterly numbers"
        ),
        "Beta sync": make_event(me, title="Beta sync", start=at(7, 10), location="Room B"),
        "Gamma lunch": make_event(me, title="Gamma lunch", start=at(7, 11), location="Cafe Central"),
        "Delta plan": make_event(other, title="Delta plan", start=at(8, 9), location="room b annex"),
        "Epsilon demo": make_event(other, title="Epsilon demo", start=at(8, 14), description="Show the alpha build"),
        "Secret": make_event(stranger, title="Secret", start=at(7, 9, 30), location="Room A"),
    }
    share(events["Delta plan"], other, me, "editor")
    share(events["Epsilon demo"], other, me, "viewer")
    return events


# --- pagination --------------------------------------------------------------------------------


def test_the_list_is_paginated_with_count_next_previous(api, me):
    for n in range(25):
        make_event(me, title=f"E{n:02}", start=BASE_TIME + timedelta(hours=n))
    client = api.as_user(me)

    first = client.get("/api/events")

    assert first.status_code == 200
    body = first.json()
    assert set(body) >= {"count", "next", "previous", "results"}
    assert (body["count"], len(body["results"]), body["previous"]) == (25, 20, None)
    assert body["next"] and "page=2" in body["next"]
    assert [item["title"] for item in body["results"]] == [f"E{n:02}" for n in range(20)]

    second = client.get("/api/events", {"page": 2}).json()
    assert (second["count"], second["next"]) == (25, None)
    assert second["previous"]
    assert [item["title"] for item in second["results"]] == [f"E{n:02}" for n in range(20, 25)]


def test_page_size_is_honoured_and_capped_at_100(api, me):
    for n in range(105):
        make_event(me, title=f"E{n:03}", start=BASE_TIME + timedelta(hours=n))
    client = api.as_user(me)

    assert len(client.get("/api/events", {"page_size": 7}).json()["results"]) == 7
    capped = client.get("/api/events", {"page_size": 1000}).json()
    assert (capped["count"], len(capped["results"])) == (105, 100)


@pytest.mark.parametrize("page", ["3", "99"])
def test_a_page_beyond_the_last_is_a_404_problem(api, me, page):
    for n in range(25):
        make_event(me, title=f"E{n}", start=BASE_TIME + timedelta(hours=n))

    assert_problem(api.as_user(me).get("/api/events", {"page": page}), 404)


def test_an_empty_calendar_is_an_empty_page(api, me):
    body = api.as_user(me).get("/api/events").json()

    assert (body["count"], body["results"], body["next"], body["previous"]) == (0, [], None, None)


# --- visibility --------------------------------------------------------------------------------


def test_the_list_shows_owned_and_shared_events_never_strangers(api, me, calendar):
    response = api.as_user(me).get("/api/events")

    assert titles(response) == ["Alpha review", "Beta sync", "Gamma lunch", "Delta plan", "Epsilon demo"]
    assert response.json()["count"] == 5
    roles = {item["title"]: item["my_role"] for item in response.json()["results"]}
    assert roles == {
        "Alpha review": "owner",
        "Beta sync": "owner",
        "Gamma lunch": "owner",
        "Delta plan": "editor",
        "Epsilon demo": "viewer",
    }


def test_a_user_with_no_events_sees_none_of_anyone_elses(api, calendar):
    assert titles(api.as_user(UserFactory()).get("/api/events")) == []


def test_losing_access_removes_the_event_from_the_list(api, me, calendar):
    event = calendar["Epsilon demo"]
    sharing_services.permission_revoke(event=event, actor=event.owner, user_id=me.pk)

    assert "Epsilon demo" not in titles(api.as_user(me).get("/api/events"))


# --- the window --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "window, expected",
    [
        # Beta is [10:00, 11:00): Alpha ends exactly at `start`, Gamma starts exactly at `end`.
        ({"start": at(7, 10), "end": at(7, 11)}, ["Beta sync"]),
        ({"start": at(7, 9, 59), "end": at(7, 11, 1)}, ["Alpha review", "Beta sync", "Gamma lunch"]),
        ({"start": at(7, 10, 30), "end": at(7, 10, 31)}, ["Beta sync"]),
        ({"start": at(7, 12), "end": at(8, 0)}, []),
        (
            {"start": at(7, 0), "end": at(9, 0)},
            ["Alpha review", "Beta sync", "Gamma lunch", "Delta plan", "Epsilon demo"],
        ),
        ({"start": at(7, 11)}, ["Gamma lunch", "Delta plan", "Epsilon demo"]),
        ({"end": at(7, 10)}, ["Alpha review"]),
    ],
    ids=["touching-excluded", "just-overlapping", "inside", "gap", "two-days", "start-only", "end-only"],
)
def test_the_window_selects_events_overlapping_it(api, me, calendar, window, expected):
    params = {key: value.isoformat() for key, value in window.items()}

    response = api.as_user(me).get("/api/events", params)

    assert titles(response) == expected
    assert response.json()["count"] == len(expected)


def test_the_window_accepts_other_offsets_as_the_same_instant(api, me, calendar):
    # 11:00+01:00 is 10:00Z and 13:00+02:00 is 11:00Z
    response = api.as_user(me).get(
        "/api/events", {"start": "2030-01-07T11:00:00+01:00", "end": "2030-01-07T13:00:00+02:00"}
    )

    assert titles(response) == ["Beta sync"]


@pytest.fixture
def weekly_monday(api, me):
    """Weekly on Monday 09:00–10:00 UTC since Monday 2029-01-08, a year before the test windows."""
    response = api.as_user(me).post(
        "/api/events?conflict_strategy=allow",
        {
            "title": "Weekly",
            "start_time": "2029-01-08T09:00:00Z",
            "end_time": "2029-01-08T10:00:00Z",
            "recurrence_pattern": "FREQ=WEEKLY;BYDAY=MO",
        },
    )
    assert response.status_code == 201, response.content
    return Event.objects.get(pk=response.json()["id"])


@pytest.mark.parametrize(
    "window, listed",
    [
        ((at(7, 0), at(14, 0)), True),  # the week of Monday 2030-01-07
        ((at(14, 9, 30), at(14, 9, 45)), True),  # inside the occurrence of the next Monday
        ((at(8, 0), at(9, 0)), False),  # Tuesday: between two occurrences
        ((at(7, 10), at(7, 11)), False),  # touches the end of Monday's occurrence
        ((at(8, 0), at(14, 9)), False),  # Tuesday up to the next occurrence's start
        ((datetime(2028, 12, 1, tzinfo=UTC), datetime(2029, 1, 8, 9, tzinfo=UTC)), False),  # before it began
    ],
    ids=["this-week", "next-monday", "tuesday", "touching", "until-next-start", "before-the-series"],
)
def test_a_recurring_event_is_listed_when_an_occurrence_overlaps_the_window(api, me, weekly_monday, window, listed):
    response = api.as_user(me).get("/api/events", {"start": window[0].isoformat(), "end": window[1].isoformat()})

    assert titles(response) == (["Weekly"] if listed else [])


def test_a_finished_series_is_not_listed_after_its_last_occurrence(api, me):
    created = api.as_user(me).post(
        "/api/events",
        {
            "title": "Five Mondays",
            "start_time": "2029-01-08T09:00:00Z",
            "end_time": "2029-01-08T10:00:00Z",
            "recurrence_pattern": "FREQ=WEEKLY;COUNT=5",
        },
    )
    assert created.status_code == 201, created.content

    assert titles(api.get("/api/events", {"start": at(7, 0).isoformat(), "end": at(14, 0).isoformat()})) == []
    in_series = {"start": "2029-02-05T00:00:00Z", "end": "2029-02-06T00:00:00Z"}  # the fifth Monday
    assert titles(api.get("/api/events", in_series)) == ["Five Mondays"]


# --- other filters -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "q, expected",
    [
        ("beta", ["Beta sync"]),  # title, case-insensitive
        ("QUARTERLY", ["Alpha review"]),  # description
        ("central", ["Gamma lunch"]),  # location
        ("alpha", ["Alpha review", "Epsilon demo"]),  # title of one, description of another
        ("nothing like this", []),
    ],
)
def test_q_searches_title_description_and_location(api, me, calendar, q, expected):
    assert titles(api.as_user(me).get("/api/events", {"q": q})) == expected


def test_q_never_finds_a_strangers_event(api, me, calendar):
    assert titles(api.as_user(me).get("/api/events", {"q": "secret"})) == []


@pytest.mark.parametrize(
    "location, expected",
    [("room b", ["Beta sync", "Delta plan"]), ("Room A", ["Alpha review"]), ("cafe", ["Gamma lunch"]), ("Mars", [])],
)
def test_location_filter(api, me, calendar, location, expected):
    assert titles(api.as_user(me).get("/api/events", {"location": location})) == expected


@pytest.mark.parametrize(
    "role, expected",
    [
        ("owner", ["Alpha review", "Beta sync", "Gamma lunch"]),
        ("editor", ["Delta plan"]),
        ("viewer", ["Epsilon demo"]),
    ],
)
def test_role_filter(api, me, calendar, role, expected):
    assert titles(api.as_user(me).get("/api/events", {"role": role})) == expected


def test_is_recurring_filter(api, me, calendar, weekly_monday):
    client = api.as_user(me)

    assert titles(client.get("/api/events", {"is_recurring": "true"})) == ["Weekly"]
    assert "Weekly" not in titles(client.get("/api/events", {"is_recurring": "false"}))
    assert len(titles(client.get("/api/events", {"is_recurring": "false"}))) == 5


def test_updated_since_filter(api, me, calendar):
    # updated_at is set by the database clock; pin it so "now" does not matter
    Event.objects.update(updated_at=datetime(2030, 1, 1, tzinfo=UTC))
    Event.objects.filter(title__in=["Beta sync", "Epsilon demo", "Secret"]).update(
        updated_at=datetime(2030, 2, 1, tzinfo=UTC)
    )

    response = api.as_user(me).get("/api/events", {"updated_since": "2030-01-15T00:00:00Z"})

    assert titles(response) == ["Beta sync", "Epsilon demo"]
    assert titles(api.get("/api/events", {"updated_since": "2030-02-01T00:00:00Z"})) == ["Beta sync", "Epsilon demo"]
    assert titles(api.get("/api/events", {"updated_since": "2030-02-01T00:00:01Z"})) == []


@pytest.mark.parametrize(
    "ordering, expected",
    [
        ("title", ["Alpha review", "Beta sync", "Delta plan", "Epsilon demo", "Gamma lunch"]),
        ("-title", ["Gamma lunch", "Epsilon demo", "Delta plan", "Beta sync", "Alpha review"]),
        ("start_time", ["Alpha review", "Beta sync", "Gamma lunch", "Delta plan", "Epsilon demo"]),
        ("-start_time", ["Epsilon demo", "Delta plan", "Gamma lunch", "Beta sync", "Alpha review"]),
        ("-end_time", ["Epsilon demo", "Delta plan", "Gamma lunch", "Beta sync", "Alpha review"]),
    ],
)
def test_ordering(api, me, calendar, ordering, expected):
    assert titles(api.as_user(me).get("/api/events", {"ordering": ordering})) == expected


def test_filters_combine_and_count_what_they_select(api, me, calendar):
    response = api.as_user(me).get(
        "/api/events", {"start": at(7, 0).isoformat(), "end": at(9, 0).isoformat(), "location": "room", "role": "owner"}
    )

    assert titles(response) == ["Alpha review", "Beta sync"]
    assert response.json()["count"] == 2


@pytest.mark.parametrize(
    "params",
    [
        {"start": "notadate"},
        {"end": "2030-13-45"},
        {"updated_since": "yesterday"},
        {"role": "king"},
        {"is_recurring": "maybe"},
        {"ordering": "password"},
    ],
    ids=lambda params: "-".join(f"{k}={v}" for k, v in params.items()),
)
def test_invalid_filter_values_are_a_400_problem(api, me, calendar, params):
    problem = assert_problem(api.as_user(me).get("/api/events", params), 400)

    assert set(params) <= set(problem.get("errors", {})), problem
