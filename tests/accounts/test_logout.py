"""POST /api/auth/logout: 204, then the calling access token and its session's refresh token answer 401."""

from datetime import timedelta

import pytest
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken
from rest_framework_simplejwt.tokens import RefreshToken, UntypedToken

from accounts.models import RevokedAccessToken
from history.models import AuditEntry
from tests.factories import PASSWORD, UserFactory
from tests.helpers import assert_problem, database_state

URL = "/api/auth/logout"


@pytest.fixture
def bob(db):
    return UserFactory(username="bob")


@pytest.fixture
def login(api):
    def log_in(user) -> dict:
        response = api.post("/api/auth/login", {"username": user.username, "password": PASSWORD})
        assert response.status_code == 200, response.content
        return response.json()

    return log_in


def call(api, method: str, path: str, access: str | None, data=None):
    api.credentials(**({"HTTP_AUTHORIZATION": f"Bearer {access}"} if access else {}))
    response = getattr(api, method)(path, data) if data is not None else getattr(api, method)(path)
    api.credentials()
    return response


def refresh(api, token: str):
    return api.post("/api/auth/refresh", {"refresh": token})


def jti_of(token: str) -> str:
    return UntypedToken(token, verify=False)["jti"]


def test_logout_without_a_body_ends_the_session(api, alice, login):
    session = login(alice)

    response = call(api, "post", URL, session["access"])

    assert response.status_code == 204, response.content
    assert response.content == b""
    for method, path in [("get", "/api/auth/me"), ("get", "/api/events"), ("post", URL)]:
        assert_problem(call(api, method, path, session["access"]), 401)
    assert_problem(refresh(api, session["refresh"]), 401)
    assert BlacklistedToken.objects.filter(token__user=alice).count() == 1


def test_logout_with_its_own_refresh_token_in_the_body(api, alice, login):
    session = login(alice)

    response = call(api, "post", URL, session["access"], {"refresh": session["refresh"]})

    assert response.status_code == 204, response.content
    assert_problem(call(api, "get", "/api/auth/me", session["access"]), 401)
    assert_problem(refresh(api, session["refresh"]), 401)


def test_logout_with_another_session_refresh_kills_that_one_too(api, alice, login):
    current, other, untouched = login(alice), login(alice), login(alice)

    response = call(api, "post", URL, current["access"], {"refresh": other["refresh"]})

    assert response.status_code == 204, response.content
    assert_problem(refresh(api, current["refresh"]), 401)
    assert_problem(refresh(api, other["refresh"]), 401)
    # Only what was named ends: a third session carries on.
    assert call(api, "get", "/api/auth/me", untouched["access"]).status_code == 200
    assert refresh(api, untouched["refresh"]).status_code == 200


def test_logout_ends_only_the_calling_session(api, alice, login):
    phone, laptop = login(alice), login(alice)

    assert call(api, "post", URL, phone["access"]).status_code == 204

    assert call(api, "get", "/api/auth/me", laptop["access"]).status_code == 200
    assert refresh(api, laptop["refresh"]).status_code == 200


def test_logout_without_a_token_is_401(api, alice, login):
    session = login(alice)
    before = database_state()

    response = api.post(URL, {"refresh": session["refresh"]})

    assert_problem(response, 401)
    assert database_state() == before
    assert refresh(api, session["refresh"]).status_code == 200


def test_logout_twice_is_401_the_second_time(api, alice, login):
    session = login(alice)
    assert call(api, "post", URL, session["access"]).status_code == 204
    before = database_state()

    response = call(api, "post", URL, session["access"])

    assert_problem(response, 401)
    assert database_state() == before


