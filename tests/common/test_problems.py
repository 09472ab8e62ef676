"""RFC 9457 problem details for every kind of error; bad input is never a 500 and changes nothing."""

import json

import msgpack
import pytest
from django.contrib.auth import get_user_model

from tests.factories import PASSWORD
from tests.helpers import assert_problem, database_state

User = get_user_model()

EVENT = {"title": "Standup", "start_time": "2031-03-03T09:00:00Z", "end_time": "2031-03-03T09:15:00Z"}


# --- 400


def test_validation_errors_map_each_field_to_its_messages(client):
    before = database_state()

    response = client.post("/api/events", {"title": "", "start_time": "tomorrow", "timezone": "Mars/Olympus"})

    body = assert_problem(response, 400)
    errors = body["errors"]
    assert isinstance(errors, dict)
    assert {"title", "start_time", "end_time", "timezone"} <= set(errors)
    for messages in errors.values():
        assert isinstance(messages, list) and messages and all(isinstance(m, str) for m in messages)
    assert database_state() == before


def test_a_validation_problem_is_distinct_from_a_malformed_body(client):
    invalid = assert_problem(client.post("/api/events", {"title": ""}), 400)
    malformed = assert_problem(client.post("/api/events", "{", content_type="application/json"), 400)

    assert invalid["type"] != malformed["type"]
    assert "errors" not in malformed


@pytest.mark.parametrize(
    "raw",
    [
        b'{"title": ',
        b"{'title': 'single quotes'}",
        b'{"title": "x",}',
        b'{"title": NaN, "start_time": "2031-03-03T09:00:00Z", "end_time": "2031-03-03T10:00:00Z"}',
        b'{"title": Infinity}',
        b'{"title": "\xff\xfe"}',
        b"\x00\x01\x02",
        b"[" * 100_000,
        b'{"a":' * 100_000,
    ],
    ids=[
        "truncated",
        "single-quotes",
        "trailing-comma",
        "nan",
        "infinity",
        "bad-utf8",
        "binary",
        "deep-array",
        "deep-object",
    ],
)
def test_malformed_json_is_400(client, raw):
    before = database_state()

    response = client.post("/api/events", raw, content_type="application/json")

    body = assert_problem(response, 400)
    assert body["type"] == "/problems/malformed-request"
    assert database_state() == before


@pytest.mark.parametrize("raw", [b"[" * 100_000, b'{"username": "alice", "password": '])
def test_malformed_json_on_an_auth_endpoint_is_reported_as_such(api, alice, raw):
    """Not as a validation error about missing fields the client did send."""
    response = api.post("/api/auth/login", raw, content_type="application/json")

    body = assert_problem(response, 400)
    assert body["type"] == "/problems/malformed-request"


@pytest.mark.parametrize(
    "raw",
    [
        b"\xc1",  # a byte MessagePack never uses
        msgpack.packb(EVENT)[:-3],  # truncated
        msgpack.packb(EVENT) + b"\x01",  # trailing data
        msgpack.packb({1: "int key", "title": "x"}),
        b"\x81\x91\x01\xa1x",  # a map whose key is an array
        b"\xdd\xff\xff\xff\xff",  # an array header claiming 4 billion items
        b"\x91" * 100_000 + b"\xc0",  # nested far too deep
        b"\xd6\xff\x00",  # a timestamp extension with too few bytes
    ],
    ids=[
        "never-used-byte",
        "truncated",
        "trailing-data",
        "int-key",
        "array-key",
        "huge-array",
        "deep",
        "bad-timestamp",
    ],
)
@pytest.mark.parametrize("media_type", ["application/msgpack", "application/x-msgpack"])
def test_malformed_messagepack_is_400(client, raw, media_type):
    before = database_state()

    response = client.post("/api/events", raw, content_type=media_type)

    body = assert_problem(response, 400)
    assert body["type"] == "/problems/malformed-request"
    assert database_state() == before


