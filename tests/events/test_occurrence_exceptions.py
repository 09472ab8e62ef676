"""One occurrence of a series: PATCH (change, move, restore) and DELETE (cancel)
/api/events/{id}/occurrences/{original_start}, shown in every expansion."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from events.models import Event
from notifications.models import Notification
from sharing import services as sharing_services
from tests.factories import BASE_TIME, UserFactory, make_event
from tests.helpers import assert_problem, database_state, iso

pytestmark = pytest.mark.django_db

WEEK = timedelta(weeks=1)
HOUR = timedelta(hours=1)
THIRD = BASE_TIME + 2 * WEEK  # the third Monday of the series


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text)


def occurrence_url(event, original: datetime) -> str:
    return f"/api/events/{event.pk}/occurrences/{iso(original)}"


def listed(client, event, **window) -> list[dict]:
    response = client.get(f"/api/events/{event.pk}/occurrences", window)
    assert response.status_code == 200, response.content
    return response.json()["results"]


# --- change ------------------------------------------------------------------------------------------


def test_changing_one_occurrence_is_a_new_version_shown_in_the_occurrences(client, series):
    response = client.patch(occurrence_url(series, THIRD), {"title": "Special", "location": "Room 9"}, format="json")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["id"] == series.pk and body["version"] == 2 and response["ETag"]
    assert body["title"] == "Weekly"  # the series keeps its title
    assert body["exceptions"] == [
        {
            "original_start_time": "2030-01-21T09:00:00+00:00",
            "cancelled": False,
            "title": "Special",
            "location": "Room 9",
        }
    ]
    assert body["occurrence"]["title"] == "Special" and body["occurrence"]["is_exception"] is True
    items = listed(client, series)
    assert [i["title"] for i in items] == ["Weekly", "Weekly", "Special", "Weekly", "Weekly", "Weekly"]
    assert [i["location"] for i in items][2] == "Room 9"
    assert [i["is_exception"] for i in items] == [False, False, True, False, False, False]
    row = Event.history.filter(id=series.pk).latest("version")
    assert (row.version, row.history_action, row.exceptions) == (2, "occurrence_changed", series_overrides(body))


def series_overrides(body) -> dict:
    return Event.objects.get(pk=body["id"]).exceptions


def test_moving_an_occurrence_shows_it_at_its_new_time_everywhere(client, series):
    moved_to = THIRD + timedelta(days=1, hours=5)  # Tuesday 14:00

    response = client.patch(
        occurrence_url(series, THIRD), {"start_time": iso(moved_to), "end_time": iso(moved_to + HOUR)}, format="json"
    )

    assert response.status_code == 200, response.content
    assert instant(response.json()["occurrence"]["start_time"]) == moved_to
    items = listed(client, series)
    assert [instant(i["start_time"]) for i in items] == [
        BASE_TIME,
        BASE_TIME + WEEK,
        moved_to,
        BASE_TIME + 3 * WEEK,
        BASE_TIME + 4 * WEEK,
        BASE_TIME + 5 * WEEK,
    ]
    assert instant(items[2]["original_start_time"]) == THIRD
    # The window filter and expand=true follow the move.
    monday = {"start": iso(THIRD), "end": iso(THIRD + timedelta(hours=2))}
    tuesday = {"start": iso(moved_to), "end": iso(moved_to + timedelta(minutes=1))}
    assert client.get("/api/events", monday).json()["results"] == []
    assert [e["id"] for e in client.get("/api/events", tuesday).json()["results"]] == [series.pk]
    expanded = client.get("/api/events", {**tuesday, "expand": "true"}).json()["results"]
    assert [(i["event_id"], instant(i["start_time"])) for i in expanded] == [(series.pk, moved_to)]


def test_start_alone_keeps_the_length_and_naive_times_are_read_in_the_zone(client, me):
    event = make_event(
        me,
        title="Paris",
        start=datetime(2030, 1, 7, 8, tzinfo=UTC),  # 09:00 in Paris
        timezone="Europe/Paris",
        recurrence={"rrule": "FREQ=DAILY;COUNT=3", "exdates": [], "rdates": []},
    )
    second = datetime(2030, 1, 8, 8, tzinfo=UTC)

    response = client.patch(
        f"/api/events/{event.pk}/occurrences/2030-01-08T09:00:00", {"start_time": "2030-01-08T11:00:00"}, format="json"
    )

    assert response.status_code == 200, response.content
    occurrence = response.json()["occurrence"]
    assert (occurrence["start_time"], occurrence["end_time"]) == (
        "2030-01-08T11:00:00+01:00",
        "2030-01-08T12:00:00+01:00",
    )
    assert occurrence["original_start_time"] == "2030-01-08T09:00:00+01:00"
    assert Event.objects.get(pk=event.pk).exceptions == {
        iso(second): {"start": "2030-01-08T10:00:00Z", "end": "2030-01-08T11:00:00Z"}
    }


def test_an_original_start_with_an_offset_names_the_same_occurrence(client, series):
    url = f"/api/events/{series.pk}/occurrences/2030-01-21T10:00:00%2B01:00"

    response = client.patch(url, {"title": "Same"}, format="json")

    assert response.status_code == 200, response.content
    assert list(Event.objects.get(pk=series.pk).exceptions) == ["2030-01-21T09:00:00Z"]


def test_null_puts_fields_back_and_an_empty_exception_is_removed(client, series):
    moved_to = THIRD + 3 * HOUR
    client.patch(occurrence_url(series, THIRD), {"title": "Special", "start_time": iso(moved_to)}, format="json")

    response = client.patch(occurrence_url(series, THIRD), {"title": None, "start_time": None}, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["exceptions"] == [] and response.json()["version"] == 3
    assert Event.objects.get(pk=series.pk).exceptions == {}
    assert instant(listed(client, series)[2]["start_time"]) == THIRD


def test_a_change_that_changes_nothing_makes_no_version(client, series):
    client.patch(occurrence_url(series, THIRD), {"title": "Special"}, format="json")
    before = database_state()

    response = client.patch(occurrence_url(series, THIRD), {"title": "Special"}, format="json")

    assert response.status_code == 200
    assert response.json()["version"] == 2
    assert database_state() == before


def test_if_match_that_is_stale_is_a_412_and_changes_nothing(client, series):
    client.patch(occurrence_url(series, THIRD), {"title": "Special"}, format="json")
    before = database_state()

    response = client.patch(
        occurrence_url(series, BASE_TIME), {"title": "Late"}, format="json", HTTP_IF_MATCH='"1-abc"'
    )

    assert assert_problem(response, 412)["current_version"] == 2
    assert database_state() == before


def test_the_change_reason_is_recorded(client, series):
    client.patch(occurrence_url(series, THIRD), {"title": "Special", "change_reason": "guest speaker"}, format="json")

    row = Event.history.filter(id=series.pk).latest("version")
    assert (row.history_change_reason, row.history_user_id) == ("guest speaker", series.owner_id)


@pytest.mark.parametrize(
    "body, field",
    [
        ({"title": ""}, "title"),
        ({"title": 5}, "title"),
        ({"location": "x" * 256}, "location"),
        ({"start_time": "2030-01-21T09:00:00Z", "end_time": "2030-01-21T08:00:00Z"}, "end_time"),
        ({"start_time": "tomorrow"}, "start_time"),
        ({"cancelled": "maybe"}, "cancelled"),
        ({"conflict_strategy": "sometimes"}, "conflict_strategy"),
    ],
)
def test_invalid_changes_are_a_400_and_change_nothing(client, series, body, field):
    before = database_state()

    problem = assert_problem(client.patch(occurrence_url(series, THIRD), body, format="json"), 400)

    assert field in problem["errors"]
    assert database_state() == before


@pytest.mark.parametrize(
    "original",
    [
        "2030-01-21T09:30:00Z",  # no occurrence at 09:30
        "2030-03-04T09:00:00Z",  # after the sixth and last
        "2030-01-06T09:00:00Z",  # before the first
        "not-a-time",
        "2030-13-40T09:00:00Z",
    ],
)
@pytest.mark.parametrize("method", ["patch", "delete"])
def test_an_occurrence_the_series_does_not_have_is_a_404(client, series, original, method):
    before = database_state()

    body = {"change_reason": "x"} if method == "delete" else {"title": "x"}  # a member each method takes
    response = getattr(client, method)(f"/api/events/{series.pk}/occurrences/{original}", body, format="json")

    assert_problem(response, 404)
    assert database_state() == before


def test_an_occurrence_removed_by_exdate_is_a_404(client, me):
    event = make_event(
        me, recurrence={"rrule": "FREQ=DAILY;COUNT=3", "exdates": [iso(BASE_TIME + timedelta(days=1))], "rdates": []}
    )

    assert_problem(client.delete(occurrence_url(event, BASE_TIME + timedelta(days=1))), 404)


def test_an_rdate_occurrence_can_be_changed(client, me):
    extra = BASE_TIME + timedelta(days=3, hours=4)
    event = make_event(me, recurrence={"rrule": "FREQ=WEEKLY;COUNT=2", "exdates": [], "rdates": [iso(extra)]})

    response = client.patch(occurrence_url(event, extra), {"title": "Extra"}, format="json")

    assert response.status_code == 200, response.content
    assert [i["title"] for i in listed(client, event)] == ["Meeting", "Extra", "Meeting"]


def test_a_single_event_has_no_occurrences_to_change(client, me):
    single = make_event(me)
    before = database_state()

    problem = assert_problem(client.patch(occurrence_url(single, BASE_TIME), {"title": "x"}, format="json"), 400)

    assert "original_start" in problem["errors"]
    assert database_state() == before


# --- cancel and restore ------------------------------------------------------------------------------


def test_cancelling_removes_the_occurrence_from_every_expansion(client, series):
    response = client.delete(occurrence_url(series, THIRD), HTTP_X_CHANGE_REASON="holiday")

    assert response.status_code == 204, response.content
    stored = Event.objects.get(pk=series.pk)
    assert (stored.version, stored.exceptions) == (2, {iso(THIRD): {"cancelled": True}})
    row = Event.history.filter(id=series.pk).latest("version")
    assert (row.history_action, row.history_change_reason) == ("occurrence_changed", "holiday")
    assert THIRD not in [instant(i["start_time"]) for i in listed(client, series)]
    assert len(listed(client, series)) == 5
    window = {"start": iso(THIRD), "end": iso(THIRD + HOUR)}
    assert client.get("/api/events", window).json()["results"] == []
    assert client.get("/api/events", {**window, "expand": "true"}).json()["results"] == []
    assert client.get("/api/freebusy", window).json()["results"] == []
    # The slot is free: a new event there is no conflict.
    created = client.post("/api/events", {"title": "Dentist", "start_time": iso(THIRD), "end_time": iso(THIRD + HOUR)})
    assert created.status_code == 201, created.content
    assert (
        client.get("/api/events/conflicts", {"start": iso(BASE_TIME), "end": iso(THIRD + WEEK)}).json()["results"] == []
    )
    detail = client.get(f"/api/events/{series.pk}").json()
    assert detail["exceptions"] == [{"original_start_time": "2030-01-21T09:00:00+00:00", "cancelled": True}]


def test_cancelling_twice_is_a_204_without_a_new_version(client, series):
    client.delete(occurrence_url(series, THIRD))
    before = database_state()

    assert client.delete(occurrence_url(series, THIRD)).status_code == 204
    assert database_state() == before


def test_a_cancelled_occurrence_is_restored_only_when_asked(client, series):
    client.delete(occurrence_url(series, THIRD))
    before = database_state()

    refused = client.patch(occurrence_url(series, THIRD), {"title": "Back?"}, format="json")

    assert assert_problem(refused, 409)["type"] == "/problems/occurrence-cancelled"
    assert database_state() == before
    restored = client.patch(occurrence_url(series, THIRD), {"cancelled": False, "title": "Back"}, format="json")
    assert restored.status_code == 200, restored.content
    assert restored.json()["occurrence"]["title"] == "Back"
    assert [i["title"] for i in listed(client, series)][2] == "Back"
    assert Event.objects.get(pk=series.pk).version == 3


def test_patch_with_cancelled_true_cancels_like_delete(client, series):
    response = client.patch(occurrence_url(series, THIRD), {"cancelled": True}, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["occurrence"] is None
    assert len(listed(client, series)) == 5


def test_cancelling_the_last_occurrences_keeps_the_series_listed_until_its_remaining_end(client, series):
    last = BASE_TIME + 5 * WEEK
    client.delete(occurrence_url(series, last))

    window = {"start": iso(last), "end": iso(last + HOUR)}
    assert client.get("/api/events", window).json()["results"] == []


# --- moved occurrences and the indexed series bounds -------------------------------------------------


def test_an_occurrence_moved_before_the_series_start_is_found_by_the_window(client, series):
    earlier = BASE_TIME - timedelta(days=3)

    response = client.patch(
        occurrence_url(series, BASE_TIME), {"start_time": iso(earlier), "end_time": iso(earlier + HOUR)}, format="json"
    )

    assert response.status_code == 200, response.content
    stored = Event.objects.get(pk=series.pk)
    assert stored.series_start == earlier
    window = {"start": iso(earlier), "end": iso(earlier + HOUR)}
    assert [e["id"] for e in client.get("/api/events", window).json()["results"]] == [series.pk]
    assert instant(listed(client, series, start=iso(earlier - WEEK))[0]["start_time"]) == earlier


def test_an_occurrence_moved_after_the_last_one_extends_the_series_end(client, series):
    later = BASE_TIME + 8 * WEEK
    last = BASE_TIME + 5 * WEEK

    client.patch(occurrence_url(series, last), {"start_time": iso(later)}, format="json")

    assert Event.objects.get(pk=series.pk).series_end == later + HOUR
    window = {"start": iso(later), "end": iso(later + HOUR)}
    assert [e["id"] for e in client.get("/api/events", window).json()["results"]] == [series.pk]


def test_an_all_day_occurrence_moves_by_whole_local_days(client, me):
    holiday = make_event(
        me,
        title="Office closed",
        start=datetime(2030, 1, 6, 23, tzinfo=UTC),  # 7 January in Paris
        hours=24,
        timezone="Europe/Paris",
        is_all_day=True,
        recurrence={"rrule": "FREQ=WEEKLY;COUNT=3", "exdates": [], "rdates": []},
    )

    response = client.patch(
        f"/api/events/{holiday.pk}/occurrences/2030-01-14", {"start_time": "2030-01-15T10:00:00"}, format="json"
    )

    assert response.status_code == 200, response.content
    occurrence = response.json()["occurrence"]
    assert (occurrence["start_time"], occurrence["end_time"]) == (
        "2030-01-15T00:00:00+01:00",
        "2030-01-16T00:00:00+01:00",
    )


# --- conflicts of a moved occurrence -----------------------------------------------------------------


def test_moving_onto_another_event_is_a_409_with_the_conflict_and_free_slots(client, me, series):
    dentist = make_event(me, title="Dentist", start=THIRD + timedelta(days=1))
    before = database_state()

    response = client.patch(
        occurrence_url(series, THIRD), {"start_time": iso(THIRD + timedelta(days=1))}, format="json"
    )

    problem = assert_problem(response, 409)
    assert [(c["event_id"], c["title"]) for c in problem["conflicts"]] == [(dentist.pk, "Dentist")]
    assert [instant(s["start_time"]) for s in problem["next_free_slots"]] == [
        THIRD + timedelta(days=1, hours=1),
        THIRD + timedelta(days=1, hours=2),
        THIRD + timedelta(days=1, hours=3),
    ]
    assert database_state() == before


def test_moving_onto_another_occurrence_of_the_same_series_conflicts(client, me):
    daily = make_event(me, title="Daily", recurrence={"rrule": "FREQ=DAILY;COUNT=5", "exdates": [], "rdates": []})
    tuesday = BASE_TIME + timedelta(days=1)

    response = client.patch(
        occurrence_url(daily, BASE_TIME), {"start_time": iso(tuesday + timedelta(minutes=30))}, format="json"
    )

    problem = assert_problem(response, 409)
    assert [(c["event_id"], instant(c["start_time"])) for c in problem["conflicts"]] == [(daily.pk, tuesday)]


def test_moving_within_its_own_slot_does_not_conflict_with_itself(client, series):
    response = client.patch(
        occurrence_url(series, THIRD), {"start_time": iso(THIRD + timedelta(minutes=30))}, format="json"
    )

    assert response.status_code == 200, response.content
    assert not response.json().get("conflicts")


def test_warn_saves_the_move_and_lists_the_conflicts(client, me, series):
    dentist = make_event(me, title="Dentist", start=THIRD + timedelta(days=1))

    response = client.patch(
        occurrence_url(series, THIRD) + "?conflict_strategy=warn",
        {"start_time": iso(THIRD + timedelta(days=1))},
        format="json",
    )

    assert response.status_code == 200, response.content
    assert [c["event_id"] for c in response.json()["conflicts"]] == [dentist.pk]
    assert Event.objects.get(pk=series.pk).version == 2


def test_a_moved_occurrence_conflicts_with_new_events_at_its_new_time(client, series):
    moved_to = THIRD + timedelta(days=2)
    client.patch(occurrence_url(series, THIRD), {"start_time": iso(moved_to)}, format="json")

    at_new = client.post("/api/events", {"title": "New", "start_time": iso(moved_to), "end_time": iso(moved_to + HOUR)})
    at_old = client.post("/api/events", {"title": "Old", "start_time": iso(THIRD), "end_time": iso(THIRD + HOUR)})

    problem = assert_problem(at_new, 409)
    assert [(c["event_id"], instant(c["start_time"])) for c in problem["conflicts"]] == [(series.pk, moved_to)]
    assert at_old.status_code == 201, at_old.content


# --- the series changes: its exceptions follow ------------------------------------------------------


def test_moving_the_whole_series_moves_its_exceptions_with_it(client, series):
    client.delete(occurrence_url(series, THIRD))
    client.patch(occurrence_url(series, BASE_TIME + WEEK), {"title": "Second"}, format="json")

    response = client.patch(
        f"/api/events/{series.pk}",
        {"start_time": iso(BASE_TIME + HOUR), "end_time": iso(BASE_TIME + 2 * HOUR)},
        format="json",
    )

    assert response.status_code == 200, response.content
    items = listed(client, series)
    assert [(instant(i["start_time"]), i["title"]) for i in items] == [
        (BASE_TIME + HOUR, "Weekly"),
        (BASE_TIME + WEEK + HOUR, "Second"),
        (BASE_TIME + 3 * WEEK + HOUR, "Weekly"),
        (BASE_TIME + 4 * WEEK + HOUR, "Weekly"),
        (BASE_TIME + 5 * WEEK + HOUR, "Weekly"),
    ]


def test_exceptions_whose_occurrence_the_new_rule_lacks_are_dropped(client, series):
    client.delete(occurrence_url(series, BASE_TIME + 5 * WEEK))
    client.patch(occurrence_url(series, BASE_TIME + WEEK), {"title": "Second"}, format="json")

    client.patch(f"/api/events/{series.pk}", {"recurrence_pattern": "FREQ=WEEKLY;COUNT=3"}, format="json")

    assert list(Event.objects.get(pk=series.pk).exceptions) == [iso(BASE_TIME + WEEK)]


def test_a_series_that_stops_recurring_loses_its_exceptions(client, series):
    client.delete(occurrence_url(series, THIRD))

    response = client.patch(f"/api/events/{series.pk}", {"recurrence_pattern": None}, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["exceptions"] == []
    stored = Event.objects.get(pk=series.pk)
    assert (stored.exceptions, stored.series_start) == ({}, None)


def test_every_version_keeps_the_exception_set(client, series):
    client.delete(occurrence_url(series, THIRD))
    client.patch(occurrence_url(series, BASE_TIME), {"title": "First"}, format="json")

    versions = dict(Event.history.filter(id=series.pk).values_list("version", "exceptions"))

    assert versions == {
        1: {},
        2: {iso(THIRD): {"cancelled": True}},
        3: {iso(BASE_TIME): {"title": "First"}, iso(THIRD): {"cancelled": True}},
    }


# --- who may ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("role, status", [("editor", 200), ("viewer", 403)])
def test_editors_change_occurrences_viewers_do_not(api, me, series, role, status):
    other = UserFactory()
    sharing_services.event_share(event=series, actor=me, targets=[{"user_id": other.pk, "role": role}])
    client = api.as_user(other)
    before = database_state()

    response = client.patch(occurrence_url(series, THIRD), {"title": "Mine"}, format="json")

    assert response.status_code == status, response.content
    if status == 403:
        assert database_state() == before
    else:
        row = Event.history.filter(id=series.pk).latest("version")
        assert (row.history_user_id, row.history_action) == (other.pk, "occurrence_changed")


def test_collaborators_are_notified_of_an_occurrence_change(api, me, series):
    viewer = UserFactory()
    sharing_services.event_share(event=series, actor=me, targets=[{"user_id": viewer.pk, "role": "viewer"}])

    api.as_user(me).delete(occurrence_url(series, THIRD))

    assert Notification.objects.filter(
        recipient=viewer, event_id=series.pk, kind="occurrence_changed", version=2
    ).exists()


def test_a_rollback_restores_the_exceptions_of_that_version(client, series):
    client.delete(occurrence_url(series, THIRD))
    client.patch(occurrence_url(series, BASE_TIME), {"title": "First"}, format="json")

    back = client.post(f"/api/events/{series.pk}/rollback/1")

    assert back.status_code == 200, back.content
    assert back.json()["exceptions"] == [] and len(listed(client, series)) == 6
    again = client.post(f"/api/events/{series.pk}/rollback/2")
    assert again.status_code == 200, again.content
    assert Event.objects.get(pk=series.pk).exceptions == {iso(THIRD): {"cancelled": True}}
    assert THIRD not in [instant(i["start_time"]) for i in listed(client, series)]
    diff = client.get(f"/api/events/{series.pk}/diff/1/2").json()
    assert diff["changes"]["exceptions"]["new"] == {iso(THIRD): {"cancelled": True}}


def test_a_reason_as_long_as_the_api_allows_is_kept_whole(client, series):
    reason = "r" * 500

    response = client.delete(occurrence_url(series, THIRD), HTTP_X_CHANGE_REASON=reason)

    assert response.status_code == 204, response.content
    assert Event.history.filter(id=series.pk).latest("version").history_change_reason == reason
