"""The fixtures every test folder shares: one set of users, one event and series, the API client.

Helpers (the API client class, problem and "nothing changed" checks) are in tests/helpers.py; fixtures
only here.
"""

import time

import pytest
from django.conf import settings
from django.core.cache import cache, caches
from django.db import connection
from rest_framework.throttling import SimpleRateThrottle

from events.representation import forget_shown_rows
from sharing import services as sharing_services
from sharing.roles import Role

from .factories import PASSWORD, UserFactory, make_event
from .helpers import Client


def pytest_collection_modifyitems(config, items):
    """Tests marked `postgres` are skipped unless the database is PostgreSQL, and tests marked `redis`
    unless the cache and channel layer are on Redis (REDIS_URL): they test what only those do."""
    missing = {}
    if connection.vendor != "postgresql":
        missing["postgres"] = pytest.mark.skip(reason=f"needs PostgreSQL (the database is {connection.vendor})")
    if "channels_redis" not in settings.CHANNEL_LAYERS["default"]["BACKEND"]:
        missing["redis"] = pytest.mark.skip(reason="needs Redis (REDIS_URL)")
    for item in items:
        for marker, skip in missing.items():
            if item.get_closest_marker(marker):
                item.add_marker(skip)


@pytest.fixture(autouse=True)
def _clean_cache():
    # Throttle counters and cached answers live in the cache (Redis in CI's second run). CalDAV's texts are
    # cached by event id and version, and SQLite reuses the ids of a rolled-back test.
    cache.clear()
    caches["calendar_data"].clear()
    forget_shown_rows()  # the calendar's rows each process remembers (events/representation.py): from nothing
    yield
    cache.clear()
    caches["calendar_data"].clear()


@pytest.fixture(autouse=True)
def _throttle_clock(monkeypatch):
    """Rate limits count in fixed windows (a minute for n/min): a test counting up to a limit must not see
    its window end halfway (once in a few hundred runs it would). Each test runs at one instant of the
    throttles' clock, 30 s into an hour (so into a window of any period); tests of a window's end set it."""
    instant = time.time() // 3600 * 3600 + 30
    monkeypatch.setattr(SimpleRateThrottle, "timer", staticmethod(lambda: instant))


@pytest.fixture
def password():
    return PASSWORD


@pytest.fixture
def api():
    """The API through DRF's test client, with no credentials until `.as_user(user)`."""
    return Client()


@pytest.fixture
def me(db):
    """The caller of most API tests."""
    return UserFactory(username="me")


@pytest.fixture
def client(api, me):
    """The API as `me`. It takes the place of pytest-django's Django test client: `api` is one too
    (`api.force_login(user)` for the pages that take a session)."""
    return api.as_user(me)


@pytest.fixture
def alice(db):
    """Someone else with a known name, e-mail (alice@example.com) and password: logins and enumeration."""
    return UserFactory(username="alice")


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def other_user(db):
    return UserFactory()


@pytest.fixture
def event(me):
    """My one-off event on Monday 2030-01-07 09:00-10:00 UTC, at version 1, every text field filled."""
    return make_event(me, title="Planning", location="Room 1", description="Agenda")


@pytest.fixture
def series(me):
    """My weekly series, Mondays 09:00-10:00 UTC, 6 times from 2030-01-07."""
    return make_event(me, title="Weekly", recurrence={"rrule": "FREQ=WEEKLY;COUNT=6", "exdates": [], "rdates": []})


@pytest.fixture
def event_with_roles(db):
    """An event with an owner, an editor and a viewer, plus a stranger and a user to share with.

    users["anonymous"] is None: `api.as_user(None)` sends no credentials.
    """
    users = {name: UserFactory(username=name) for name in ("owner", "editor", "viewer", "stranger", "new")}
    event = make_event(users["owner"], title="Planning")
    sharing_services.event_share(
        event=event,
        actor=users["owner"],
        targets=[
            {"user_id": users["editor"].pk, "role": Role.EDITOR},
            {"user_id": users["viewer"].pk, "role": Role.VIEWER},
        ],
    )
    users["anonymous"] = None
    return event, users


@pytest.fixture
def rates(settings, monkeypatch):
    """`rates(login="2/min", ...)` lowers those throttle rates for one test.

    DRF binds SimpleRateThrottle.THROTTLE_RATES to the settings dict at import, so overriding the
    setting alone changes nothing; the class attribute is patched too (and restored by monkeypatch).
    """

    def lower(**overrides: str) -> None:
        new = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], **overrides}
        settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": new}
        monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", new)

    return lower