@pytest.mark.parametrize("raw", [b"[]", b'"a string"', b"42", b"null", b'[{"title": "x"}]'])
def test_a_body_that_is_not_an_object_is_400(client, raw):
    before = database_state()

    response = client.post("/api/events", raw, content_type="application/json")

    body = assert_problem(response, 400)
    assert isinstance(body["errors"], dict)
    assert database_state() == before


@pytest.mark.parametrize(
    "field, value",
    [
        ("title", "t" * 201),
        ("title", ["a", "list"]),
        ("title", {"an": "object"}),
        ("title", "nul\x00byte"),
        ("start_time", "2031-02-30T09:00:00Z"),
        ("start_time", "99999-01-01T00:00:00Z"),
        ("start_time", 1e308),
        ("timezone", "../../etc/passwd"),
        ("timezone", "x" * 65),
        ("base_version", 0),
        ("base_version", "seven"),
        ("is_all_day", "maybe"),
        ("recurrence_pattern", 42),
        ("recurrence_pattern", "FREQ=SOMETIMES"),
    ],
)
def test_bad_field_values_are_400_not_500(client, field, value):
    before = database_state()

    response = client.post("/api/events", {**EVENT, field: value}, format="json")

    body = assert_problem(response, 400)
    assert field in body["errors"], body
    assert database_state() == before


# --- 401, 403


def test_401_is_a_problem_with_a_bearer_challenge(api, event):
    response = api.get(f"/api/events/{event.pk}")

    body = assert_problem(response, 401)
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert "Planning" not in response.content.decode()
    assert body["type"] != "about:blank"


def test_403_is_a_problem_and_changes_nothing(api, event_with_roles):
    event, users = event_with_roles
    client = api.as_user(users["viewer"])
    before = database_state()

    response = client.delete(f"/api/events/{event.pk}")

    assert_problem(response, 403)
    assert database_state() == before


# --- 404


@pytest.mark.parametrize(
    "event_id",
    ["999999", "abc", "-1", "0", "99999999999999999999999", "1.5", "1e3", "%20", "null", "9223372036854775808"],
)
def test_an_unknown_or_malformed_event_id_is_404(client, event_id):
    response = client.get(f"/api/events/{event_id}")

    body = assert_problem(response, 404)
    assert body["type"] == "/problems/not-found"


@pytest.mark.parametrize("event_id", ["abc", "-1", "99999999999999999999999"])
@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_writes_to_a_malformed_id_are_404(client, event, method, event_id):
    before = database_state()

    body = {"change_reason": "x"} if method == "delete" else {"title": "x"}  # a member each method takes
    response = getattr(client, method)(f"/api/events/{event_id}", body)

    assert_problem(response, 404)
    assert database_state() == before


def test_a_strangers_event_and_a_missing_one_answer_the_same(api, event_with_roles):
    event, users = event_with_roles
    stranger = api.as_user(users["stranger"])

    hidden = stranger.get(f"/api/events/{event.pk}")
    missing = stranger.get(f"/api/events/{event.pk + 100_000}")

    assert assert_problem(hidden, 404) == assert_problem(missing, 404)
    assert "Planning" not in hidden.content.decode()


@pytest.mark.parametrize("path", ["/api/nope", "/api/nope/", "/api/events/1/nope", "/api/auth", "/api/"])
@pytest.mark.parametrize("authenticated", [True, False])
def test_an_unknown_url_under_api_is_a_404_problem(api, alice, path, authenticated):
    if authenticated:
        api.as_user(alice)

    body = assert_problem(api.get(path), 404)
    assert body["type"] == "/problems/not-found"


# --- 405, 406


@pytest.mark.parametrize(
    "method, path, allowed, refused",
    [
        ("put", "/api/events", {"GET", "POST"}, "PUT"),
        ("delete", "/api/events", {"GET", "POST"}, "DELETE"),
        ("post", "/api/events/{id}", {"GET", "PUT", "PATCH", "DELETE"}, "POST"),
        ("delete", "/api/auth/me", {"GET"}, "DELETE"),
        ("get", "/api/auth/login", {"POST"}, "GET"),
        ("get", "/api/auth/register", {"POST"}, "GET"),
        ("put", "/api/auth/logout", {"POST"}, "PUT"),
    ],
)
def test_405_is_a_problem_with_an_allow_header(client, event, method, path, allowed, refused):
    before = database_state()

    response = getattr(client, method)(path.format(id=event.pk))

    assert_problem(response, 405)
    allow = {m.strip() for m in response["Allow"].split(",")}
    assert allowed <= allow
    assert refused not in allow
    assert database_state() == before


