"""POST /api/auth/refresh: rotation gives a new pair and kills the refresh token that was sent."""

from datetime import UTC, datetime, timedelta

import pytest
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from tests.factories import PASSWORD
from tests.helpers import assert_problem, database_state

URL = "/api/auth/refresh"


@pytest.fixture
def session(api, alice):
    """A real login's {access, refresh, user}."""
    response = api.post("/api/auth/login", {"username": "alice", "password": PASSWORD})
    assert response.status_code == 200, response.content
    return response.json()


def me(api, access: str):
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    response = api.get("/api/auth/me")
    api.credentials()
    return response


def test_refresh_gives_a_new_pair_and_kills_the_old_refresh_token(api, alice, session):
    response = api.post(URL, {"refresh": session["refresh"]})

    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/json"
    pair = response.json()
    assert set(pair) == {"access", "refresh"}
    assert pair["refresh"] != session["refresh"]
    assert pair["access"] != session["access"]
    old_jti = RefreshToken(session["refresh"], verify=False)["jti"]
    new_jti = RefreshToken(pair["refresh"], verify=False)["jti"]
    assert list(BlacklistedToken.objects.values_list("token__jti", flat=True)) == [old_jti]
    assert OutstandingToken.objects.filter(jti=new_jti, user=alice).exists()

    assert me(api, pair["access"]).json()["id"] == alice.pk

    replay = api.post(URL, {"refresh": session["refresh"]})
    assert_problem(replay, 401)

    again = api.post(URL, {"refresh": pair["refresh"]})
    assert again.status_code == 200, again.content
    assert me(api, again.json()["access"]).status_code == 200


def test_a_replayed_refresh_token_issues_nothing(api, session):
    assert api.post(URL, {"refresh": session["refresh"]}).status_code == 200
    before = database_state()

    response = api.post(URL, {"refresh": session["refresh"]})

    body = assert_problem(response, 401)
    assert "access" not in body and "refresh" not in body
    assert database_state() == before


def test_an_access_token_is_not_a_refresh_token(api, session):
    before = database_state()

    response = api.post(URL, {"refresh": session["access"]})

    assert_problem(response, 401)
    assert database_state() == before
    assert api.post(URL, {"refresh": session["refresh"]}).status_code == 200  # the session is unharmed


@pytest.mark.parametrize("refresh", ["garbage", "a.b.c", "eyJhbGciOiJIUzI1NiJ9.e30.", "x" * 4000])
def test_a_garbage_refresh_token_is_401(api, session, refresh):
    before = database_state()

    response = api.post(URL, {"refresh": refresh})

    assert_problem(response, 401)
    assert database_state() == before


def test_an_expired_refresh_token_is_401(api, alice):
    token = RefreshToken.for_user(alice)
    token.set_exp(from_time=datetime.now(UTC) - timedelta(days=30))
    before = database_state()

    response = api.post(URL, {"refresh": str(token)})

    assert_problem(response, 401)
    assert database_state() == before


def test_the_refresh_token_of_a_deactivated_user_is_401(api, alice, session):
    alice.is_active = False
    alice.save()
    before = database_state()

    response = api.post(URL, {"refresh": session["refresh"]})

    assert_problem(response, 401)
    assert database_state() == before


def test_the_refresh_token_of_a_deleted_user_is_401(api, alice, session):
    alice.delete()
    before = database_state()

    response = api.post(URL, {"refresh": session["refresh"]})

    assert_problem(response, 401)
    assert database_state() == before


@pytest.mark.parametrize(
    "data, named",
    [({}, "refresh"), ({"refresh": ""}, "refresh"), ({"refresh": "r" * 4097}, "refresh"), ({"token": "x"}, "token")],
)
def test_a_missing_or_oversized_refresh_field_is_400(api, data, named):
    response = api.post(URL, data)

    assert_problem(response, 400)
    assert named in response.json()["errors"]


def test_refresh_needs_no_access_token(api, session):
    """A client whose access token has expired must still be able to refresh."""
    api.credentials(HTTP_AUTHORIZATION="Bearer expired-or-garbage")

    response = api.post(URL, {"refresh": session["refresh"]})

    assert response.status_code == 200, response.content


@pytest.mark.parametrize("kind", ["garbage", "replayed", "access-token"])
def test_a_refused_refresh_carries_a_bearer_challenge(api, session, kind):
    """The contract: every 401 comes with a WWW-Authenticate header."""
    if kind == "replayed":
        assert api.post(URL, {"refresh": session["refresh"]}).status_code == 200
    token = {"garbage": "garbage", "replayed": session["refresh"], "access-token": session["access"]}[kind]

    response = api.post(URL, {"refresh": token})

    assert_problem(response, 401)
    assert response.headers.get("WWW-Authenticate", "").startswith("Bearer"), dict(response.headers)
