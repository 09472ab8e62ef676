"""Schema fuzzing: every operation of our own OpenAPI schema, driven by schemathesis, in process.

The schema is the one `manage.py spectacular` writes (drf-spectacular's generator, in process).
Schemathesis generates requests for each operation (valid and invalid ones) and sends them to the
Django WSGI application with the test database, authenticated as a real user with real data
(tests/fuzz/world.py: events owned and shared with them, a series with exceptions, versions,
permissions, notifications). Path parameters name those objects most of the time.

Every response must pass every schemathesis check (`not_a_server_error`, `status_code_conformance`,
`content_type_conformance`, `response_schema_conformance`, `response_headers_conformance`,
`negative_data_rejection`, `positive_data_acceptance`, `ignored_auth`, `use_after_free`, ...).
Nothing is filtered out: a finding is fixed in the code or in the schema, never excluded.

Each generated request runs in its own savepoint that is rolled back afterwards (its after-commit
side effects run first), with a fresh access token: a logout, a refresh rotation, a delete or a
revoked share does not change what the next request sees, and no operation is left out.

Bounded and reproducible: a fixed seed, derandomized generation, no example database, and at most
FUZZ_MAX_EXAMPLES generated requests per operation in the fuzzing phase (default 10; the examples
and coverage phases add their own deterministic cases). A longer local run:

    FUZZ_MAX_EXAMPLES=200 .venv/bin/pytest tests/fuzz

FUZZ_SEED changes the seed. The number of operations, cases and requests is printed at the end of
the run (tests/fuzz/conftest.py).
"""

from __future__ import annotations

import os
import time
from contextlib import contextmanager

import hypothesis
import msgpack
import pytest
import schemathesis
from django.core.cache import cache
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, connection, transaction
from drf_spectacular.renderers import OpenApiJsonRenderer
from drf_spectacular.settings import spectacular_settings
from schemathesis.core.parameters import ParameterLocation

from common.msgpack import packb
from config.wsgi import application

from . import stats, world

MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "10"))
SEED = int(os.environ.get("FUZZ_SEED", "7"))


def _openapi_schema() -> dict:
    """The schema exactly as `manage.py spectacular` renders it (then parsed back from JSON)."""
    import json

    generator = spectacular_settings.DEFAULT_GENERATOR_CLASS()
    raw = generator.get_schema(request=None, public=True)
    return json.loads(OpenApiJsonRenderer().render(raw, renderer_context={}))


# What the auth provider puts in Authorization; the application sees a fresh access token instead.
SESSION_PLACEHOLDER = "Bearer fuzz-session"


class FuzzedApp:
    """The WSGI application, counting the requests it serves and giving each one a new session.

    Cases are generated (some at collection time) before the user exists, so they carry a placeholder;
    every request that carries it gets a new access token or (every other one) a new browser session with
    its CSRF token, so no request depends on another's session and both ways in are fuzzed.
    """

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        stats.requests += 1
        environ = dict(environ)  # the checks read the request as sent from it: change a copy
        # No cookie jar: a request is authenticated only as its case says (a session cookie that an earlier
        # answer set would let a check's request "without credentials" in).
        environ.pop("HTTP_COOKIE", None)
        if environ.get("HTTP_AUTHORIZATION") == SESSION_PLACEHOLDER and WORLD is not None:
            if stats.requests % 2:  # every other request comes in as a browser: a session cookie and the CSRF token
                del environ["HTTP_AUTHORIZATION"]
                environ.update(WORLD.browser_session())
                stats.session_requests += 1
            else:
                environ["HTTP_AUTHORIZATION"] = f"Bearer {WORLD.access_token()}"
        return self.app(environ, start_response)


config = schemathesis.Config.from_dict(
    {
        "seed": SEED,
        "generation": {
            "max-examples": MAX_EXAMPLES,
            "deterministic": True,
            "database": "none",
            "mode": "all",
            # Unknown query parameters and headers are ignored, as by any HTTP API: not invalid input.
            "allow-extra-parameters": False,
        },
        "phases": {"stateful": {"enabled": False}},
        "checks": {
            "enabled": True,
            # A request the schema allows may still break a rule no JSON schema can state: end after start, a
            # real IANA zone, a parseable RRULE (400), a stale If-Match (412), a cursor too old (410).
            "positive_data_acceptance": {
                "expected-statuses": ["2xx", "3xx", "400", "401", "403", "404", "409", "410", "412", "429"]
            },
        },
    }
)
schema = schemathesis.openapi.from_dict(_openapi_schema(), config=config)
schema.app = FuzzedApp(application)
stats.operations = len(list(schema.get_all_operations()))


