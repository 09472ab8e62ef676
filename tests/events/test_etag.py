"""ETag, If-None-Match, If-Match and base_version on single-event endpoints."""

from __future__ import annotations

from datetime import timedelta

import pytest

from events.models import Event
from sharing import services as sharing_services
from tests.factories import BASE_TIME, UserFactory
from tests.helpers import assert_problem, database_state

pytestmark = pytest.mark.django_db


def etag_of(client, event) -> str:
    response = client.get(f"/api/events/{event.pk}")
    assert response.status_code == 200
    return response["ETag"]


def test_every_single_event_answer_carries_an_etag(api, me, event):
    client = api.as_user(me)
    created = client.post(
        "/api/events",
        {
            "title": "New",
            "start_time": (BASE_TIME + timedelta(days=1)).isoformat(),
            "end_time": (BASE_TIME + timedelta(days=1, hours=1)).isoformat(),
        },
    )
    read = client.get(f"/api/events/{event.pk}")
    put = client.put(f"/api/events/{event.pk}", {"title": "Put"})
    patch = client.patch(f"/api/events/{event.pk}", {"title": "Patch"})

    assert [r.status_code for r in (created, read, put, patch)] == [201, 200, 200, 200]
    for response in (created, read, put, patch):
        tag = response["ETag"]
        assert tag.startswith(('"', 'W/"')) and tag.endswith('"'), tag
    assert len({read["ETag"], put["ETag"], patch["ETag"]}) == 3


def test_the_etag_is_stable_while_nothing_changes(api, me, event):
    client = api.as_user(me)

    assert etag_of(client, event) == etag_of(client, event)


@pytest.mark.parametrize("role", ["owner", "editor", "viewer"])
def test_if_none_match_with_the_current_etag_is_a_304(api, event_with_roles, role):
    event, users = event_with_roles
    client = api.as_user(users[role])
    tag = etag_of(client, event)

    response = client.get(f"/api/events/{event.pk}", HTTP_IF_NONE_MATCH=tag)

    assert response.status_code == 304
    assert response.content == b""
    assert response["ETag"] == tag


def test_if_none_match_with_another_etag_answers_the_event(api, me, event):
    response = api.as_user(me).get(f"/api/events/{event.pk}", HTTP_IF_NONE_MATCH='"999-0000"')

    assert response.status_code == 200
    assert response.json()["id"] == event.pk


def test_after_an_update_the_old_etag_no_longer_304s(api, me, event):
    client = api.as_user(me)
    old = etag_of(client, event)
    assert client.patch(f"/api/events/{event.pk}", {"title": "Changed"}).status_code == 200

    response = client.get(f"/api/events/{event.pk}", HTTP_IF_NONE_MATCH=old)

    assert response.status_code == 200
    assert response.json()["title"] == "Changed"
    assert response["ETag"] != old


def test_after_a_share_the_etag_changes_though_the_version_does_not(api, me, event):
    client = api.as_user(me)
    old = etag_of(client, event)
    newcomer = UserFactory()

    shared = client.post(f"/api/events/{event.pk}/share", {"users": [{"user_id": newcomer.pk, "role": "viewer"}]})
    assert shared.status_code == 200, shared.content

    response = client.get(f"/api/events/{event.pk}", HTTP_IF_NONE_MATCH=old)
    assert response.status_code == 200
    assert response.json()["version"] == 1
    assert newcomer.pk in [p["user"]["id"] for p in response.json()["permissions"]]
    assert response["ETag"] != old


def test_a_permission_change_by_service_also_changes_the_etag(api, event_with_roles):
    event, users = event_with_roles
    client = api.as_user(users["viewer"])
    old = etag_of(client, event)

    sharing_services.permission_set_role(event=event, actor=users["owner"], user_id=users["editor"].pk, role="viewer")

    assert client.get(f"/api/events/{event.pk}", HTTP_IF_NONE_MATCH=old).status_code == 200


WRITES = [
    ("put", {"title": "Mine"}),
    ("patch", {"title": "Mine"}),
    ("delete", None),
]


@pytest.mark.parametrize("method, body", WRITES, ids=[w[0] for w in WRITES])
def test_a_stale_if_match_is_a_412_with_current_version_and_changes_nothing(api, me, event, method, body):
    client = api.as_user(me)
    stale = etag_of(client, event)
    assert client.patch(f"/api/events/{event.pk}", {"title": "Someone else's"}).status_code == 200
    before = database_state()

    response = getattr(client, method)(f"/api/events/{event.pk}", body, HTTP_IF_MATCH=stale)

    problem = assert_problem(response, 412)
    assert problem["current_version"] == 2
    assert database_state() == before


@pytest.mark.parametrize("tag", ['"0"', '"7-abcdef"', "garbage", 'W/"5-00"'])
def test_an_if_match_naming_no_current_version_is_a_412(api, me, event, tag):
    client = api.as_user(me)
    before = database_state()

    response = client.patch(f"/api/events/{event.pk}", {"title": "x"}, HTTP_IF_MATCH=tag)

    assert assert_problem(response, 412)["current_version"] == 1
    assert database_state() == before


@pytest.mark.parametrize("method, body", WRITES, ids=[w[0] for w in WRITES])
def test_a_current_if_match_lets_the_write_through(api, me, event, method, body):
    client = api.as_user(me)
    tag = etag_of(client, event)

    response = getattr(client, method)(f"/api/events/{event.pk}", body, HTTP_IF_MATCH=tag)

    if method == "delete":
        assert response.status_code == 204
        assert not Event.objects.alive().filter(pk=event.pk).exists()
    else:
        assert response.status_code == 200, response.content
        assert (response.json()["title"], response.json()["version"]) == ("Mine", 2)
        assert Event.objects.get(pk=event.pk).title == "Mine"


