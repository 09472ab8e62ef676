"""Rate limits: RateLimit-* headers on every API answer, 429 + Retry-After past the limit, tight auth limits."""

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from rest_framework.throttling import SimpleRateThrottle

from common.throttling import UserThrottle
from tests.factories import PASSWORD, UserFactory, make_event
from tests.helpers import database_state

User = get_user_model()

LOGIN = "/api/auth/login"


def limits(response) -> tuple[int, int, int]:
    """(limit, remaining, reset) from the RateLimit-* headers, which must all be there."""
    for name in ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"):
        assert name in response.headers, (response.status_code, dict(response.headers))
    return tuple(int(response[name]) for name in ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"))


def assert_429(response) -> dict:
    assert response.status_code == 429, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == 429
    assert body["type"] and body["title"] and body["detail"]
    retry_after = int(response["Retry-After"])
    assert 1 <= retry_after <= 60
    assert limits(response)[1] == 0
    return body


def test_the_rates_fixture_really_lowers_the_limit(api, alice, rates):
    rates(user="7/min")

    assert limits(api.as_user(alice).get("/api/auth/me"))[0] == 7


def test_rates_are_the_generous_test_rates_unless_lowered(api, alice):
    """Guards the fixture's isolation: a lowered rate never leaks into the next test."""
    assert limits(api.as_user(alice).get("/api/auth/me"))[0] == 100000


@pytest.mark.parametrize(
    "method, path, authenticated, status",
    [
        ("get", "/api/auth/me", True, 200),
        ("get", "/api/events", True, 200),
        ("get", "/api/events/{id}", True, 200),
        ("post", "/api/events", True, 201),
        ("post", "/api/events", True, 400),
        ("get", "/api/events/999999999", True, 404),
        ("get", "/api/events/abc", True, 404),
        ("get", "/api/events/{id}/permissions", True, 200),
        ("put", "/api/events", True, 405),
        ("get", "/api/auth/me", False, 401),
        ("get", "/api/events", False, 401),
        ("get", "/api/events/{id}", False, 401),
        ("post", "/api/auth/logout", False, 401),
        ("post", LOGIN, False, 200),
        ("post", LOGIN, False, 401),
        ("post", LOGIN, False, 400),
        ("post", "/api/auth/register", False, 201),
        ("post", "/api/auth/refresh", False, 401),
    ],
)
def test_every_api_answer_carries_ratelimit_headers(api, alice, method, path, authenticated, status):
    event = make_event(alice)
    bodies = {
        ("post", "/api/events", 201): {
            "title": "Standup",
            "start_time": "2031-03-03T09:00:00Z",
            "end_time": "2031-03-03T09:15:00Z",
        },
        ("post", "/api/events", 400): {"title": ""},
        ("post", LOGIN, 200): {"username": "alice", "password": PASSWORD},
        ("post", LOGIN, 401): {"username": "alice", "password": "wrong-password-1"},
        ("post", LOGIN, 400): {"username": "alice"},
        ("post", "/api/auth/register", 201): {"username": "grace", "email": "g@example.com", "password": PASSWORD},
        ("post", "/api/auth/refresh", 401): {"refresh": "garbage"},
    }
    if authenticated:
        api.as_user(alice)
    url = path.format(id=event.pk)
    data = bodies.get((method, path, status))

    response = getattr(api, method)(url, data) if data is not None else getattr(api, method)(url)

    assert response.status_code == status, response.content
    limit, remaining, reset = limits(response)
    assert limit > 0
    assert 0 <= remaining < limit
    assert 0 <= reset <= 60


def test_remaining_counts_down_to_a_429(api, alice, rates):
    rates(user="3/min")
    api.as_user(alice)

    answers = [api.get("/api/auth/me") for _ in range(3)]

    assert [r.status_code for r in answers] == [200, 200, 200]
    assert [limits(r)[:2] for r in answers] == [(3, 2), (3, 1), (3, 0)]
    assert_429(api.get("/api/auth/me"))


def test_a_throttled_write_changes_nothing(api, alice, rates):
    rates(user="1/min")
    api.as_user(alice)
    assert api.get("/api/events").status_code == 200
    before = database_state()

    response = api.post(
        "/api/events", {"title": "Late", "start_time": "2031-03-03T09:00:00Z", "end_time": "2031-03-03T10:00:00Z"}
    )

    assert_429(response)
    assert database_state() == before


def test_requests_with_no_token_are_throttled_too(api, db, rates):
    """Refusals count: a flood of unauthenticated requests ends in 429, not endless 401s."""
    rates(anon="2/min")

    first, second, third = (api.get("/api/events") for _ in range(3))

    assert (first.status_code, second.status_code) == (401, 401)
    assert (limits(first)[1], limits(second)[1]) == (1, 0)
    assert_429(third)


def test_requests_with_bad_tokens_are_throttled_too(api, db, rates):
    rates(anon="2/min")
    api.credentials(HTTP_AUTHORIZATION="Bearer garbage")

    answers = [api.get("/api/auth/me") for _ in range(3)]

    assert [r.status_code for r in answers[:2]] == [401, 401]
    assert_429(answers[2])


def test_users_are_counted_apart(api, alice, rates):
    rates(user="1/min")
    bob = UserFactory()
    assert api.as_user(alice).get("/api/auth/me").status_code == 200
    assert_429(api.as_user(alice).get("/api/auth/me"))

    assert api.as_user(bob).get("/api/auth/me").status_code == 200


def test_login_is_limited_per_username_across_ips(api, alice, rates):
    rates(auth_username="3/min", auth_ip="1000/min")
    names = ["alice", "ALICE", "Alice"]  # one account however it is spelled
    for index, name in enumerate(names):
        response = api.post(LOGIN, {"username": name, "password": "wrong-guess-1"}, REMOTE_ADDR=f"10.0.0.{index}")
        assert response.status_code == 401, response.content
    before = database_state()

    # Even the right password, from yet another address, waits.
    blocked = api.post(LOGIN, {"username": "alice", "password": PASSWORD}, REMOTE_ADDR="10.0.0.99")

    body = assert_429(blocked)
    assert "access" not in body
    assert database_state() == before
    # Another account from the same address is not affected.
    UserFactory(username="bob")
    assert api.post(LOGIN, {"username": "bob", "password": PASSWORD}, REMOTE_ADDR="10.0.0.99").status_code == 200


def test_login_is_limited_per_ip_across_usernames(api, alice, rates):
    rates(auth_ip="3/min", auth_username="1000/min")
    for name in ["mallory1", "mallory2", "mallory3"]:
        response = api.post(LOGIN, {"username": name, "password": "guess-123"}, REMOTE_ADDR="192.0.2.7")
        assert response.status_code == 401, response.content

    assert_429(api.post(LOGIN, {"username": "alice", "password": PASSWORD}, REMOTE_ADDR="192.0.2.7"))

    # Another address may still log in.
    assert api.post(LOGIN, {"username": "alice", "password": PASSWORD}, REMOTE_ADDR="192.0.2.8").status_code == 200


def test_the_ip_limit_cannot_be_dodged_with_a_forged_x_forwarded_for(api, alice, rates):
    """With no trusted proxy configured, X-Forwarded-For is the client's to write; the limit must ignore it."""
    rates(auth_ip="2/min", auth_username="1000/min")
    answers = [
        api.post(
            LOGIN,
            {"username": f"mallory{n}", "password": "guess-123"},
            REMOTE_ADDR="192.0.2.7",
            HTTP_X_FORWARDED_FOR=f"198.51.100.{n}",
        )
        for n in range(3)
    ]

    assert [r.status_code for r in answers[:2]] == [401, 401]
    assert_429(answers[2])


def test_auth_limits_are_tighter_than_the_api_limits():
    """The production rates (test settings raise them all): auth endpoints allow fewer requests than the rest."""
    from config.settings import base

    production = base.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]

    def per_minute(rate: str) -> float:
        count, period = rate.split("/")
        return int(count) * 60 / {"s": 1, "m": 60, "h": 3600, "d": 86400}[period[0]]

    assert per_minute(production["auth_ip"]) < per_minute(production["anon"])
    assert per_minute(production["auth_username"]) < per_minute(production["anon"])