def _packable(value):
    """MessagePack holds 64-bit integers: a larger generated one goes as a float (as a JSON parser reads it)."""
    if isinstance(value, dict):
        return {key: _packable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_packable(item) for item in value]
    if isinstance(value, int) and not isinstance(value, bool) and not -(2**63) <= value < 2**64:
        return float(value)
    return value


@schemathesis.serializer("application/msgpack", "application/x-msgpack")
def _msgpack_body(ctx, value):
    return packb(_packable(value))


@schemathesis.deserializer("application/msgpack", "application/x-msgpack")
def _msgpack_response(ctx, response):
    return msgpack.unpackb(response.content, raw=False)


WORLD: world.World | None = None


@schema.auth(refresh_interval=None)
class FreshAccessToken:
    """A new session per request: a logout or a revoked token in one request cannot starve the next."""

    def get(self, case, context):
        return SESSION_PLACEHOLDER

    def set(self, case, data, context):
        case.headers["Authorization"] = data


def _known_parts(case) -> dict[ParameterLocation, list]:
    """Values naming objects of the world, per part of the request, for this operation."""
    path = case.operation.path
    parts: dict[ParameterLocation, list] = {}
    if WORLD.path_parameters.get(path):
        parts[ParameterLocation.PATH] = WORLD.path_parameters[path]
    if isinstance(case.body, dict):
        if path in ("/api/auth/refresh/", "/api/auth/logout/"):
            parts[ParameterLocation.BODY] = [{**case.body, "refresh": token} for token in WORLD.refresh_tokens]
        elif path == "/api/auth/login/":
            parts[ParameterLocation.BODY] = [{"username": WORLD.user.username, "password": WORLD.password}]
    if path == "/api/sync/":
        parts[ParameterLocation.QUERY] = [{**(case.query or {}), "cursor": cursor} for cursor in WORLD.cursors]
    return parts


def _with(case, location: ParameterLocation, value):
    if location is ParameterLocation.PATH:
        case.path_parameters = dict(value)
    elif location is ParameterLocation.BODY:
        case.body = dict(value)
    else:
        case.query = dict(value)
    return case


@schema.hook
def flatmap_case(context, case):
    """Three times in four, a part generated as valid names real objects instead (a negative part is left alone)."""
    st = hypothesis.strategies
    if WORLD is None:
        return st.just(case)
    parts = {
        location: known
        for location, known in _known_parts(case).items()
        if case.meta is None or not case.meta.is_negative_at(location)
    }
    strategy = st.just(case)
    for location, known in parts.items():
        strategy = strategy.flatmap(
            lambda case, location=location, known=known: st.integers(0, 3).flatmap(
                lambda n: st.just(case) if n == 0 else st.sampled_from(known).map(lambda v: _with(case, location, v))
            )
        )
    return strategy


@pytest.fixture(scope="module")
def fuzz_world(django_db_setup, django_db_blocker):
    """The world, built once for the module in a transaction that is rolled back at its end."""
    global WORLD
    started = time.perf_counter()
    with django_db_blocker.unblock(), transaction.atomic():
        WORLD = world.build()
        try:
            yield WORLD
        finally:
            WORLD = None
            transaction.set_rollback(True)
            stats.seconds += time.perf_counter() - started


@pytest.fixture
def isolated(fuzz_world, db, django_capture_on_commit_callbacks):
    """Run one request in a savepoint rolled back afterwards (its after-commit callbacks run first).

    The WSGI handler would close the test's connection after each request (close_old_connections);
    Django's own test client disconnects it the same way.
    """
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)

    @contextmanager
    def run():
        cache.clear()  # throttle counters and cached answers of the previous request
        with transaction.atomic():
            with django_capture_on_commit_callbacks(execute=True):
                yield
            transaction.set_rollback(True)

    try:
        yield run
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@schema.parametrize()
@hypothesis.settings(deadline=None, suppress_health_check=list(hypothesis.HealthCheck))
def test_operation_conforms_to_schema(case, isolated):
    stats.cases += 1
    with isolated():
        case.call_and_validate()
    assert not connection.needs_rollback
