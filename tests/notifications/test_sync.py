"""GET /api/sync: the caller's events, then exactly what changed for them since a cursor."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import signing
from django.db import transaction

from events import services as event_services
from notifications import cursors
from notifications.models import FeedEntry, SyncStream
from sharing import services as sharing_services
from tests.factories import BASE_TIME, UserFactory, make_event
from tests.helpers import database_state, edit

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"


def sync(api, user, cursor: str | None = None, **params):
    query = {**({"cursor": cursor} if cursor is not None else {}), **params}
    response = api.as_user(user).get("/api/sync", query)
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"changes", "cursor", "has_more"}
    return body


def drain(api, user, cursor: str | None = None, **params) -> tuple[list[dict], str]:
    """Every page until has_more is false: (all changes, last cursor)."""
    changes = []
    for _ in range(100):
        body = sync(api, user, cursor, **params)
        changes += body["changes"]
        cursor = body["cursor"]
        if not body["has_more"]:
            return changes, cursor
    raise AssertionError("has_more never became false")


def summary(changes: list[dict]) -> list[tuple]:
    return [(c["type"], c["event_id"]) for c in changes]


def assert_gone(response):
    assert response.status_code == 410, response.content
    assert response["Content-Type"].startswith(PROBLEM)
    problem = response.json()
    assert problem["status"] == 410
    assert problem["type"] == "/problems/sync-cursor-gone"
    assert "without a cursor" in problem["detail"]


def test_without_a_cursor_it_lists_the_callers_events_in_their_current_state(api, event_with_roles):
    event, users = event_with_roles
    own = make_event(users["viewer"], title="Mine")
    make_event(users["stranger"], title="Not shared")

    body = sync(api, users["viewer"])

    assert body["has_more"] is False
    assert summary(body["changes"]) == [("created", event.pk), ("created", own.pk)]
    shared = body["changes"][0]
    assert shared["version"] == 1
    assert shared["event"]["title"] == "Planning"
    assert shared["event"]["my_role"] == "viewer"
    assert shared["event"]["owner"]["username"] == "owner"


def test_a_cursor_gives_exactly_what_changed_since(api, event_with_roles):
    event, users = event_with_roles
    _, cursor = drain(api, users["viewer"])
    other = make_event(users["owner"], title="Other", start=BASE_TIME + timedelta(days=1))

    edit(event, users["editor"], title="Renamed")
    sharing_services.event_share(
        event=other, actor=users["owner"], targets=[{"user_id": users["viewer"].pk, "role": "viewer"}]
    )

    changes, cursor = drain(api, users["viewer"], cursor)
    assert summary(changes) == [("updated", event.pk), ("created", other.pk)]
    assert changes[0]["event"]["title"] == "Renamed"
    assert changes[0]["version"] == 2
    assert changes[1]["event"]["my_role"] == "viewer"

    # nothing new: nothing again
    again, _ = drain(api, users["viewer"], cursor)
    assert again == []


def test_deletions_and_lost_access_are_in_the_feed(api, event_with_roles):
    event, users = event_with_roles
    second = make_event(users["owner"], title="Second", start=BASE_TIME + timedelta(days=1))
    sharing_services.event_share(
        event=second, actor=users["owner"], targets=[{"user_id": users["viewer"].pk, "role": "editor"}]
    )
    _, cursor = drain(api, users["viewer"])

    event_services.event_delete(event=event, actor=users["owner"])
    sharing_services.permission_revoke(event=second, actor=users["owner"], user_id=users["viewer"].pk)

    changes, _ = drain(api, users["viewer"], cursor)
    assert changes == [
        {"type": "deleted", "event_id": event.pk, "version": 2},
        {"type": "access_lost", "event_id": second.pk, "version": 1},
    ]


def test_the_callers_own_changes_are_in_their_feed_for_their_other_devices(api, event_with_roles):
    event, users = event_with_roles
    _, cursor = drain(api, users["editor"])

    edit(event, users["editor"], location="Room 2")

    changes, _ = drain(api, users["editor"], cursor)
    assert summary(changes) == [("updated", event.pk)]
    assert changes[0]["event"]["location"] == "Room 2"


def test_several_changes_to_one_event_come_once_in_its_current_state(api, event_with_roles):
    event, users = event_with_roles
    _, cursor = drain(api, users["viewer"])

    for title in ("One", "Two", "Three"):
        edit(event, users["owner"], title=title)

    changes, _ = drain(api, users["viewer"], cursor)
    assert summary(changes) == [("updated", event.pk)]
    assert (changes[0]["event"]["title"], changes[0]["version"]) == ("Three", 4)


def test_an_event_created_and_changed_since_the_cursor_is_created(api, user):
    _, cursor = drain(api, user)
    event = make_event(user, title="New")
    edit(event, user, title="Newer")

    changes, _ = drain(api, user, cursor)
    assert summary(changes) == [("created", event.pk)]
    assert changes[0]["event"]["title"] == "Newer"


def test_an_event_deleted_after_an_update_in_the_same_page_is_only_deleted(api, event_with_roles):
    event, users = event_with_roles
    _, cursor = drain(api, users["viewer"])
    edit(event, users["owner"], title="Last words")
    event_services.event_delete(event=event, actor=users["owner"])

    changes, _ = drain(api, users["viewer"], cursor)
    assert changes == [{"type": "deleted", "event_id": event.pk, "version": 3}]


def test_an_update_whose_event_is_gone_by_a_later_page_is_left_to_that_page(api, event_with_roles):
    event, users = event_with_roles
    _, cursor = drain(api, users["viewer"])
    edit(event, users["owner"], title="Last words")
    event_services.event_delete(event=event, actor=users["owner"])

    first = sync(api, users["viewer"], cursor, limit=1)
    second = sync(api, users["viewer"], first["cursor"], limit=1)

    # The update's page has nothing to show (the event is gone); the next page says why.
    assert (first["changes"], first["has_more"]) == ([], True)
    assert (second["changes"], second["has_more"]) == ([{"type": "deleted", "event_id": event.pk, "version": 3}], False)


def test_the_feed_pages_in_order_without_gaps_or_repeats(api, user):
    _, cursor = drain(api, user)
    events = [make_event(user, title=f"E{i}", start=BASE_TIME + timedelta(days=i)) for i in range(7)]

    pages = []
    while True:
        body = sync(api, user, cursor, limit=3)
        pages.append([c["event_id"] for c in body["changes"]])
        cursor = body["cursor"]
        if not body["has_more"]:
            break

    assert pages == [[e.pk for e in events[0:3]], [e.pk for e in events[3:6]], [events[6].pk]]


def test_page_size_is_an_alias_of_limit(api, user):
    _, cursor = drain(api, user)
    for i in range(3):
        make_event(user, title=f"E{i}", start=BASE_TIME + timedelta(days=i))

    body = sync(api, user, cursor, page_size=2)

    assert (len(body["changes"]), body["has_more"]) == (2, True)


def test_the_first_listing_pages_and_then_follows_with_the_feed(api, user):
    events = [make_event(user, title=f"E{i}", start=BASE_TIME + timedelta(days=i)) for i in range(5)]
    first = sync(api, user, limit=2)
    assert (summary(first["changes"]), first["has_more"]) == ([("created", e.pk) for e in events[:2]], True)

    # Changed while the listing is paged: listed by the feed afterwards, not twice.
    edit(events[3], user, title="Changed meanwhile")
    late = make_event(user, title="Late", start=BASE_TIME + timedelta(days=9))

    rest, cursor = drain(api, user, first["cursor"], limit=2)
    listed = [c["event_id"] for c in first["changes"] + rest]
    assert sorted(listed) == sorted(e.pk for e in events[:3] + events[4:])

    after, _ = drain(api, user, cursor)
    assert summary(after) == [("updated", events[3].pk), ("created", late.pk)]
    assert after[0]["event"]["title"] == "Changed meanwhile"


def test_an_event_changed_after_its_page_was_listed_comes_again_from_the_feed(api, user):
    events = [make_event(user, title=f"E{i}", start=BASE_TIME + timedelta(days=i)) for i in range(3)]
    first = sync(api, user, limit=2)
    edit(events[0], user, title="Changed after listing")

    rest, cursor = drain(api, user, first["cursor"], limit=2)
    after, _ = drain(api, user, cursor)

    assert [c["event_id"] for c in rest] == [events[2].pk]
    assert summary(after) == [("updated", events[0].pk)]


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "garbage",
        "x" * 600,
        signing.dumps({"u": 1, "p": 1}, salt="another-salt"),
        signing.dumps([1, 2], salt="notifications.sync-cursor"),
        signing.dumps({"u": "1", "p": 0}, salt="notifications.sync-cursor"),
    ],
    ids=["empty", "garbage", "too-long", "foreign-signature", "not-an-object", "bad-types"],
)
def test_an_invalid_cursor_is_410_saying_to_resync(api, user, cursor):
    assert_gone(api.as_user(user).get("/api/sync", {"cursor": cursor}))


def test_another_users_cursor_is_410(api, user, other_user):
    make_event(other_user)
    theirs = sync(api, other_user)["cursor"]

    assert_gone(api.as_user(user).get("/api/sync", {"cursor": theirs}))


def test_a_cursor_ahead_of_the_feed_is_410(api, user):
    make_event(user)
    ahead = cursors.encode(cursors.Cursor.at(user.pk, 99))

    assert_gone(api.as_user(user).get("/api/sync", {"cursor": ahead}))


def test_a_cursor_older_than_what_was_pruned_is_410(api, user):
    _, old = drain(api, user)
    make_event(user)
    _, recent = drain(api, user)
    SyncStream.objects.filter(user=user).update(pruned_through=1)

    assert_gone(api.as_user(user).get("/api/sync", {"cursor": old}))
    assert sync(api, user, recent)["changes"] == []


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 501}, {"limit": "x"}, {"page_size": -1}])
def test_a_bad_limit_is_400(api, user, params):
    response = api.as_user(user).get("/api/sync", params)

    assert response.status_code == 400
    assert response["Content-Type"].startswith(PROBLEM)


def test_sync_needs_a_token(api, db):
    response = api.get("/api/sync")

    assert response.status_code == 401
    assert response["WWW-Authenticate"]


def test_a_sync_page_costs_a_fixed_number_of_queries(api, user, django_assert_max_num_queries):
    _, cursor = drain(api, user)
    friends = UserFactory.create_batch(3)
    for i in range(30):
        event = make_event(user, title=f"E{i}", start=BASE_TIME + timedelta(days=i))
        sharing_services.event_share(
            event=event, actor=user, targets=[{"user_id": f.pk, "role": "viewer"} for f in friends]
        )
    client = api.as_user(user)

    with django_assert_max_num_queries(6):
        response = client.get("/api/sync", {"cursor": cursor, "limit": 100})
    assert len(response.json()["changes"]) == 30
    with django_assert_max_num_queries(6):
        response = client.get("/api/sync", {"limit": 100})
    assert len(response.json()["changes"]) == 30


def test_a_write_that_rolls_back_leaves_nothing_in_any_feed(event_with_roles, django_capture_on_commit_callbacks):
    event, users = event_with_roles
    before = database_state()

    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(RuntimeError), transaction.atomic():
        edit(event, users["editor"], title="Never")
        raise RuntimeError("rolled back")

    assert callbacks == []
    assert database_state() == before


def test_each_users_positions_are_consecutive(event_with_roles):
    event, users = event_with_roles
    for title in ("A", "B"):
        edit(event, users["owner"], title=title)
    sharing_services.permission_revoke(event=event, actor=users["owner"], user_id=users["viewer"].pk)

    for name in ("owner", "editor", "viewer"):
        positions = list(FeedEntry.objects.filter(user=users[name]).order_by("seq").values_list("seq", flat=True))
        assert positions == list(range(1, len(positions) + 1))
        assert SyncStream.objects.get(user=users[name]).seq == positions[-1]
