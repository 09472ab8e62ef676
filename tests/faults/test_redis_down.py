"""Redis down: the API keeps serving, the cache and the rate limits fail open (logged), and every
change still reaches the feeds and notifications, so clients catch up from `GET /api/sync`.

The cache and the channel layer are the production ones (`redis_cache`, `redis_channel_layer` from
the settings) pointed at a Redis that is not there: a closed port (connections refused), or a port
that accepts connections and never answers (a hung Redis or a network that drops the replies).
Real commits (transactional tests), so the after-commit WebSocket send runs inside the request.
"""

from __future__ import annotations

import logging
import socket
import time
from datetime import timedelta

import pytest
from rest_framework.throttling import SimpleRateThrottle

from notifications.models import FeedEntry, Notification
from tests.factories import BASE_TIME, UserFactory
from tests.faults.dead_redis import live_send_errors, redis_at, redis_errors

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("never_hang")]

# A dead Redis must cost a request little: refused connections fail at once; a silent one costs the
# first cache call its 1 s socket timeout and the first live send its 3 s bound, then both are skipped
# for a few seconds (common.redis_breaker, notifications.live.LIVE_SEND_PAUSE).
REFUSED_BUDGET = 1.5
SILENT_BUDGET = 5.0


@pytest.fixture
def refused_url():
    """A Redis URL on a port nobody listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"redis://127.0.0.1:{port}/0"


@pytest.fixture
def silent_url():
    """A Redis URL whose port accepts connections (the kernel completes them) and never answers."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    yield f"redis://127.0.0.1:{sock.getsockname()[1]}/0"
    sock.close()


@pytest.fixture
def low_user_rate(settings, monkeypatch):
    """2 requests a minute per user (DRF binds the rates at import: the class attribute is patched too)."""
    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "user": "2/min"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", rates)


def event_body(title: str, days: int = 3) -> dict:
    start = BASE_TIME + timedelta(days=days)
    return {"title": title, "start_time": start.isoformat(), "end_time": (start + timedelta(hours=1)).isoformat()}


def timed(call, *args, **kwargs):
    started = time.monotonic()
    response = call(*args, **kwargs)
    return response, time.monotonic() - started


def crud_and_share(api, owner, editor, budget: float) -> tuple[int, str]:
    """Create, list, read, update and share one event with Redis down: every answer 2xx within `budget`."""
    client = api.as_user(owner)
    answers = []
    created, took = timed(client.post, "/api/events", event_body("Standup"), format="json")
    answers.append(("create", created, took))
    event_id = created.json()["id"]
    answers.append(("list", *timed(client.get, "/api/events")))
    answers.append(("detail", *timed(client.get, f"/api/events/{event_id}")))
    answers.append(("update", *timed(client.patch, f"/api/events/{event_id}", {"title": "Standup v2"}, format="json")))
    answers.append(
        (
            "share",
            *timed(
                client.post,
                f"/api/events/{event_id}/share",
                {"users": [{"user_id": editor.pk, "role": "editor"}]},
                format="json",
            ),
        )
    )
    answers.append(("update shared", *timed(client.patch, f"/api/events/{event_id}", {"location": "Room 2"})))
    for name, response, took in answers:
        assert 200 <= response.status_code < 300, (name, response.status_code, response.content)
        assert took < budget, (name, took)
    assert client.get(f"/api/events/{event_id}").json()["title"] == "Standup v2"  # never a stale cached answer
    return event_id, created.json()["title"]


@pytest.mark.parametrize("which", ["refused", "silent"])
def test_the_api_serves_and_the_feed_catches_up_with_redis_down(api, caplog, which, request):
    """Every write succeeds and is in the editor's feed and notifications; the live send's failure is logged."""
    url = request.getfixturevalue(f"{which}_url")
    owner, editor = UserFactory(username="owner"), UserFactory(username="editor")
    caplog.set_level(logging.WARNING)
    with redis_at(url):
        start_cursor = api.as_user(editor).get("/api/sync").json()["cursor"]
        event_id, _ = crud_and_share(api, owner, editor, REFUSED_BUDGET if which == "refused" else SILENT_BUDGET)

        # The editor's other device catches up: the event is new to them (shared), as it is after the update.
        caught_up = api.as_user(editor).get("/api/sync", {"cursor": start_cursor})
        assert caught_up.status_code == 200, caught_up.content
        changes = caught_up.json()["changes"]
        assert [(c["type"], c["event_id"]) for c in changes] == [("created", event_id)]
        assert changes[0]["event"]["location"] == "Room 2"
        assert changes[0]["event"]["title"] == "Standup v2"
        notifications = api.as_user(editor).get("/api/notifications")
        assert notifications.status_code == 200
        assert notifications.json()["count"] == 2

    assert FeedEntry.objects.filter(user=editor, event_id=event_id).count() == 2
    assert Notification.objects.filter(recipient=editor, event_id=event_id).count() == 2
    assert redis_errors(caplog), "the cache's Redis errors are logged"
    # Two changes reached the editor: the share and the update; each one's live send failed and said so.
    assert len(live_send_errors(caplog)) == 2, [r.getMessage() for r in caplog.records]


def test_rate_limits_fail_open_when_redis_is_down(api, caplog, refused_url, low_user_rate):
    """With 2 requests a minute allowed, a working cache refuses the 3rd; a dead one lets all through, logged."""
    user = UserFactory()
    client = api.as_user(user)
    assert [client.get("/api/events").status_code for _ in range(3)] == [200, 200, 429]  # the limit is real

    caplog.set_level(logging.WARNING)
    with redis_at(refused_url):
        answers = [client.get("/api/events") for _ in range(5)]
    assert [a.status_code for a in answers] == [200] * 5
    assert all(a["RateLimit-Limit"] == "2" for a in answers)
    # Logged once: the failure that tripped the breaker; the cache calls skipped after it add no traceback.
    assert len(redis_errors(caplog)) == 1
    assert next(r.getMessage() for r in caplog.records if r.name == "common.redis_breaker").startswith("Redis at")


def test_a_dead_redis_is_noticed_fast(api, refused_url, silent_url):
    """A refused connection costs milliseconds; a silent Redis the socket timeouts, never an open-ended wait."""
    user = UserFactory()
    client = api.as_user(user)
    client.get("/api/events")  # warm-up: imports, URL resolver, schema-free path
    with redis_at(refused_url):
        response, refused = timed(client.get, "/api/events")
        assert response.status_code == 200
    with redis_at(silent_url):
        response, silent = timed(client.get, "/api/events")
        assert response.status_code == 200
        # The cache's Redis is now skipped for a while: the next request does not wait for it at all.
        response, skipped = timed(client.get, "/api/events")
        assert response.status_code == 200
    assert refused < REFUSED_BUDGET
    assert 1.0 <= silent < 3.0  # one 1 s socket timeout, then the breaker
    assert skipped < 0.9  # less than one socket timeout: Redis was not waited for