def test_logout_with_another_users_refresh_is_400_and_changes_nothing(api, alice, bob, login):
    mine, theirs = login(alice), login(bob)
    before = database_state()

    response = call(api, "post", URL, mine["access"], {"refresh": theirs["refresh"]})

    body = assert_problem(response, 400)
    assert body["type"] == "/problems/validation-error"
    assert list(body["errors"]) == ["refresh"]
    assert database_state() == before
    assert not AuditEntry.objects.filter(action="auth.logout").exists()
    # A refused logout leaves both sessions as they were, the caller's included.
    assert call(api, "get", "/api/auth/me", theirs["access"]).status_code == 200
    assert call(api, "get", "/api/auth/me", mine["access"]).status_code == 200
    assert refresh(api, theirs["refresh"]).status_code == 200
    assert refresh(api, mine["refresh"]).status_code == 200


def expired_refresh(user) -> str:
    token = RefreshToken.for_user(user)
    token.set_exp(lifetime=-timedelta(seconds=1))
    return str(token)


@pytest.mark.parametrize("kind", ["garbage", "access-token", "expired", "rotated", "logged-out", "foreign-expired"])
def test_logout_with_an_unusable_refresh_token_ignores_it_and_still_ends_the_session(api, alice, bob, login, kind):
    """A refresh token that can no longer be used is dead already: the caller's logout must not fail on it."""
    session, other = login(alice), login(alice)
    if kind == "garbage":
        stale = "garbage"
    elif kind == "access-token":
        stale = other["access"]
    elif kind == "expired":
        stale = expired_refresh(alice)
    elif kind == "rotated":
        stale = other["refresh"]
        assert refresh(api, stale).status_code == 200
    elif kind == "logged-out":
        stale = other["refresh"]
        assert call(api, "post", URL, other["access"]).status_code == 204
    else:  # another account's, but expired: nothing it could do any more, so no reason to refuse
        stale = expired_refresh(bob)
    blacklisted_before = set(BlacklistedToken.objects.values_list("token__jti", flat=True))

    response = call(api, "post", URL, session["access"], {"refresh": stale})

    assert response.status_code == 204, response.content
    assert_problem(call(api, "get", "/api/auth/me", session["access"]), 401)
    assert_problem(refresh(api, session["refresh"]), 401)
    # Only the caller's session ended: nothing else was blacklisted because of the ignored token.
    blacklisted_now = set(BlacklistedToken.objects.values_list("token__jti", flat=True))
    assert blacklisted_now - blacklisted_before == {jti_of(session["refresh"])}
    assert RevokedAccessToken.objects.filter(jti=jti_of(session["access"]), user=alice).exists()
    assert AuditEntry.objects.filter(action="auth.logout", actor=alice).exists()


def test_logout_with_a_stale_refresh_leaves_the_other_sessions_alone(api, alice, login):
    session, other = login(alice), login(alice)
    rotated = refresh(api, other["refresh"]).json()

    assert call(api, "post", URL, session["access"], {"refresh": other["refresh"]}).status_code == 204

    # The stale token named a session that lives on under its rotated pair: it is not touched.
    assert call(api, "get", "/api/auth/me", rotated["access"]).status_code == 200
    assert refresh(api, rotated["refresh"]).status_code == 200


@pytest.mark.parametrize("kind", ["no-token", "revoked-token"])
def test_a_401_from_logout_carries_a_bearer_challenge(api, alice, login, kind):
    """The contract: every 401 comes with a WWW-Authenticate header."""
    mine = login(alice)
    if kind == "revoked-token":
        assert call(api, "post", URL, mine["access"]).status_code == 204
    access = None if kind == "no-token" else mine["access"]

    response = call(api, "post", URL, access)

    assert_problem(response, 401)
    assert response.headers.get("WWW-Authenticate", "").startswith("Bearer"), dict(response.headers)


def test_logout_after_a_refresh_ends_the_rotated_session(api, alice, login):
    """The rotated pair is still one session: logging out with the new access token kills the new refresh token."""
    session = login(alice)
    rotated = refresh(api, session["refresh"]).json()

    assert call(api, "post", URL, rotated["access"]).status_code == 204

    assert_problem(refresh(api, rotated["refresh"]), 401)
    assert_problem(call(api, "get", "/api/auth/me", rotated["access"]), 401)
