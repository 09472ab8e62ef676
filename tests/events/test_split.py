"""PUT/PATCH /api/events/{id}?scope=following&occurrence=...: a series split atomically at one occurrence."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from events.models import Event
from notifications.models import Notification
from sharing import services as sharing_services
from sharing.models import EventPermission
from tests.factories import BASE_TIME, UserFactory, make_event
from tests.helpers import assert_problem, database_state, iso

pytestmark = pytest.mark.django_db

WEEK = timedelta(weeks=1)
HOUR = timedelta(hours=1)
FOURTH = BASE_TIME + 3 * WEEK


def starts(client, event_id, **window) -> list[datetime]:
    response = client.get(f"/api/events/{event_id}/occurrences", {"limit": 100, **window})
    assert response.status_code == 200, response.content
    return [datetime.fromisoformat(item["start_time"]) for item in response.json()["results"]]


def split_url(event, at: datetime, scope: str = "following") -> str:
    return f"/api/events/{event.pk}?scope={scope}&occurrence={iso(at).replace('+', '%2B')}"


def weekly(owner, rule: str = "FREQ=WEEKLY;COUNT=10", **fields):
    return make_event(owner, title="Weekly", recurrence={"rrule": rule, "exdates": [], "rdates": []}, **fields)


def test_following_ends_the_series_before_the_occurrence_and_starts_a_new_one(client, me):
    series = weekly(me)

    response = client.patch(split_url(series, FOURTH), {"title": "Weekly (new room)", "location": "Room 2"})

    assert response.status_code == 200, response.content
    body = response.json()
    old, new = body["updated"], body["created"]
    assert (old["id"], old["version"], old["title"]) == (series.pk, 2, "Weekly")
    assert old["recurrence_pattern"]["rrule"] == "FREQ=WEEKLY;COUNT=3"
    assert new["id"] != series.pk and new["version"] == 1
    assert (new["title"], new["location"], new["recurrence_pattern"]["rrule"]) == (
        "Weekly (new room)",
        "Room 2",
        "FREQ=WEEKLY;COUNT=7",
    )
    assert datetime.fromisoformat(new["start_time"]) == FOURTH
    assert new["owner"]["id"] == me.pk and new["my_role"] == "owner"
    # Together they are the old series: the same instants, none lost, none doubled.
    assert starts(client, old["id"]) == [BASE_TIME + n * WEEK for n in range(3)]
    assert starts(client, new["id"]) == [BASE_TIME + n * WEEK for n in range(3, 10)]
    old_row = Event.history.filter(id=series.pk).latest("version")
    assert (old_row.version, old_row.history_action, old_row.history_user_id) == (2, "split", me.pk)
    new_row = Event.history.get(id=new["id"])
    assert (new_row.version, new_row.history_action) == (1, "created")
    assert new_row.history_change_reason == f"Split from event {series.pk}"


def test_an_unbounded_series_gets_an_until_and_the_new_one_stays_unbounded(client, me):
    series = weekly(me, "FREQ=WEEKLY;BYDAY=MO")

    body = client.put(split_url(series, FOURTH), {"start_time": iso(FOURTH + HOUR), "end_time": iso(FOURTH + 2 * HOUR)})
    body = body.json()

    assert body["updated"]["recurrence_pattern"]["rrule"] == "FREQ=WEEKLY;UNTIL=20300128T085959Z;BYDAY=MO"
    assert body["created"]["recurrence_pattern"]["rrule"] == "FREQ=WEEKLY;BYDAY=MO"
    assert starts(client, series.pk) == [BASE_TIME + n * WEEK for n in range(3)]
    assert starts(client, body["created"]["id"], limit=3) == [FOURTH + HOUR + n * WEEK for n in range(3)]
    assert Event.objects.get(pk=series.pk).series_end == BASE_TIME + 2 * WEEK + HOUR
    assert Event.objects.get(pk=body["created"]["id"]).series_end is None


def test_a_local_time_series_split_across_dst_keeps_its_earlier_instants(client, me):
    # 09:00 New York weekly from January; split in April (after the change to EDT), moved to 10:00.
    start = datetime(2030, 1, 7, 14, tzinfo=UTC)  # 09:00 EST
    series = weekly(me, "FREQ=WEEKLY", start=start, timezone="America/New_York")
    split_at = datetime(2030, 4, 1, 13, tzinfo=UTC)  # 09:00 EDT
    before = starts(client, series.pk, end=iso(split_at))

    changes = {"start_time": "2030-04-01T10:00:00", "end_time": "2030-04-01T11:00:00"}
    body = client.patch(split_url(series, split_at), changes).json()

    assert starts(client, series.pk) == before  # every instant before the split is unchanged
    new_starts = starts(client, body["created"]["id"], limit=3)
    assert new_starts == [datetime(2030, 4, day, 14, tzinfo=UTC) for day in (1, 8, 15)]  # 10:00 EDT


def test_exdates_rdates_and_exceptions_go_to_their_side(client, me):
    series = make_event(
        me,
        title="Weekly",
        recurrence={
            "rrule": "FREQ=WEEKLY;COUNT=8",
            "exdates": [iso(BASE_TIME + WEEK), iso(BASE_TIME + 5 * WEEK)],
            "rdates": [iso(BASE_TIME + timedelta(days=2)), iso(BASE_TIME + 4 * WEEK + timedelta(days=2))],
        },
    )
    client.delete(f"/api/events/{series.pk}/occurrences/{iso(BASE_TIME + 2 * WEEK)}")
    client.patch(f"/api/events/{series.pk}/occurrences/{iso(BASE_TIME + 6 * WEEK)}", {"title": "Seventh"})

    body = client.patch(split_url(series, FOURTH), {"location": "Room 2"}).json()

    old = Event.objects.get(pk=series.pk)
    new = Event.objects.get(pk=body["created"]["id"])
    assert old.recurrence == {
        "rrule": "FREQ=WEEKLY;COUNT=3",
        "exdates": [iso(BASE_TIME + WEEK)],
        "rdates": [iso(BASE_TIME + timedelta(days=2))],
    }
    assert new.recurrence == {
        "rrule": "FREQ=WEEKLY;COUNT=5",
        "exdates": [iso(BASE_TIME + 5 * WEEK)],
        "rdates": [iso(BASE_TIME + 4 * WEEK + timedelta(days=2))],
    }
    assert old.exceptions == {iso(BASE_TIME + 2 * WEEK): {"cancelled": True}}
    assert new.exceptions == {iso(BASE_TIME + 6 * WEEK): {"title": "Seventh"}}
    assert starts(client, old.pk) == [BASE_TIME, BASE_TIME + timedelta(days=2)]
    assert starts(client, new.pk) == [
        FOURTH,
        BASE_TIME + 4 * WEEK,
        BASE_TIME + 4 * WEEK + timedelta(days=2),
        BASE_TIME + 6 * WEEK,
        BASE_TIME + 7 * WEEK,
    ]


def test_exceptions_move_with_the_new_series_when_its_time_changes(client, me):
    series = weekly(me)
    client.delete(f"/api/events/{series.pk}/occurrences/{iso(BASE_TIME + 5 * WEEK)}")

    moved = FOURTH + 2 * HOUR
    body = client.patch(split_url(series, FOURTH), {"start_time": iso(moved), "end_time": iso(moved + HOUR)}).json()

    new = Event.objects.get(pk=body["created"]["id"])
    assert new.exceptions == {iso(BASE_TIME + 5 * WEEK + 2 * HOUR): {"cancelled": True}}
    assert BASE_TIME + 5 * WEEK + 2 * HOUR not in starts(client, new.pk)


def test_the_new_series_gets_the_old_ones_permissions_and_collaborators_see_both(api, me):
    editor, viewer = UserFactory(), UserFactory()
    series = weekly(me)
    sharing_services.event_share(
        event=series,
        actor=me,
        targets=[{"user_id": editor.pk, "role": "editor"}, {"user_id": viewer.pk, "role": "viewer"}],
    )

    assert [item["id"] for item in api.as_user(viewer).get("/api/events").json()["results"]] == [series.pk]

    response = api.as_user(editor).patch(split_url(series, FOURTH), {"title": "Edited"})

    assert response.status_code == 200, response.content
    new_id = response.json()["created"]["id"]
    assert response.json()["created"]["my_role"] == "editor"
    assert set(EventPermission.objects.filter(event_id=new_id).values_list("user_id", "role")) == {
        (me.pk, "owner"),
        (editor.pk, "editor"),
        (viewer.pk, "viewer"),
    }
    assert Event.objects.get(pk=new_id).owner_id == me.pk
    listed = api.as_user(viewer).get("/api/events").json()["results"]
    assert {item["id"] for item in listed} == {series.pk, new_id}


def test_a_viewer_may_not_split(api, me):
    viewer = UserFactory()
    series = weekly(me)
    sharing_services.event_share(event=series, actor=me, targets=[{"user_id": viewer.pk, "role": "viewer"}])
    client = api.as_user(viewer)
    before = database_state()

    assert_problem(client.patch(split_url(series, FOURTH), {"title": "x"}), 403)
    assert database_state() == before


def test_a_conflict_of_the_new_series_rolls_back_the_whole_split(client, me):
    series = weekly(me)
    make_event(me, title="Dentist", start=BASE_TIME + 5 * WEEK + timedelta(days=1, hours=1))
    before = database_state()

    moved = FOURTH + timedelta(days=1, hours=1)
    response = client.patch(split_url(series, FOURTH), {"start_time": iso(moved), "end_time": iso(moved + HOUR)})

    problem = assert_problem(response, 409)
    assert [c["title"] for c in problem["conflicts"]] == ["Dentist"]
    assert problem["next_free_slots"]
    assert database_state() == before


def test_the_new_series_does_not_conflict_with_the_part_it_replaces(client, me):
    series = weekly(me)

    response = client.patch(split_url(series, FOURTH), {"title": "Same time"})

    assert response.status_code == 200, response.content
    assert not response.json()["created"].get("conflicts")


def test_following_at_the_first_occurrence_updates_the_whole_series(client, me):
    series = weekly(me)

    response = client.patch(split_url(series, BASE_TIME), {"title": "All of it"})

    assert response.status_code == 200, response.content
    assert response.json()["created"] is None
    assert (response.json()["updated"]["title"], response.json()["updated"]["version"]) == ("All of it", 2)
    assert Event.objects.count() == 1


def test_scope_all_is_the_default_and_may_be_named(client, me):
    series = weekly(me)

    response = client.patch(f"/api/events/{series.pk}?scope=all", {"title": "Renamed"})

    assert response.status_code == 200, response.content
    assert response.json()["title"] == "Renamed"


def test_scope_and_occurrence_may_come_in_the_body(client, me):
    series = weekly(me)

    response = client.patch(
        f"/api/events/{series.pk}", {"scope": "following", "occurrence": iso(FOURTH), "title": "Body"}, format="json"
    )

    assert response.status_code == 200, response.content
    assert response.json()["created"]["title"] == "Body"


def test_a_stale_if_match_is_a_412_and_splits_nothing(client, me):
    series = weekly(me)
    client.patch(f"/api/events/{series.pk}", {"location": "Moved"})
    before = database_state()

    response = client.patch(split_url(series, FOURTH), {"title": "x"}, HTTP_IF_MATCH='"1-0"')

    assert assert_problem(response, 412)["current_version"] == 2
    assert database_state() == before


@pytest.mark.parametrize(
    "query, field",
    [
        ("scope=following", "occurrence"),
        ("scope=sometimes", "scope"),
        (f"scope=all&occurrence={iso(FOURTH)}", "occurrence"),
        ("scope=following&occurrence=yesterday", "occurrence"),
    ],
)
def test_a_bad_scope_is_a_400_and_changes_nothing(client, me, query, field):
    series = weekly(me)
    before = database_state()

    problem = assert_problem(client.patch(f"/api/events/{series.pk}?{query}", {"title": "x"}), 400)

    assert field in problem["errors"]
    assert database_state() == before


def test_following_on_a_single_event_is_a_400(client, me):
    single = make_event(me)
    before = database_state()

    problem = assert_problem(client.patch(split_url(single, BASE_TIME + WEEK), {"title": "x"}), 400)

    assert "scope" in problem["errors"]
    assert database_state() == before


@pytest.mark.parametrize("at", [FOURTH + HOUR, BASE_TIME + 12 * WEEK], ids=["between", "after-the-end"])
def test_following_at_a_time_with_no_occurrence_is_a_404(client, me, at):
    series = weekly(me)
    before = database_state()

    assert_problem(client.patch(split_url(series, at), {"title": "x"}), 404)
    assert database_state() == before


def test_following_at_an_rdate_only_occurrence_is_a_400(client, me):
    extra = BASE_TIME + timedelta(days=3)
    series = make_event(me, recurrence={"rrule": "FREQ=WEEKLY;COUNT=4", "exdates": [], "rdates": [iso(extra)]})
    before = database_state()

    problem = assert_problem(client.patch(split_url(series, extra), {"title": "x"}), 400)

    assert "occurrence" in problem["errors"]
    assert database_state() == before


def test_an_invalid_change_to_the_new_series_is_a_400_and_changes_nothing(client, me):
    series = weekly(me)
    before = database_state()

    problem = assert_problem(client.patch(split_url(series, FOURTH), {"recurrence_pattern": "FREQ=MINUTELY"}), 400)

    assert "recurrence_pattern" in problem["errors"]
    assert database_state() == before


def test_a_new_rule_for_the_following_occurrences(client, me):
    series = weekly(me, "FREQ=WEEKLY")

    body = client.patch(split_url(series, FOURTH), {"recurrence_pattern": "FREQ=DAILY;COUNT=2"}).json()

    assert starts(client, body["created"]["id"]) == [FOURTH, FOURTH + timedelta(days=1)]
    assert starts(client, series.pk) == [BASE_TIME + n * WEEK for n in range(3)]


def test_collaborators_are_notified_of_both_series(api, me):
    viewer = UserFactory()
    series = weekly(me)
    sharing_services.event_share(event=series, actor=me, targets=[{"user_id": viewer.pk, "role": "viewer"}])

    new_id = api.as_user(me).patch(split_url(series, FOURTH), {"title": "Edited"}).json()["created"]["id"]

    received = set(Notification.objects.filter(recipient=viewer).values_list("event_id", "kind", "version"))
    assert {(series.pk, "event_split", 2), (new_id, "event_created", 1)} <= received
    assert not Notification.objects.filter(recipient=me, event_id=new_id).exists()  # not the actor


def test_a_long_reason_is_kept_on_both_series(client, me):
    series = weekly(me)
    reason = "r" * 500

    body = client.patch(split_url(series, FOURTH), {"title": "x", "change_reason": reason}).json()

    assert Event.history.filter(id=series.pk).latest("version").history_change_reason == reason
    new_reason = Event.history.get(id=body["created"]["id"]).history_change_reason
    assert new_reason == f"Split from event {series.pk}: {reason}"
