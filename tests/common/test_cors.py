"""CORS: an allowed origin may call the API from a browser (preflight included); any other may not."""

import pytest

from tests.factories import PASSWORD

ALLOWED = "https://app.example.com"
OTHER = "https://evil.example.net"


@pytest.fixture(autouse=True)
def allowed_origin(settings):
    settings.CORS_ALLOWED_ORIGINS = [ALLOWED]


def preflight(api, path: str, origin: str, method: str = "POST", headers: str = "authorization, content-type"):
    return api.options(
        path,
        HTTP_ORIGIN=origin,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD=method,
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS=headers,
    )


@pytest.mark.parametrize("path", ["/api/events", "/api/events/1", "/api/auth/login", "/api/auth/refresh"])
def test_a_preflight_from_an_allowed_origin_is_granted(api, db, path):
    response = preflight(api, path, ALLOWED)

    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == ALLOWED
    allowed_headers = {h.strip().lower() for h in response["Access-Control-Allow-Headers"].split(",")}
    assert {"authorization", "content-type", "if-match", "idempotency-key"} <= allowed_headers
    allowed_methods = {m.strip() for m in response["Access-Control-Allow-Methods"].split(",")}
    assert {"GET", "POST", "PUT", "PATCH", "DELETE"} <= allowed_methods


@pytest.mark.parametrize("origin", [OTHER, "https://app.example.com.evil.net", "http://app.example.com", "null"])
def test_a_preflight_from_another_origin_is_not_granted(api, db, origin):
    response = preflight(api, "/api/events", origin)

    assert "Access-Control-Allow-Origin" not in response.headers
    assert "Access-Control-Allow-Credentials" not in response.headers


def test_a_cross_origin_call_exposes_the_contract_headers(api, alice):
    response = api.as_user(alice).get("/api/auth/me", HTTP_ORIGIN=ALLOWED)

    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == ALLOWED
    exposed = {h.strip().lower() for h in response["Access-Control-Expose-Headers"].split(",")}
    assert {
        "etag",
        "retry-after",
        "ratelimit-limit",
        "ratelimit-remaining",
        "ratelimit-reset",
        "x-request-id",
    } <= exposed


def test_a_cross_origin_error_is_readable_by_the_allowed_origin(api, db):
    """A browser client must be able to read a 401 problem to know it should log in again."""
    response = api.get("/api/events", HTTP_ORIGIN=ALLOWED)

    assert response.status_code == 401
    assert response["Access-Control-Allow-Origin"] == ALLOWED


def test_a_call_from_another_origin_gets_no_cors_grant(api, alice):
    response = api.post("/api/auth/login", {"username": "alice", "password": PASSWORD}, HTTP_ORIGIN=OTHER)

    assert "Access-Control-Allow-Origin" not in response.headers


def test_no_origin_is_allowed_by_default(api, db, settings):
    settings.CORS_ALLOWED_ORIGINS = []

    response = preflight(api, "/api/events", ALLOWED)

    assert "Access-Control-Allow-Origin" not in response.headers
