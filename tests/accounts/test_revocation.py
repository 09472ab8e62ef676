"""The access-token denylist is a table: a logged-out token stays dead whatever happens to the cache."""

from datetime import UTC, datetime, timedelta
from io import StringIO

from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework_simplejwt.tokens import AccessToken

from accounts.models import RevokedAccessToken
from accounts.tokens import access_token_revoked, tokens_for
from tests.factories import PASSWORD
from tests.helpers import assert_problem


def bearer(api, access: str):
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return api


def log_in(api, user) -> dict:
    response = api.post("/api/auth/login", {"username": user.username, "password": PASSWORD})
    assert response.status_code == 200, response.content
    return response.json()


def test_logout_writes_the_token_to_the_denylist_table(api, alice):
    session = log_in(api, alice)
    access = AccessToken(session["access"])

    assert bearer(api, session["access"]).post("/api/auth/logout").status_code == 204

    row = RevokedAccessToken.objects.get(jti=access["jti"])
    assert row.user == alice
    assert row.expires_at == datetime.fromtimestamp(access["exp"], tz=UTC)
    assert access_token_revoked(access)


def test_a_logged_out_token_stays_dead_when_the_cache_is_lost(api, alice):
    """What a Redis outage or flush looks like to the service: the cache knows nothing."""
    session = log_in(api, alice)
    assert bearer(api, session["access"]).post("/api/auth/logout").status_code == 204

    cache.clear()

    assert_problem(bearer(api, session["access"]).get("/api/auth/me"), 401)
    assert_problem(bearer(api, session["access"]).get("/api/events"), 401)


def test_other_tokens_of_the_account_are_not_revoked(api, alice):
    phone, laptop = log_in(api, alice), log_in(api, alice)

    assert bearer(api, phone["access"]).post("/api/auth/logout").status_code == 204

    assert bearer(api, laptop["access"]).get("/api/auth/me").status_code == 200
    assert not access_token_revoked(AccessToken(laptop["access"]))


def test_authentication_reads_the_user_and_the_denylist_in_one_query(api, alice):
    """No query more per request than loading the user: the revocation check rides along."""
    bearer(api, tokens_for(alice)["access"])

    with CaptureQueriesContext(connection) as captured:
        response = api.get("/api/auth/me")

    assert response.status_code == 200
    assert len(captured) == 1, [q["sql"] for q in captured]
    assert RevokedAccessToken._meta.db_table in captured[0]["sql"]


def test_a_revoked_token_of_a_deleted_user_goes_with_the_user(api, alice):
    session = log_in(api, alice)
    assert bearer(api, session["access"]).post("/api/auth/logout").status_code == 204

    alice.delete()

    assert not RevokedAccessToken.objects.exists()


def test_prune_deletes_only_the_rows_of_expired_tokens(alice):
    now = datetime.now(UTC)
    RevokedAccessToken.objects.create(jti="old", user=alice, expires_at=now - timedelta(seconds=1))
    RevokedAccessToken.objects.create(jti="live", user=alice, expires_at=now + timedelta(minutes=10))
    out = StringIO()

    call_command("prune_revoked_tokens", stdout=out)

    assert list(RevokedAccessToken.objects.values_list("jti", flat=True)) == ["live"]
    assert "Deleted 1 " in out.getvalue()


def test_pruning_never_revives_a_live_logged_out_token(api, alice):
    session = log_in(api, alice)
    assert bearer(api, session["access"]).post("/api/auth/logout").status_code == 204

    call_command("prune_revoked_tokens", stdout=StringIO())

    assert_problem(bearer(api, session["access"]).get("/api/auth/me"), 401)
