"""Cached event reads: served from the cache while nothing they depend on changed, never stale after a change.

Each test reads (filling the cache), changes one thing the answer depends on, and reads again.
A read served from the cache costs one query (the caller's user row, for authentication).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from rest_framework.response import Response

from events import cache as event_cache
from events import selectors
from events import services as event_services
from events.models import Event
from sharing import services as sharing_services
from tests.factories import BASE_TIME, UserFactory, make_event

pytestmark = pytest.mark.django_db

WINDOW = f"start={BASE_TIME.isoformat()}&end={(BASE_TIME + timedelta(days=7)).isoformat()}".replace("+", "%2B")


@pytest.fixture
def setup(event_with_roles):
    event, users = event_with_roles
    return event, users


def reads(client, event) -> dict:
    """The three cached answers: detail, a list page (plain and expanded) and the occurrences."""
    detail = client.get(f"/api/events/{event.pk}")
    listed = client.get("/api/events")
    expanded = client.get(f"/api/events?expand=true&{WINDOW}")
    occurrences = client.get(f"/api/events/{event.pk}/occurrences?{WINDOW}")
    return {"detail": detail, "list": listed, "expanded": expanded, "occurrences": occurrences}


def titles(answers: dict) -> dict:
    return {
        "detail": answers["detail"].json().get("title"),
        "list": [item["title"] for item in answers["list"].json()["results"]],
        "expanded": [item["title"] for item in answers["expanded"].json()["results"]],
        "occurrences": [item["title"] for item in answers["occurrences"].json()["results"]],
    }


def test_a_second_read_is_served_from_the_cache(api, setup, django_assert_num_queries):
    event, users = setup
    client = api.as_user(users["viewer"])
    first = reads(client, event)

    with django_assert_num_queries(4):  # one per request: the caller, for authentication
        second = reads(client, event)

    for name in first:
        assert second[name].status_code == 200
        assert second[name].json() == first[name].json(), name
    assert second["detail"]["ETag"] == first["detail"]["ETag"]


def test_if_none_match_works_on_a_cached_answer(api, setup):
    event, users = setup
    client = api.as_user(users["viewer"])
    tag = client.get(f"/api/events/{event.pk}")["ETag"]

    assert client.get(f"/api/events/{event.pk}", HTTP_IF_NONE_MATCH=tag).status_code == 304


@pytest.mark.parametrize("via", ["api", "service"])
def test_an_edit_is_seen_by_every_holder_at_once(api, setup, via):
    event, users = setup
    before = {role: reads(api.as_user(users[role]), event) for role in ("owner", "viewer")}
    assert titles(before["viewer"])["detail"] == "Planning"

    if via == "api":
        assert api.as_user(users["editor"]).patch(f"/api/events/{event.pk}", {"title": "Renamed"}).status_code == 200
    else:
        event_services.event_update(event=event, actor=users["editor"], changes={"title": "Renamed"})

    for role in ("owner", "viewer"):
        assert titles(reads(api.as_user(users[role]), event)) == {
            "detail": "Renamed",
            "list": ["Renamed"],
            "expanded": ["Renamed"],
            "occurrences": ["Renamed"],
        }


def test_a_schedule_change_is_seen_in_the_occurrences(api, setup):
    event, users = setup
    client = api.as_user(users["viewer"])
    assert len(reads(client, event)["occurrences"].json()["results"]) == 1

    api.as_user(users["owner"]).patch(f"/api/events/{event.pk}", {"recurrence_pattern": "FREQ=DAILY;COUNT=3"})

    answers = reads(api.as_user(users["viewer"]), event)
    assert len(answers["occurrences"].json()["results"]) == 3
    assert len(answers["expanded"].json()["results"]) == 3
    assert answers["detail"].json()["is_recurring"] is True


def test_a_new_share_is_seen_by_the_new_holder_and_in_everyones_permissions(api, setup):
    event, users = setup
    newcomer = api.as_user(users["new"])
    assert newcomer.get("/api/events").json()["results"] == []
    assert newcomer.get(f"/api/events/{event.pk}").status_code == 404
    owner_view = api.as_user(users["owner"]).get(f"/api/events/{event.pk}").json()
    assert "new" not in [p["user"]["username"] for p in owner_view["permissions"]]

    sharing_services.event_share(
        event=event, actor=users["owner"], targets=[{"user_id": users["new"].pk, "role": "viewer"}]
    )

    newcomer = api.as_user(users["new"])
    assert [item["id"] for item in newcomer.get("/api/events").json()["results"]] == [event.pk]
    assert newcomer.get(f"/api/events/{event.pk}").json()["my_role"] == "viewer"
    owner_view = api.as_user(users["owner"]).get(f"/api/events/{event.pk}").json()
    assert "new" in [p["user"]["username"] for p in owner_view["permissions"]]


def test_a_role_change_is_seen_in_my_role(api, setup):
    event, users = setup
    before = reads(api.as_user(users["viewer"]), event)
    assert before["detail"].json()["my_role"] == "viewer"

    api.as_user(users["owner"]).put(f"/api/events/{event.pk}/permissions/{users['viewer'].pk}", {"role": "editor"})

    after = reads(api.as_user(users["viewer"]), event)
    assert after["detail"].json()["my_role"] == "editor"
    assert after["list"].json()["results"][0]["my_role"] == "editor"


def test_a_caller_who_lost_access_gets_404_not_the_cached_answer(api, setup):
    event, users = setup
    assert all(answer.status_code == 200 for answer in reads(api.as_user(users["viewer"]), event).values())

    api.as_user(users["owner"]).delete(f"/api/events/{event.pk}/permissions/{users['viewer'].pk}")

    after = reads(api.as_user(users["viewer"]), event)
    assert after["detail"].status_code == after["occurrences"].status_code == 404
    assert after["list"].json()["results"] == after["expanded"].json()["results"] == []


def test_leaving_an_event_drops_it_from_my_cached_list(api, setup):
    event, users = setup
    assert len(reads(api.as_user(users["editor"]), event)["list"].json()["results"]) == 1

    api.as_user(users["editor"]).delete(f"/api/events/{event.pk}/permissions/{users['editor'].pk}")

    assert api.as_user(users["editor"]).get("/api/events").json()["results"] == []


def test_a_deleted_event_disappears_for_everyone(api, setup):
    event, users = setup
    for role in ("owner", "editor", "viewer"):
        reads(api.as_user(users[role]), event)

    assert api.as_user(users["owner"]).delete(f"/api/events/{event.pk}").status_code == 204

    for role in ("owner", "editor", "viewer"):
        after = reads(api.as_user(users[role]), event)
        assert after["detail"].status_code == after["occurrences"].status_code == 404, role
        assert after["list"].json()["results"] == [], role


def test_a_rollback_is_seen(api, setup):
    event, users = setup
    owner = api.as_user(users["owner"])
    owner.patch(f"/api/events/{event.pk}", {"title": "Second"})
    assert titles(reads(owner, event))["list"] == ["Second"]
    assert titles(reads(api.as_user(users["viewer"]), event))["detail"] == "Second"

    assert api.as_user(users["owner"]).post(f"/api/events/{event.pk}/rollback/1").status_code == 200

    assert titles(reads(api.as_user(users["viewer"]), event))["detail"] == "Planning"
    assert titles(reads(api.as_user(users["owner"]), event))["list"] == ["Planning"]


def test_created_events_appear_in_my_cached_list(api, setup):
    _, users = setup
    client = api.as_user(users["owner"])
    assert len(client.get("/api/events").json()["results"]) == 1
    start = BASE_TIME + timedelta(days=40)
    item = {"title": "B", "start_time": start.isoformat(), "end_time": (start + timedelta(hours=1)).isoformat()}

    client.post("/api/events", {**item, "title": "Single"})
    assert len(client.get("/api/events").json()["results"]) == 2
    client.post(
        "/api/events/batch",
        {
            "events": [
                {
                    **item,
                    "start_time": (start + timedelta(days=1)).isoformat(),
                    "end_time": (start + timedelta(days=1, hours=1)).isoformat(),
                }
            ]
        },
    )
    assert len(client.get("/api/events").json()["results"]) == 3
    client.post(
        "/api/transactions",
        {
            "operations": [
                {
                    "op": "create",
                    "data": {
                        **item,
                        "start_time": (start + timedelta(days=2)).isoformat(),
                        "end_time": (start + timedelta(days=2, hours=1)).isoformat(),
                    },
                }
            ]
        },
    )
    assert len(client.get("/api/events").json()["results"]) == 4


def test_a_change_made_outside_the_services_is_seen_too(api, setup):
    """The admin and any other code saving an event make a history row: that is what invalidates."""
    event, users = setup
    client = api.as_user(users["viewer"])
    reads(client, event)

    row = Event.objects.get(pk=event.pk)
    row.location = "Moved by an admin"
    row.version += 1
    row.save()

    assert client.get(f"/api/events/{event.pk}").json()["location"] == "Moved by an admin"


def test_answers_are_per_caller(api, setup):
    event, users = setup

    roles = {
        role: api.as_user(users[role]).get(f"/api/events/{event.pk}").json()["my_role"]
        for role in ("owner", "editor", "viewer")
    }
    again = {
        role: api.as_user(users[role]).get(f"/api/events/{event.pk}").json()["my_role"]
        for role in ("owner", "editor", "viewer")
    }

    assert roles == again == {"owner": "owner", "editor": "editor", "viewer": "viewer"}
    assert api.as_user(users["stranger"]).get(f"/api/events/{event.pk}").status_code == 404


def test_list_pages_and_filters_are_cached_apart(api, db):
    me = UserFactory()
    for n in range(3):
        make_event(me, title=f"E{n}", start=BASE_TIME + timedelta(days=n))
    client = api.as_user(me)

    first = client.get("/api/events?page_size=2")
    second = client.get("/api/events?page_size=2&page=2")
    filtered = client.get("/api/events?q=E1")

    assert [i["title"] for i in first.json()["results"]] == ["E0", "E1"]
    assert [i["title"] for i in second.json()["results"]] == ["E2"]
    assert [i["title"] for i in filtered.json()["results"]] == ["E1"]


def test_a_read_racing_a_write_never_leaves_the_old_answer_in_the_cache(api, setup, monkeypatch):
    """The reader takes the generation before its database read, so what it read before a commit is filed
    under a generation the commit has already replaced."""
    event, users = setup
    client = api.as_user(users["viewer"])
    real_event_get = selectors.event_get

    def read_then_a_writer_commits(**kwargs):
        found = real_event_get(**kwargs)
        event_services.event_update(event=found, actor=users["owner"], changes={"title": "Raced"})
        return found

    monkeypatch.setattr(selectors, "event_get", read_then_a_writer_commits)
    raced = client.get(f"/api/events/{event.pk}")
    monkeypatch.undo()

    assert raced.json()["title"] == "Planning"  # it was read before the write
    assert client.get(f"/api/events/{event.pk}").json()["title"] == "Raced"


@pytest.fixture
def redis_trips(monkeypatch):
    """The round trips to Redis from here on (a pipeline of several commands is one)."""
    import redis.connection

    sent = []
    real_send = redis.connection.AbstractConnection.send_packed_command

    def counting_send(connection, command, *args, **kwargs):
        sent.append(connection)
        return real_send(connection, command, *args, **kwargs)

    monkeypatch.setattr(redis.connection.AbstractConnection, "send_packed_command", counting_send)
    return sent


@pytest.mark.redis
@pytest.mark.parametrize("path", ["/api/events/{id}", "/api/events", "/api/events/{id}/occurrences?limit=5"])
def test_on_redis_a_cached_read_is_one_round_trip_and_a_miss_two(api, setup, redis_trips, path):
    """The rate limit's count, the generation and the answer in one trip (one pipeline: the count's script and the
    lookup's); a miss stores the answer after it."""
    event, users = setup
    client = api.as_user(users["viewer"])
    url = path.format(id=event.pk)
    redis_trips.clear()
    miss = client.get(url)
    trips_of_a_miss = len(redis_trips)
    redis_trips.clear()
    hit = client.get(url)

    assert (miss.status_code, hit.status_code) == (200, 200)
    assert hit.json() == miss.json() and hit.get("ETag") == miss.get("ETag")
    assert int(hit["RateLimit-Remaining"]) == int(miss["RateLimit-Remaining"]) - 1  # both were counted
    assert (trips_of_a_miss, len(redis_trips)) == (2, 1)


