"""GET /api/events/conflicts (overlapping pairs) and GET /api/freebusy (busy intervals) on the caller's calendar."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sharing import services as sharing_services
from tests.factories import BASE_TIME, UserFactory, make_event
from tests.helpers import iso

pytestmark = pytest.mark.django_db

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


def window(start: datetime = BASE_TIME - DAY, end: datetime = BASE_TIME + 30 * DAY) -> dict:
    return {"start": iso(start), "end": iso(end)}


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text)


def pairs(response) -> list[tuple]:
    """(first event title, first start, second title, second start) of each pair."""
    assert response.status_code == 200, response.content
    return [
        (
            p["first"]["title"],
            instant(p["first"]["start_time"]),
            p["second"]["title"],
            instant(p["second"]["start_time"]),
        )
        for p in response.json()["results"]
    ]


def busy(response) -> list[tuple[datetime, datetime]]:
    assert response.status_code == 200, response.content
    return [(instant(b["start_time"]), instant(b["end_time"])) for b in response.json()["results"]]


def weekly(owner, title: str, start: datetime, count: int = 4, **fields):
    rule = {"rrule": f"FREQ=WEEKLY;COUNT={count}", "exdates": [], "rdates": []}
    return make_event(owner, title=title, start=start, recurrence=rule, **fields)


# --- conflicts ---------------------------------------------------------------------------------------


def test_overlapping_events_are_listed_as_pairs_with_their_overlap(client, me):
    make_event(me, title="A", start=BASE_TIME, hours=2)
    make_event(me, title="B", start=BASE_TIME + HOUR, hours=2)
    make_event(me, title="C", start=BASE_TIME + 3 * HOUR)  # touches B, overlaps nothing

    response = client.get("/api/events/conflicts", window())

    assert pairs(response) == [("A", BASE_TIME, "B", BASE_TIME + HOUR)]
    pair = response.json()["results"][0]
    assert (instant(pair["overlap_start"]), instant(pair["overlap_end"])) == (BASE_TIME + HOUR, BASE_TIME + 2 * HOUR)
    assert response.json()["count"] == 1 and response.json()["truncated"] is False


def test_recurring_events_are_compared_occurrence_by_occurrence(client, me):
    weekly(me, "Standup", BASE_TIME)  # Mondays 09:00
    weekly(me, "Biweekly", BASE_TIME + 2 * 7 * DAY + HOUR / 2, count=2)  # Mondays 09:30, from the third
    make_event(me, title="Dentist", start=BASE_TIME + 7 * DAY + HOUR / 2)  # the second Monday 09:30

    found = pairs(client.get("/api/events/conflicts", window()))

    assert found == [
        ("Standup", BASE_TIME + 7 * DAY, "Dentist", BASE_TIME + 7 * DAY + HOUR / 2),
        ("Standup", BASE_TIME + 14 * DAY, "Biweekly", BASE_TIME + 14 * DAY + HOUR / 2),
        ("Standup", BASE_TIME + 21 * DAY, "Biweekly", BASE_TIME + 21 * DAY + HOUR / 2),
    ]


def test_cancelled_and_moved_occurrences_count_where_they_are(client, me):
    standup = weekly(me, "Standup", BASE_TIME)
    make_event(me, title="Dentist", start=BASE_TIME + 7 * DAY)
    make_event(me, title="Lunch", start=BASE_TIME + 14 * DAY + 3 * HOUR)
    client.delete(f"/api/events/{standup.pk}/occurrences/{iso(BASE_TIME + 7 * DAY)}")
    client.patch(
        f"/api/events/{standup.pk}/occurrences/{iso(BASE_TIME + 14 * DAY)}?conflict_strategy=allow",
        {"start_time": iso(BASE_TIME + 14 * DAY + 3 * HOUR)},
        format="json",
    )

    found = pairs(client.get("/api/events/conflicts", window()))

    assert found == [("Standup", BASE_TIME + 14 * DAY + 3 * HOUR, "Lunch", BASE_TIME + 14 * DAY + 3 * HOUR)]


def test_all_day_events_and_strangers_events_are_not_on_my_calendar(client, me):
    make_event(me, title="Mine", start=BASE_TIME)
    make_event(me, title="Holiday", start=datetime(2030, 1, 7, tzinfo=UTC), hours=24, is_all_day=True)
    make_event(UserFactory(), title="Secret", start=BASE_TIME)

    assert pairs(client.get("/api/events/conflicts", window())) == []


def test_events_shared_with_me_are_on_my_calendar(client, me):
    other = UserFactory()
    theirs = make_event(other, title="Theirs", start=BASE_TIME)
    sharing_services.event_share(event=theirs, actor=other, targets=[{"user_id": me.pk, "role": "viewer"}])
    make_event(me, title="Mine", start=BASE_TIME + HOUR / 2)

    assert pairs(client.get("/api/events/conflicts", window())) == [("Theirs", BASE_TIME, "Mine", BASE_TIME + HOUR / 2)]


def test_the_pairs_are_paginated(client, me):
    for n in range(5):
        make_event(me, title=f"E{n}", start=BASE_TIME + n * timedelta(minutes=10))  # all overlap each other

    first = client.get("/api/events/conflicts", {**window(), "page_size": 4})
    second = client.get("/api/events/conflicts", {**window(), "page_size": 4, "page": 2})

    assert first.json()["count"] == 10  # 5 choose 2
    assert len(first.json()["results"]) == 4 and first.json()["next"]
    assert len(second.json()["results"]) == 4


def test_only_the_window_counts(client, me):
    make_event(me, title="A", start=BASE_TIME)
    make_event(me, title="B", start=BASE_TIME)

    later = client.get("/api/events/conflicts", window(BASE_TIME + HOUR, BASE_TIME + DAY))

    assert pairs(later) == []


@pytest.mark.parametrize("path", ["/api/events/conflicts", "/api/freebusy"])
@pytest.mark.parametrize(
    "params, field",
    [
        ({}, "start"),
        ({"start": iso(BASE_TIME)}, "end"),
        ({"start": iso(BASE_TIME), "end": iso(BASE_TIME)}, "end"),
        ({"start": iso(BASE_TIME), "end": iso(BASE_TIME + 367 * DAY)}, "end"),
        ({"start": "soon", "end": iso(BASE_TIME)}, "start"),
    ],
)
def test_a_bad_window_is_a_400(client, path, params, field):
    response = client.get(path, params)

    assert response.status_code == 400, response.content
    assert response["Content-Type"].startswith("application/problem+json")
    assert field in response.json()["errors"]


@pytest.mark.parametrize("path", ["/api/events/conflicts", "/api/freebusy", "/api/events/conflicts/", "/api/freebusy/"])
def test_anonymous_is_a_401(api, path):
    response = api.as_user(None).get(path, window())

    assert response.status_code == 401
    assert response["WWW-Authenticate"]


# --- free/busy ---------------------------------------------------------------------------------------


def test_busy_intervals_are_merged_and_clipped_to_the_window(client, me):
    make_event(me, title="A", start=BASE_TIME, hours=2)
    make_event(me, title="B", start=BASE_TIME + HOUR, hours=2)  # overlaps A
    make_event(me, title="C", start=BASE_TIME + 3 * HOUR)  # touches B
    make_event(me, title="D", start=BASE_TIME + 6 * HOUR)
    make_event(me, title="Late", start=BASE_TIME + 9 * HOUR, hours=5)  # runs past the window's end

    response = client.get("/api/freebusy", window(BASE_TIME + HOUR / 2, BASE_TIME + 10 * HOUR))

    assert busy(response) == [
        (BASE_TIME + HOUR / 2, BASE_TIME + 4 * HOUR),
        (BASE_TIME + 6 * HOUR, BASE_TIME + 7 * HOUR),
        (BASE_TIME + 9 * HOUR, BASE_TIME + 10 * HOUR),
    ]
    assert response.json()["truncated"] is False


def test_free_busy_expands_series_and_ignores_all_day_and_zero_length_events(client, me):
    weekly(me, "Standup", BASE_TIME, count=3)
    make_event(me, title="Holiday", start=datetime(2030, 1, 14, tzinfo=UTC), hours=24, is_all_day=True)
    make_event(me, title="Reminder", start=BASE_TIME + 2 * HOUR, hours=0)

    found = busy(client.get("/api/freebusy", window()))

    assert found == [(BASE_TIME + n * 7 * DAY, BASE_TIME + n * 7 * DAY + HOUR) for n in range(3)]


def test_free_busy_is_written_in_the_zone_asked_for(client, me):
    make_event(me, start=BASE_TIME)

    response = client.get("/api/freebusy", {**window(), "timezone": "Asia/Tokyo"})

    body = response.json()
    assert body["timezone"] == "Asia/Tokyo"
    assert body["results"] == [{"start_time": "2030-01-07T18:00:00+09:00", "end_time": "2030-01-07T19:00:00+09:00"}]
    assert instant(body["start"]) == BASE_TIME - DAY


def test_an_unknown_time_zone_is_a_400(client):
    response = client.get("/api/freebusy", {**window(), "timezone": "Mars/Olympus"})

    assert response.status_code == 400
    assert "timezone" in response.json()["errors"]


def test_free_busy_shows_only_my_calendar(client, me):
    make_event(UserFactory(), title="Secret", start=BASE_TIME)

    assert busy(client.get("/api/freebusy", window())) == []
