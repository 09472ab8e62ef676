"""HTTP plumbing: paths with and without a trailing slash, security headers, X-Request-ID."""

import re

import pytest

from events.models import Event
from tests.factories import PASSWORD


def assert_not_redirected(response) -> None:
    assert response.status_code not in (301, 302, 303, 307, 308), response.status_code
    assert "Location" not in response.headers or response.status_code == 201


@pytest.mark.parametrize(
    "path",
    [
        "/api/events",
        "/api/events/{id}",
        "/api/events/{id}/permissions",
        "/api/events/{id}/occurrences?start=2030-01-01T00:00:00Z&end=2030-02-01T00:00:00Z",
        "/api/auth/me",
        "/api/schema",
        "/api/schema/swagger-ui",
        "/api/schema/redoc",
    ],
)
def test_reads_answer_with_and_without_a_trailing_slash(api, me, event, path):
    api.as_user(me)
    path = path.format(id=event.pk)
    bare, _, query = path.partition("?")
    suffix = f"?{query}" if query else ""

    without = api.get(bare + suffix)
    with_slash = api.get(bare + "/" + suffix)

    for response in (without, with_slash):
        assert_not_redirected(response)
        assert response.status_code == 200, (response.request["PATH_INFO"], response.content[:300])
    if without["Content-Type"] == "application/json":
        assert without.json() == with_slash.json()


@pytest.mark.parametrize("slash", ["", "/"])
def test_login_with_and_without_a_trailing_slash(api, alice, slash):
    response = api.post(f"/api/auth/login{slash}", {"username": "alice", "password": PASSWORD})

    assert_not_redirected(response)
    assert response.status_code == 200, response.content
    assert response.json()["user"]["id"] == alice.pk


@pytest.mark.parametrize("slash", ["", "/"])
def test_register_with_and_without_a_trailing_slash(api, db, slash):
    response = api.post(
        f"/api/auth/register{slash}", {"username": "grace", "email": "grace@example.com", "password": PASSWORD}
    )

    assert_not_redirected(response)
    assert response.status_code == 201, response.content


@pytest.mark.parametrize("slash", ["", "/"])
def test_create_with_and_without_a_trailing_slash(api, alice, slash):
    before = Event.objects.count()

    response = api.as_user(alice).post(
        f"/api/events{slash}",
        {"title": "Standup", "start_time": "2031-03-03T09:00:00Z", "end_time": "2031-03-03T09:15:00Z"},
    )

    assert_not_redirected(response)
    assert response.status_code == 201, response.content
    assert Event.objects.count() == before + 1


@pytest.mark.parametrize("slash", ["", "/"])
def test_writes_to_one_event_with_and_without_a_trailing_slash(api, me, event, slash):
    api.as_user(me)

    patched = api.patch(f"/api/events/{event.pk}{slash}", {"title": f"Renamed{slash}"})
    assert_not_redirected(patched)
    assert patched.status_code == 200, patched.content
    event.refresh_from_db()
    assert event.title == f"Renamed{slash}"

    deleted = api.delete(f"/api/events/{event.pk}{slash}")
    assert_not_redirected(deleted)
    assert deleted.status_code == 204
    assert api.get(f"/api/events/{event.pk}").status_code == 404


@pytest.mark.parametrize("slash", ["", "/"])
def test_logout_and_refresh_with_and_without_a_trailing_slash(api, alice, slash):
    session = api.post("/api/auth/login", {"username": "alice", "password": PASSWORD}).json()

    refreshed = api.post(f"/api/auth/refresh{slash}", {"refresh": session["refresh"]})
    assert_not_redirected(refreshed)
    assert refreshed.status_code == 200

    api.credentials(HTTP_AUTHORIZATION=f"Bearer {refreshed.json()['access']}")
    logged_out = api.post(f"/api/auth/logout{slash}")
    assert_not_redirected(logged_out)
    assert logged_out.status_code == 204


def test_a_double_slash_is_not_a_route(api, alice):
    response = api.as_user(alice).get("/api/events//")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"


@pytest.mark.parametrize(
    "method, path, authenticated",
    [
        ("get", "/api/events", True),
        ("get", "/api/events", False),
        ("get", "/api/events/999999", True),
        ("get", "/api/nope", False),
        ("post", "/api/auth/login", False),
        ("get", "/api/schema/swagger-ui", False),
        ("get", "/api/schema?format=json", False),
    ],
)
def test_security_headers_on_every_answer(api, alice, method, path, authenticated):
    if authenticated:
        api.as_user(alice)

    response = getattr(api, method)(path)

    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] in ("DENY", "SAMEORIGIN")
    assert response["Referrer-Policy"] in (
        "same-origin",
        "no-referrer",
        "strict-origin-when-cross-origin",
        "strict-origin",
    )


def test_no_session_or_csrf_cookie_is_set_by_the_api(api, alice):
    """Bearer tokens only: a cookie would make the API open to CSRF."""
    login = api.post("/api/auth/login", {"username": "alice", "password": PASSWORD})
    me = api.as_user(alice).get("/api/auth/me")

    assert login.status_code == 200 and me.status_code == 200
    assert dict(login.cookies) == {}
    assert dict(me.cookies) == {}


@pytest.mark.parametrize("request_id", ["abc-123", "0f8fad5b-d9cb-469f-a165-70867728950e", "req.1:2_3"])
def test_a_sane_x_request_id_is_echoed(api, alice, request_id):
    response = api.as_user(alice).get("/api/auth/me", HTTP_X_REQUEST_ID=request_id)

    assert response.status_code == 200
    assert response["X-Request-ID"] == request_id


@pytest.mark.parametrize("path", ["/api/auth/me", "/api/events/999999", "/api/nope"])
def test_an_x_request_id_is_made_when_none_is_sent(api, db, path):
    first, second = api.get(path), api.get(path)

    assert re.fullmatch(r"[A-Za-z0-9._:-]{8,128}", first["X-Request-ID"])
    assert first["X-Request-ID"] != second["X-Request-ID"]


@pytest.mark.parametrize("request_id", ["", "x" * 129, "bad id with spaces", "<script>", "a\tb", "é"])
def test_an_unsafe_x_request_id_is_replaced(api, db, request_id):
    response = api.get("/api/auth/me", HTTP_X_REQUEST_ID=request_id)

    assert response["X-Request-ID"] != request_id
    assert re.fullmatch(r"[A-Za-z0-9._:-]{8,128}", response["X-Request-ID"])


def test_the_request_id_is_on_error_answers_too(api, db):
    response = api.post("/api/events", "{", content_type="application/json", HTTP_X_REQUEST_ID="trace-42")

    assert response.status_code == 401
    assert response["X-Request-ID"] == "trace-42"


def test_a_413_carries_the_request_id(api, alice):
    response = api.as_user(alice).post(
        "/api/events", {"title": "x" * (1024 * 1024 + 10)}, format="json", HTTP_X_REQUEST_ID="trace-413"
    )

    assert response.status_code == 413
    assert response["X-Request-ID"] == "trace-413"