@pytest.mark.redis
def test_on_redis_an_early_lookup_serves_only_the_read_it_was_made_for(setup):
    """The lookup sent with the rate limit's count is used by the read it names, not by another (a different
    event, kind or query): that one looks up its own answer."""
    from rest_framework.request import Request
    from rest_framework.test import APIRequestFactory

    from common.throttling import window_count

    event, users = setup
    request = Request(APIRequestFactory().get(f"/api/events/{event.pk}"))
    request.user = users["viewer"]

    def answer(kind: str, event_id: int | None, data: dict) -> dict:
        return event_cache.cached_response(kind, request=request, event_id=event_id, build=lambda: Response(data)).data

    assert answer("detail", event.pk, {"kept": "detail"}) == {"kept": "detail"}  # stored (outside a request: at once)
    for kind, event_id, expected in (
        ("detail", event.pk, {"kept": "detail"}),  # the read it was made for: the kept answer
        ("detail", event.pk + 1, {"built": True}),  # another event
        ("occurrences", event.pk, {"built": True}),  # another kind
        ("list", None, {"built": True}),  # another dependency
    ):
        event_cache.look_up_early("detail", request=request, event_id=event.pk)
        riders = request._request.__dict__.pop("_rate_limit_riders")
        assert window_count("test:early", 60, riders) is not None  # the count's trip carried the lookup
        assert riders[0].found is not None
        assert answer(kind, event_id, {"built": True}) == expected, (kind, event_id)
        assert not hasattr(request._request, "event_cache_lookup")  # used once at most