def test_register_is_under_the_auth_limits(api, db, rates):
    rates(auth_ip="1/min")
    first = api.post("/api/auth/register", {"username": "grace", "email": "g@example.com", "password": PASSWORD})
    assert first.status_code == 201, first.content
    before = database_state()

    second = api.post("/api/auth/register", {"username": "hedy", "email": "h@example.com", "password": PASSWORD})

    assert_429(second)
    assert database_state() == before
    assert not User.objects.filter(username="hedy").exists()


def test_refresh_is_under_the_auth_limits(api, alice, rates):
    rates(auth_ip="2/min")
    session = api.post(LOGIN, {"username": "alice", "password": PASSWORD}).json()
    rotated = api.post("/api/auth/refresh", {"refresh": session["refresh"]})
    assert rotated.status_code == 200, rotated.content
    before = database_state()

    blocked = api.post("/api/auth/refresh", {"refresh": rotated.json()["refresh"]})

    body = assert_429(blocked)
    assert "refresh" not in body
    assert database_state() == before


@pytest.fixture
def clock(monkeypatch):
    """The throttles' clock, set by the test: `clock.now = t`."""

    class Clock:
        now = 0.0

    monkeypatch.setattr(SimpleRateThrottle, "timer", staticmethod(lambda: Clock.now))
    return Clock


