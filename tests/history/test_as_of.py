"""`as_of=` on the event list, detail and occurrences: the events as they were at that moment."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from events import services as event_services
from sharing import services as sharing_services
from tests.factories import BASE_TIME, UserFactory, make_event
from tests.helpers import edit

pytestmark = pytest.mark.django_db


@pytest.fixture
def timeline(event_with_roles):
    """Moments between the changes of an event: before it, at v1, at v2 (renamed, moved), after deletion."""
    event, users = event_with_roles
    moments = {}
    moments["v1"] = timezone.now()
    event = edit(
        event,
        users["editor"],
        title="Planning v2",
        start_time=BASE_TIME + timedelta(days=1),
        end_time=BASE_TIME + timedelta(days=1, hours=1),
    )
    moments["v2"] = timezone.now()
    event_services.event_delete(event=event, actor=users["owner"])
    moments["deleted"] = timezone.now()
    moments["before"] = event.created_at - timedelta(seconds=1)
    return event, users, moments


def test_detail_as_of_answers_the_version_in_force_then(api, timeline):
    event, users, moments = timeline
    client = api.as_user(users["owner"])  # the event is deleted since: its owners still travel back to it

    then = client.get(f"/api/events/{event.pk}", {"as_of": moments["v1"].isoformat()})
    later = client.get(f"/api/events/{event.pk}", {"as_of": moments["v2"].isoformat()})

    assert then.status_code == 200, then.content
    assert (then.json()["version"], then.json()["title"], then.json()["start_time"]) == (
        1,
        "Planning",
        "2030-01-07T09:00:00+00:00",
    )
    assert then.json()["my_role"] == "owner"
    assert {p["user"]["username"]: p["role"] for p in then.json()["permissions"]} == {
        "owner": "owner",
        "editor": "editor",
        "viewer": "viewer",
    }
    assert then["ETag"].startswith('"1-')
    assert (later.json()["version"], later.json()["title"]) == (2, "Planning v2")


@pytest.mark.parametrize("moment", ["before", "deleted"])
def test_an_event_that_did_not_exist_or_was_deleted_then_is_a_404(api, timeline, moment):
    event, users, moments = timeline

    response = api.as_user(users["owner"]).get(f"/api/events/{event.pk}", {"as_of": moments[moment].isoformat()})

    assert response.status_code == 404


def test_visibility_is_the_callers_access_now(api, timeline):
    event, users, moments = timeline
    sharing_services.permission_revoke(event=event, actor=users["owner"], user_id=users["viewer"].pk)

    viewer = api.as_user(users["viewer"]).get(f"/api/events/{event.pk}", {"as_of": moments["v1"].isoformat()})
    stranger = api.as_user(users["stranger"]).get(f"/api/events/{event.pk}", {"as_of": moments["v1"].isoformat()})

    assert viewer.status_code == stranger.status_code == 404


def test_the_list_as_of_shows_each_event_as_it_was_and_only_those_alive_then(api, user):
    early = make_event(user, title="early", start=BASE_TIME)
    moment = timezone.now()
    edit(early, user, title="early renamed")
    make_event(user, title="born later", start=BASE_TIME + timedelta(hours=2))
    gone = make_event(UserFactory(), title="not shared")  # invisible to the caller at any time
    assert gone.pk

    response = api.as_user(user).get("/api/events", {"as_of": moment.isoformat()})
    now = api.as_user(user).get("/api/events")

    assert response.status_code == 200, response.content
    assert [(e["title"], e["version"], e["my_role"]) for e in response.json()["results"]] == [("early", 1, "owner")]
    assert response.json()["count"] == 1
    assert [e["title"] for e in now.json()["results"]] == ["early renamed", "born later"]


def test_the_list_as_of_takes_the_usual_filters(api, user):
    make_event(user, title="standup", start=BASE_TIME)
    make_event(user, title="retro", start=BASE_TIME + timedelta(days=3))
    moment = timezone.now()
    client = api.as_user(user)

    def titles(**params):
        response = client.get("/api/events", {"as_of": moment.isoformat(), **params})
        assert response.status_code == 200, response.content
        return [e["title"] for e in response.json()["results"]]

    assert titles(q="retro") == ["retro"]
    assert titles(ordering="-start_time") == ["retro", "standup"]
    assert titles(
        start=(BASE_TIME + timedelta(days=2)).isoformat(), end=(BASE_TIME + timedelta(days=4)).isoformat()
    ) == ["retro"]
    assert titles(role="viewer") == []


def test_occurrences_as_of_expand_the_pattern_of_then(api, user):
    event = make_event(user, title="weekly", recurrence={"rrule": "FREQ=WEEKLY;COUNT=3", "exdates": [], "rdates": []})
    moment = timezone.now()
    edit(event, user, recurrence={"rrule": "FREQ=DAILY;COUNT=2", "exdates": [], "rdates": []})
    client = api.as_user(user)

    then = client.get(f"/api/events/{event.pk}/occurrences", {"as_of": moment.isoformat()})
    expanded = client.get(
        "/api/events",
        {
            "as_of": moment.isoformat(),
            "expand": "true",
            "start": BASE_TIME.isoformat(),
            "end": (BASE_TIME + timedelta(days=30)).isoformat(),
        },
    )

    assert then.status_code == 200, then.content
    assert [o["start_time"][:10] for o in then.json()["results"]] == ["2030-01-07", "2030-01-14", "2030-01-21"]
    assert [o["event_id"] for o in expanded.json()["results"]] == [event.pk] * 3
    now = client.get(f"/api/events/{event.pk}/occurrences")
    assert [o["start_time"][:10] for o in now.json()["results"]] == ["2030-01-07", "2030-01-08"]


@pytest.mark.parametrize("value", ["yesterday", "2030-13-01T00:00:00Z", ""])
def test_a_malformed_as_of_is_a_400(api, user, value):
    event = make_event(user)
    client = api.as_user(user)

    for path in ("/api/events", f"/api/events/{event.pk}", f"/api/events/{event.pk}/occurrences"):
        response = client.get(path, {"as_of": value})
        assert response.status_code == 400, (path, response.content)
        assert "as_of" in response.json()["errors"]


def test_as_of_without_an_offset_is_utc(api, user):
    event = make_event(user)
    moment = timezone.now() + timedelta(minutes=1)

    response = api.as_user(user).get(f"/api/events/{event.pk}", {"as_of": moment.strftime("%Y-%m-%dT%H:%M:%S")})

    assert response.status_code == 200


def test_as_of_reads_cost_a_fixed_number_of_queries(api, user, django_assert_num_queries):
    for n in range(3):
        make_event(user, title=f"a{n}", start=BASE_TIME + timedelta(hours=n))
    few = timezone.now()
    for n in range(3, 25):
        event = make_event(user, title=f"a{n}", start=BASE_TIME + timedelta(hours=n))
        edit(event, user, title=f"b{n}")
    many = timezone.now()
    client = api.as_user(user)

    for moment in (few, many):
        with django_assert_num_queries(3):  # auth user, count, page
            response = client.get("/api/events", {"as_of": moment.isoformat()})
        assert response.status_code == 200
    assert response.json()["count"] == 25
    with django_assert_num_queries(3):  # auth user, the version then, its permissions then
        assert client.get(f"/api/events/{event.pk}", {"as_of": many.isoformat()}).status_code == 200


def test_an_event_deleted_since_is_shown_as_it_was_to_its_owners_only(api, timeline):
    event, users, moments = timeline  # deleted at the end of the timeline

    owner = api.as_user(users["owner"]).get(f"/api/events/{event.pk}", {"as_of": moments["v2"].isoformat()})
    listed = api.as_user(users["owner"]).get("/api/events", {"as_of": moments["v2"].isoformat()})
    viewer = api.as_user(users["viewer"]).get(f"/api/events/{event.pk}", {"as_of": moments["v2"].isoformat()})

    assert owner.status_code == 200 and owner.json()["title"] == "Planning v2"
    assert [e["id"] for e in listed.json()["results"]] == [event.pk]
    assert viewer.status_code == 404