def test_the_etag_of_a_write_answer_works_as_the_next_if_match(api, me, event):
    client = api.as_user(me)
    first = client.patch(f"/api/events/{event.pk}", {"title": "One"}, HTTP_IF_MATCH=etag_of(client, event))
    assert first.status_code == 200

    second = client.patch(f"/api/events/{event.pk}", {"title": "Two"}, HTTP_IF_MATCH=first["ETag"])

    assert second.status_code == 200, second.content
    assert second.json()["version"] == 3


def test_if_match_star_lets_the_write_through(api, me, event):
    response = api.as_user(me).patch(f"/api/events/{event.pk}", {"title": "Any"}, HTTP_IF_MATCH="*")

    assert response.status_code == 200
    assert response.json()["version"] == 2


@pytest.mark.parametrize("method", ["put", "patch"])
def test_a_stale_base_version_is_a_412_and_changes_nothing(api, me, event, method):
    client = api.as_user(me)
    assert client.patch(f"/api/events/{event.pk}", {"title": "Someone else's"}).status_code == 200
    before = database_state()

    response = getattr(client, method)(f"/api/events/{event.pk}", {"title": "Mine", "base_version": 1})

    assert assert_problem(response, 412)["current_version"] == 2
    assert database_state() == before


@pytest.mark.parametrize("method", ["put", "patch"])
def test_a_current_base_version_lets_the_write_through(api, me, event, method):
    response = getattr(api.as_user(me), method)(f"/api/events/{event.pk}", {"title": "Mine", "base_version": 1})

    assert response.status_code == 200, response.content
    assert response.json()["version"] == 2
    assert Event.history.filter(id=event.pk, version=2, title="Mine").exists()


# --- the occurrences list and scope=following answers


def occurrences_url(event) -> str:
    return f"/api/events/{event.pk}/occurrences?limit=5"


def test_the_occurrences_list_carries_an_etag_starting_with_the_event_version(api, me, series):
    client = api.as_user(me)

    response = client.get(occurrences_url(series))

    assert response.status_code == 200
    tag = response["ETag"]
    assert tag.startswith(f'"{series.version}-') and tag.endswith('"'), tag
    assert client.get(occurrences_url(series))["ETag"] == tag  # stable while nothing changes
    # Another window is another representation, so another tag.
    assert client.get(f"/api/events/{series.pk}/occurrences?limit=2")["ETag"] != tag


@pytest.mark.parametrize("role", ["owner", "viewer"])
def test_the_occurrences_list_answers_304_while_the_event_is_unchanged(api, event_with_roles, role):
    event, users = event_with_roles
    client = api.as_user(users[role])
    tag = client.get(occurrences_url(event))["ETag"]

    response = client.get(occurrences_url(event), HTTP_IF_NONE_MATCH=tag)

    assert response.status_code == 304
    assert response.content == b""
    assert response["ETag"] == tag


def test_after_an_update_the_old_occurrences_etag_no_longer_304s(api, me, series):
    client = api.as_user(me)
    old = client.get(occurrences_url(series))["ETag"]
    assert client.patch(f"/api/events/{series.pk}", {"title": "Renamed"}).status_code == 200

    response = client.get(occurrences_url(series), HTTP_IF_NONE_MATCH=old)

    assert response.status_code == 200
    assert response.json()["results"][0]["title"] == "Renamed"
    assert response["ETag"] != old
    assert response["ETag"].startswith(f'"{series.version + 1}-')


def test_the_occurrences_etag_works_as_an_if_match(api, me, series):
    client = api.as_user(me)
    tag = client.get(occurrences_url(series))["ETag"]

    assert client.patch(f"/api/events/{series.pk}", {"title": "One"}, HTTP_IF_MATCH=tag).status_code == 200
    stale = client.patch(f"/api/events/{series.pk}", {"title": "Two"}, HTTP_IF_MATCH=tag)
    assert_problem(stale, 412)


def split_url(event, at) -> str:
    return f"/api/events/{event.pk}?scope=following&occurrence={at.isoformat().replace('+', '%2B')}"


def test_a_scope_following_answer_carries_the_etag_of_the_series_it_updated(api, me, series):
    client = api.as_user(me)

    response = client.patch(split_url(series, BASE_TIME + timedelta(weeks=3)), {"title": "Later"})

    assert response.status_code == 200, response.content
    updated = response.json()["updated"]
    assert updated["id"] == series.pk
    assert response["ETag"].startswith(f'"{updated["version"]}-')
    # It is the series' current tag: the next write with it as If-Match goes through.
    again = client.patch(f"/api/events/{series.pk}", {"title": "Earlier"}, HTTP_IF_MATCH=response["ETag"])
    assert again.status_code == 200, again.content


def test_a_scope_following_at_the_first_occurrence_carries_the_etag_too(api, me, series):
    client = api.as_user(me)

    response = client.patch(split_url(series, BASE_TIME), {"title": "All of it"})

    assert response.status_code == 200, response.content
    assert response.json()["created"] is None
    assert response["ETag"].startswith(f'"{response.json()["updated"]["version"]}-')
    stale = client.patch(f"/api/events/{series.pk}", {"title": "x"}, HTTP_IF_MATCH=f'"{series.version}-0"')
    assert_problem(stale, 412)
    assert client.patch(f"/api/events/{series.pk}", {"title": "y"}, HTTP_IF_MATCH=response["ETag"]).status_code == 200
