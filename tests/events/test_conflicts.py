"""Scheduling conflicts on create and update, per conflict_strategy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from events.models import Event
from sharing import services as sharing_services
from tests.factories import BASE_TIME, UserFactory, make_event
from tests.helpers import assert_problem, database_state

pytestmark = pytest.mark.django_db

UTC = UTC


def slot(start: datetime, minutes: int = 60, **fields) -> dict:
    return {
        "title": fields.pop("title", "New"),
        "start_time": start.isoformat(),
        "end_time": (start + timedelta(minutes=minutes)).isoformat(),
        **fields,
    }


def conflict_summary(conflicts: list[dict]) -> list[tuple]:
    """(event_id, title, start, end) with the times as instants."""
    for conflict in conflicts:
        assert {"event_id", "title", "start_time", "end_time"} <= conflict.keys()
    return [
        (c["event_id"], c["title"], datetime.fromisoformat(c["start_time"]), datetime.fromisoformat(c["end_time"]))
        for c in conflicts
    ]


@pytest.fixture
def busy(me):
    """My 09:00–10:00 on Monday 2030-01-07."""
    return make_event(me, title="Busy", start=BASE_TIME)


BUSY = lambda event: (event.pk, "Busy", BASE_TIME, BASE_TIME + timedelta(hours=1))  # noqa: E731


# --- create ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "start, minutes",
    [
        (BASE_TIME + timedelta(minutes=30), 60),  # overlaps the end
        (BASE_TIME - timedelta(minutes=30), 60),  # overlaps the start
        (BASE_TIME + timedelta(minutes=15), 15),  # inside
        (BASE_TIME - timedelta(hours=1), 180),  # around
        (BASE_TIME, 60),  # the same slot
    ],
    ids=["end", "start", "inside", "around", "same"],
)
def test_an_overlapping_create_is_a_409_listing_the_conflict_and_creates_nothing(api, me, busy, start, minutes):
    client = api.as_user(me)
    before = database_state()

    response = client.post("/api/events", slot(start, minutes))

    problem = assert_problem(response, 409)
    assert conflict_summary(problem["conflicts"]) == [BUSY(busy)]
    assert database_state() == before


def test_reject_is_the_default_and_can_be_named(api, me, busy):
    response = api.as_user(me).post("/api/events", slot(BASE_TIME, conflict_strategy="reject"))

    assert_problem(response, 409)
    assert Event.objects.count() == 1


@pytest.mark.parametrize("where", ["query", "body"])
def test_warn_saves_and_lists_the_conflicts(api, me, busy, where):
    body = slot(BASE_TIME + timedelta(minutes=30))
    path = "/api/events"
    if where == "query":
        path += "?conflict_strategy=warn"
    else:
        body["conflict_strategy"] = "warn"

    response = api.as_user(me).post(path, body)

    assert response.status_code == 201, response.content
    created = response.json()
    assert conflict_summary(created["conflicts"]) == [BUSY(busy)]
    assert created["version"] == 1
    assert Event.objects.filter(pk=created["id"], title="New").exists()
    assert Event.history.filter(id=created["id"], version=1, history_action="created").exists()


@pytest.mark.parametrize("where", ["query", "body"])
def test_allow_saves_without_checking(api, me, busy, where):
    body = slot(BASE_TIME)
    path = "/api/events"
    if where == "query":
        path += "?conflict_strategy=allow"
    else:
        body["conflict_strategy"] = "allow"

    response = api.as_user(me).post(path, body)

    assert response.status_code == 201, response.content
    assert not response.json().get("conflicts")
    assert Event.objects.count() == 2


@pytest.mark.parametrize(
    "start",
    [BASE_TIME + timedelta(hours=1), BASE_TIME - timedelta(hours=1)],
    ids=["right-after", "right-before"],
)
def test_touching_intervals_do_not_conflict(api, me, busy, start):
    response = api.as_user(me).post("/api/events", slot(start))

    assert response.status_code == 201, response.content
    assert not response.json().get("conflicts")


def test_an_event_shared_with_me_counts_even_as_viewer(api, me):
    other = UserFactory()
    theirs = make_event(other, title="Theirs", start=BASE_TIME)
    sharing_services.event_share(event=theirs, actor=other, targets=[{"user_id": me.pk, "role": "viewer"}])
    client = api.as_user(me)
    before = database_state()

    response = client.post("/api/events", slot(BASE_TIME + timedelta(minutes=10)))

    problem = assert_problem(response, 409)
    assert [c["event_id"] for c in problem["conflicts"]] == [theirs.pk]
    assert problem["conflicts"][0]["title"] == "Theirs"
    assert database_state() == before


def test_a_strangers_event_does_not_conflict_and_is_not_revealed(api, me):
    make_event(UserFactory(), title="Private", start=BASE_TIME)

    response = api.as_user(me).post("/api/events", slot(BASE_TIME))

    assert response.status_code == 201, response.content
    assert not response.json().get("conflicts")


def test_a_deleted_event_does_not_conflict(api, me, busy):
    client = api.as_user(me)
    assert client.delete(f"/api/events/{busy.pk}").status_code == 204

    assert client.post("/api/events", slot(BASE_TIME)).status_code == 201


# An empty query parameter is the same as none, so "" is only tried in the body.
@pytest.mark.parametrize(
    "where, strategy",
    [("query", "maybe"), ("query", "REJECT"), ("body", "maybe"), ("body", "REJECT"), ("body", ""), ("body", 1)],
)
def test_an_invalid_conflict_strategy_is_a_400(api, me, where, strategy):
    body = slot(BASE_TIME)
    path = "/api/events"
    if where == "query":
        path += f"?conflict_strategy={strategy}"
    else:
        body["conflict_strategy"] = strategy
    client = api.as_user(me)
    before = database_state()

    problem = assert_problem(client.post(path, body), 400)

    assert "conflict_strategy" in problem["errors"]
    assert database_state() == before


# --- update ------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["put", "patch"])
def test_moving_an_event_onto_another_is_a_409_and_leaves_it_unchanged(api, me, busy, method):
    later = make_event(me, title="Later", start=BASE_TIME + timedelta(hours=3))
    stored = Event.objects.filter(pk=later.pk).values().get()
    client = api.as_user(me)
    before = database_state()

    response = getattr(client, method)(
        f"/api/events/{later.pk}",
        {
            "start_time": (BASE_TIME + timedelta(minutes=30)).isoformat(),
            "end_time": (BASE_TIME + timedelta(hours=2)).isoformat(),
        },
    )

    problem = assert_problem(response, 409)
    assert conflict_summary(problem["conflicts"]) == [BUSY(busy)]
    assert Event.objects.filter(pk=later.pk).values().get() == stored
    assert database_state() == before


def test_moving_an_event_with_warn_saves_and_lists_the_conflict(api, me, busy):
    later = make_event(me, title="Later", start=BASE_TIME + timedelta(hours=3))

    response = api.as_user(me).patch(
        f"/api/events/{later.pk}?conflict_strategy=warn",
        {"start_time": (BASE_TIME + timedelta(minutes=30)).isoformat()},
    )

    assert response.status_code == 200, response.content
    assert conflict_summary(response.json()["conflicts"]) == [BUSY(busy)]
    later.refresh_from_db()
    assert (later.start_time, later.version) == (BASE_TIME + timedelta(minutes=30), 2)


def test_an_event_does_not_conflict_with_itself(api, me, busy):
    response = api.as_user(me).patch(
        f"/api/events/{busy.pk}", {"end_time": (BASE_TIME + timedelta(hours=2)).isoformat()}
    )

    assert response.status_code == 200, response.content
    assert not response.json().get("conflicts")
    assert Event.objects.get(pk=busy.pk).version == 2


def test_an_editor_moving_a_shared_event_is_checked_against_the_editors_calendar(api, me):
    other = UserFactory()
    shared = make_event(other, title="Shared", start=BASE_TIME + timedelta(hours=5))
    sharing_services.event_share(event=shared, actor=other, targets=[{"user_id": me.pk, "role": "editor"}])
    mine = make_event(me, title="Mine", start=BASE_TIME)

    response = api.as_user(me).patch(f"/api/events/{shared.pk}", {"start_time": BASE_TIME.isoformat()})

    problem = assert_problem(response, 409)
    assert [c["event_id"] for c in problem["conflicts"]] == [mine.pk]
    assert Event.objects.get(pk=shared.pk).version == 1


# --- recurring and all-day ---------------------------------------------------------------------


def test_a_weekly_series_conflicts_with_a_single_event_three_weeks_later(api, me):
    single = make_event(me, title="Dentist", start=BASE_TIME + timedelta(weeks=3, minutes=30))
    client = api.as_user(me)
    before = database_state()

    response = client.post("/api/events", slot(BASE_TIME, title="Weekly", recurrence_pattern="FREQ=WEEKLY;BYDAY=MO"))

    problem = assert_problem(response, 409)
    assert conflict_summary(problem["conflicts"]) == [
        (single.pk, "Dentist", BASE_TIME + timedelta(weeks=3, minutes=30), BASE_TIME + timedelta(weeks=3, minutes=90))
    ]
    assert database_state() == before


def test_a_single_event_conflicts_with_a_later_occurrence_of_a_series(api, me):
    client = api.as_user(me)
    series = client.post("/api/events", slot(BASE_TIME, title="Weekly", recurrence_pattern="FREQ=WEEKLY;COUNT=10"))
    assert series.status_code == 201, series.content
    before = database_state()

    response = client.post("/api/events", slot(BASE_TIME + timedelta(weeks=3, minutes=30)))

    problem = assert_problem(response, 409)
    assert conflict_summary(problem["conflicts"]) == [
        (series.json()["id"], "Weekly", BASE_TIME + timedelta(weeks=3), BASE_TIME + timedelta(weeks=3, hours=1))
    ]
    assert database_state() == before


def test_a_series_does_not_conflict_between_its_occurrences(api, me):
    client = api.as_user(me)
    series = client.post("/api/events", slot(BASE_TIME, title="Weekly", recurrence_pattern="FREQ=WEEKLY;BYDAY=MO"))
    assert series.status_code == 201, series.content

    tuesday = client.post("/api/events", slot(BASE_TIME + timedelta(weeks=3, days=1)))
    thursdays = client.post(
        "/api/events", slot(BASE_TIME + timedelta(days=3), recurrence_pattern="FREQ=WEEKLY;BYDAY=TH;COUNT=5")
    )

    assert tuesday.status_code == 201, tuesday.content
    assert thursdays.status_code == 201, thursdays.content


def test_an_exdate_removes_the_conflicting_occurrence(api, me):
    make_event(me, title="Dentist", start=BASE_TIME + timedelta(weeks=3))

    response = api.as_user(me).post(
        "/api/events",
        slot(
            BASE_TIME,
            recurrence_pattern={
                "rrule": "FREQ=WEEKLY;COUNT=6",
                "exdates": [(BASE_TIME + timedelta(weeks=3)).isoformat()],
            },
        ),
    )

    assert response.status_code == 201, response.content


@pytest.mark.parametrize("new_is_all_day", [True, False])
def test_all_day_events_never_conflict(api, me, new_is_all_day):
    if new_is_all_day:
        make_event(me, title="Timed", start=BASE_TIME)
    else:
        make_event(me, title="Holiday", start=datetime(2030, 1, 7, tzinfo=UTC), hours=24, is_all_day=True)

    response = api.as_user(me).post(
        "/api/events",
        {
            "title": "New",
            "start_time": "2030-01-07T00:00:00Z" if new_is_all_day else BASE_TIME.isoformat(),
            "end_time": "2030-01-08T00:00:00Z" if new_is_all_day else (BASE_TIME + timedelta(hours=1)).isoformat(),
            "is_all_day": new_is_all_day,
        },
    )

    assert response.status_code == 201, response.content
    assert not response.json().get("conflicts")


def test_two_all_day_events_on_the_same_day_do_not_conflict(api, me):
    client = api.as_user(me)
    day = {"start_time": "2030-01-07T00:00:00Z", "end_time": "2030-01-08T00:00:00Z", "is_all_day": True}

    assert client.post("/api/events", {"title": "One", **day}).status_code == 201
    assert client.post("/api/events", {"title": "Two", **day}).status_code == 201