def test_a_window_refuses_past_its_limit_until_it_ends_then_counts_again(api, alice, rates, clock):
    rates(user="3/min")
    api.as_user(alice)
    clock.now = 6_000_000_010.5  # 49.5 s before the minute's window ends

    answers = [api.get("/api/auth/me") for _ in range(3)]
    clock.now += 30
    refused = api.get("/api/auth/me")

    assert [limits(r) for r in answers] == [(3, 2, 50), (3, 1, 50), (3, 0, 50)]
    assert_429(refused)
    assert (refused["Retry-After"], refused["RateLimit-Reset"]) == ("20", "20")  # the window's end, not later
    clock.now += 19.5  # the next window: the count starts again
    assert limits(api.get("/api/auth/me")) == (3, 2, 60)


def test_the_state_kept_per_caller_is_one_counter_whatever_the_number_of_requests(api, alice, clock):
    """Bounded cost: each request adds one to a counter; nothing grows with the requests of the window
    (DRF's throttle kept, read and rewrote the list of all their times: 1,200 per request at 1200/min)."""
    clock.now = 6_000_000_000.0
    api.as_user(alice)
    for _ in range(150):
        assert api.get("/api/auth/me").status_code == 200

    key = UserThrottle().cache_format % {"scope": "user", "ident": alice.pk}
    assert cache.get(key) is None  # no list of request times
    assert cache.get(f"{key}:{int(clock.now // 60)}") == 150


@pytest.mark.parametrize("authenticated", [True, False])
@pytest.mark.parametrize("unacceptable", [{"HTTP_ACCEPT": "text/csv"}, {"QUERY_STRING": "format=csv"}])
def test_an_unknown_path_is_a_404_problem_with_ratelimit_headers_whatever_the_accept(
    api, alice, rates, authenticated, unacceptable
):
    rates(user="2/min", anon="2/min")
    if authenticated:
        api.as_user(alice)

    answers = [api.get("/api/no-such-thing", **unacceptable) for _ in range(3)]

    assert [a.status_code for a in answers[:2]] == [404, 404]
    assert all(a["Content-Type"] == "application/problem+json" for a in answers)
    assert [limits(a)[:2] for a in answers[:2]] == [(2, 1), (2, 0)]
    assert_429(answers[2])  # counted like any request


@pytest.mark.parametrize(
    "token, path",
    [("alice", "/api/events"), ("alice", "/api/auth/me"), (None, "/api/events"), ("garbage", "/api/auth/me")],
)
def test_a_406_carries_the_ratelimit_headers_and_counts(api, alice, rates, token, path):
    rates(user="2/min", anon="2/min")
    if token == "alice":
        api.as_user(alice)
    elif token:
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")

    answers = [api.get(path, HTTP_ACCEPT="text/csv") for _ in range(3)]

    assert [a.status_code for a in answers[:2]] == [406, 406]
    assert [limits(a)[:2] for a in answers[:2]] == [(2, 1), (2, 0)]
    assert_429(answers[2])
    if token == "alice":  # counted as alice, not as her address: her next JSON request is refused too
        assert api.get(path).status_code == 429