@pytest.mark.redis
def test_on_redis_a_refused_read_is_still_refused_with_its_lookup_made(api, setup, rates):
    event, users = setup
    rates(user="2/min")
    client = api.as_user(users["viewer"])
    answers = [client.get(f"/api/events/{event.pk}") for _ in range(3)]

    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[2]["Content-Type"].startswith("application/problem+json")


def test_a_calendar_app_polling_a_thousand_events_finds_its_answers_still_cached(api, me, django_assert_num_queries):
    """The in-memory cache (no REDIS_URL) keeps more than a calendar's worth of answers: at Django's default of
    300 entries every poll of a larger calendar was a miss, and the rate-limit counters were pushed out too."""
    start = BASE_TIME + timedelta(days=400)
    items = [
        {"title": f"E{n}", "start_time": start + timedelta(hours=n), "end_time": start + timedelta(hours=n, minutes=30)}
        for n in range(1000)
    ]
    created = event_services.event_create_batch(actor=me, items=items, conflict_strategy="allow").events
    client = api.as_user(me)
    for event in created:
        assert client.get(f"/api/events/{event.pk}").status_code == 200

    with django_assert_num_queries(1):  # authentication: the answer itself comes from the cache
        assert client.get(f"/api/events/{created[0].pk}").status_code == 200


def test_a_miss_is_stored_once_its_answer_is_closed_not_before(api, setup, django_assert_num_queries):
    """The answer is sent first (common/asgi_handler.py); its store waits for the close (common/after_answer.py)."""
    from rest_framework.test import APIRequestFactory, force_authenticate

    from events.views import EventViewSet
    from tests.helpers import one_request

    event, users = setup
    retrieve = EventViewSet.as_view({"get": "retrieve"})

    def read():
        request = APIRequestFactory().get(f"/api/events/{event.pk}")
        force_authenticate(request, user=users["viewer"])  # no authentication query: only the event's
        return retrieve(request, pk=str(event.pk))

    with one_request():
        first = read()
        with django_assert_num_queries(2):  # the event and its permissions, again: nothing stored yet
            assert read().data == first.data
    with django_assert_num_queries(0):  # the answers were closed: stored
        assert read().data == first.data