@pytest.mark.parametrize("accept", ["text/csv", "application/xml", "image/png"])
def test_an_unacceptable_accept_is_406(client, event, accept):
    response = client.get(f"/api/events/{event.pk}", HTTP_ACCEPT=accept)

    assert_problem(response, 406)


def test_406_on_a_write_changes_nothing(client):
    before = database_state()

    response = client.post("/api/events", EVENT, format="json", HTTP_ACCEPT="text/csv")

    assert_problem(response, 406)
    assert database_state() == before


# --- 413, 415


def test_a_body_over_1_mb_is_413_and_creates_nothing(client):
    before = database_state()

    response = client.post("/api/events", {**EVENT, "description": "d" * (1024 * 1024 + 1)}, format="json")

    assert_problem(response, 413)
    assert database_state() == before


def test_a_messagepack_body_over_1_mb_is_413(client):
    before = database_state()

    response = client.post(
        "/api/events", msgpack.packb({**EVENT, "description": "d" * (1024 * 1024)}), content_type="application/msgpack"
    )

    assert_problem(response, 413)
    assert database_state() == before


def test_an_oversized_registration_creates_no_user(api, db):
    before = database_state()

    response = api.post(
        "/api/auth/register",
        {"username": "grace", "email": "grace@example.com", "password": PASSWORD, "padding": "p" * (2 * 1024 * 1024)},
        format="json",
    )

    assert_problem(response, 413)
    assert database_state() == before


def test_a_body_just_under_the_limit_is_not_413(client):
    body = json.dumps(EVENT) + " " * (1024 * 1024 - 500)  # JSON's own white space: no member the API does not take
    response = client.post("/api/events", body, content_type="application/json")

    assert response.status_code == 201, response.content[:300]


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/xml", "multipart/form-data; boundary=x", "application/octet-stream"]
)
def test_an_unsupported_content_type_is_415(client, content_type):
    before = database_state()

    response = client.post("/api/events", b"title=Standup", content_type=content_type)

    assert_problem(response, 415)
    assert database_state() == before


def test_415_on_an_auth_endpoint(api, alice):
    response = api.post("/api/auth/login", b"username=alice&password=x", content_type="text/plain")

    assert_problem(response, 415)


@pytest.mark.parametrize("declared", ["2000000", "999999999999999999999"])
def test_a_declared_content_length_over_the_limit_is_413(client, declared):
    before = database_state()

    response = client.post("/api/events", EVENT, format="json", CONTENT_LENGTH=declared)

    assert_problem(response, 413)
    assert database_state() == before


@pytest.mark.parametrize("declared", ["abc", "-1", "1.5"])
def test_a_nonsense_content_length_is_400(client, declared):
    before = database_state()

    response = client.post("/api/events", EVENT, format="json", CONTENT_LENGTH=declared)

    assert_problem(response, 400)
    assert database_state() == before


@pytest.mark.parametrize("host", ["evil.example.com", "bad host", "testserver.evil.example.com"])
def test_a_disallowed_host_is_a_400_problem(api, db, host):
    response = api.get("/api/events", HTTP_HOST=host)

    assert_problem(response, 400)


# --- 429


def test_429_is_a_problem_with_retry_after(api, alice, settings, monkeypatch):
    from rest_framework.throttling import SimpleRateThrottle

    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "user": "1/min"}
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", rates)  # bound at import; the setting alone is ignored
    api.as_user(alice)
    assert api.get("/api/auth/me").status_code == 200

    response = api.get("/api/auth/me")

    body = assert_problem(response, 429)
    assert body["type"] == "/problems/rate-limited"
    assert int(response["Retry-After"]) >= 1
