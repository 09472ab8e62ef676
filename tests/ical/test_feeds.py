"""Subscription feeds: a secret URL, computed from what the owner can see now, cheap to poll."""

import hashlib

import pytest
from icalendar import Calendar

from ical.models import Feed
from sharing import services as sharing_services
from tests.factories import UserFactory, make_event
from tests.helpers import assert_problem

pytestmark = pytest.mark.django_db


def _create(api, user, name="Work"):
    response = api.as_user(user).post("/api/feeds", {"name": name}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def _path(url: str) -> str:
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


def test_secret_is_long_shown_once_and_stored_hashed(api, user):
    body = _create(api, user)
    secret = body["url"].rsplit("/", 1)[1].removesuffix(".ics")
    assert len(secret) >= 22  # ≥ 128 bits in URL-safe base64 (we use 256)
    feed = Feed.objects.get(pk=body["id"])
    assert feed.secret_hash == hashlib.sha256(secret.encode()).hexdigest() and secret not in feed.secret_hash
    assert body["webcal_url"] == "webcal://" + body["url"].split("://", 1)[1]
    listed = api.as_user(user).get("/api/feeds").json()["results"]
    assert listed == [{"id": feed.pk, "name": "Work", "created_at": listed[0]["created_at"], "last_used_at": None}]


def test_feed_answers_what_the_owner_sees_now(api, user, other_user):
    mine = make_event(user, title="Mine")
    theirs = make_event(other_user, title="Theirs")
    sharing_services.event_share(event=theirs, actor=other_user, targets=[{"user_id": user.pk, "role": "viewer"}])
    path = _path(_create(api, user)["url"])
    anonymous = api.as_user(None)
    response = anonymous.get(path)
    assert response.status_code == 200 and response["Content-Type"].startswith("text/calendar")
    calendar = Calendar.from_ical(response.content)
    assert {str(e["UID"]) for e in calendar.walk("VEVENT")} == {mine.uid, theirs.uid}
    assert calendar["REFRESH-INTERVAL"].params["VALUE"] == "DURATION" and "X-PUBLISHED-TTL" in calendar
    assert Feed.objects.get().last_used_at is not None

    # Unshared: it leaves the feed at once.
    sharing_services.permission_revoke(event=theirs, actor=other_user, user_id=user.pk)
    calendar = Calendar.from_ical(anonymous.get(path).content)
    assert {str(e["UID"]) for e in calendar.walk("VEVENT")} == {mine.uid}


def test_etag_304_until_something_changes(api, user):
    event = make_event(user, title="Mine")
    path = _path(_create(api, user)["url"])
    client = api.as_user(None)
    first = client.get(path)
    tag = first["ETag"]
    again = client.get(path, HTTP_IF_NONE_MATCH=tag)
    assert again.status_code == 304 and again["ETag"] == tag and not again.content
    api.as_user(user).patch(f"/api/events/{event.pk}", {"title": "Renamed"}, format="json")
    changed = client.get(path, HTTP_IF_NONE_MATCH=tag)
    assert changed.status_code == 200 and b"SUMMARY:Renamed" in changed.content


def test_revoked_unknown_and_deactivated_feeds_are_404(api, user):
    body = _create(api, user)
    path = _path(body["url"])
    client = api.as_user(None)
    assert_problem(client.get(path.replace(".ics", "x.ics")), 404)
    user.is_active = False
    user.save()
    assert_problem(client.get(path), 404)
    user.is_active = True
    user.save()
    assert client.get(path).status_code == 200
    assert api.as_user(user).delete(f"/api/feeds/{body['id']}").status_code == 204
    assert_problem(client.get(path), 404)


def test_other_users_cannot_revoke(api, user):
    body = _create(api, user)
    stranger = UserFactory()
    assert_problem(api.as_user(stranger).delete(f"/api/feeds/{body['id']}"), 404)
    assert Feed.objects.filter(pk=body["id"]).exists()


def test_feed_is_rate_limited_per_feed(api, user, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "feed": "2/min"},
    }
    from common.throttling import FeedThrottle

    FeedThrottle.THROTTLE_RATES = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    try:
        path = _path(_create(api, user)["url"])
        other = _path(_create(api, user, "Other")["url"])
        client = api.as_user(None)
        assert [client.get(path).status_code for _ in range(3)] == [200, 200, 429]
        assert client.get(other).status_code == 200  # another feed has its own budget
    finally:
        from rest_framework.settings import api_settings

        FeedThrottle.THROTTLE_RATES = api_settings.DEFAULT_THROTTLE_RATES
