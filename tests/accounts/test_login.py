"""POST /api/auth/login: by username or email, in any case; failures never tell which accounts exist."""

import msgpack
import pytest
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

from history.models import AuditEntry
from tests.factories import PASSWORD, UserFactory
from tests.helpers import assert_problem, changed_tables, database_state

URL = "/api/auth/login"


def assert_only_the_failure_is_audited(before: dict) -> None:
    """A refused login changes nothing (no session, no token) but the audit trail: one auth.login_failed row."""
    after = database_state()
    audit = AuditEntry._meta.db_table
    assert changed_tables(before, after) == {audit}
    assert len(after[audit]) == len(before[audit]) + 1
    assert AuditEntry.objects.latest("pk").action == "auth.login_failed"


def assert_session_for(api, response, user) -> None:
    """A 200 login answer for `user` whose access token works."""
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"access", "refresh", "user"}
    assert body["user"] == {"id": user.pk, "username": user.username, "email": user.email}
    assert PASSWORD not in response.content.decode()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {body['access']}")
    me = api.get("/api/auth/me")
    api.credentials()
    assert me.status_code == 200
    assert me.json()["id"] == user.pk


@pytest.mark.parametrize(
    "credentials",
    [
        {"username": "alice"},
        {"username": "ALICE"},
        {"username": "aLiCe"},
        {"username": "alice@example.com"},
        {"username": "Alice@Example.COM"},
        {"email": "alice@example.com"},
        {"email": "ALICE@EXAMPLE.COM"},
    ],
    ids=["username", "username-upper", "username-mixed", "email-in-username", "email-mixed", "email", "email-upper"],
)
def test_login_by_username_or_email_in_any_case(api, alice, credentials):
    before = OutstandingToken.objects.filter(user=alice).count()

    response = api.post(URL, {**credentials, "password": PASSWORD})

    assert_session_for(api, response, alice)
    assert OutstandingToken.objects.filter(user=alice).count() == before + 1


def test_each_login_opens_a_new_session(api, alice):
    first = api.post(URL, {"username": "alice", "password": PASSWORD}).json()
    second = api.post(URL, {"username": "alice", "password": PASSWORD}).json()

    assert first["refresh"] != second["refresh"]
    assert first["access"] != second["access"]


def test_a_stale_authorization_header_does_not_stop_a_login(api, alice):
    api.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")

    response = api.post(URL, {"username": "alice", "password": PASSWORD})

    assert response.status_code == 200, response.content


def test_login_accepts_messagepack(api, alice):
    response = api.post(
        URL,
        msgpack.packb({"username": "alice", "password": PASSWORD}),
        content_type="application/msgpack",
    )

    assert_session_for(api, response, alice)


@pytest.mark.parametrize(
    "credentials",
    [
        {"username": "alice", "password": "wrong-password-123"},
        {"username": "alice", "password": PASSWORD.upper()},
        {"username": "alice", "password": f" {PASSWORD}"},
        {"username": "nobody", "password": PASSWORD},
        {"username": "nobody@example.com", "password": PASSWORD},
        {"email": "nobody@example.com", "password": PASSWORD},
        {"email": "alice@example.com", "password": "wrong-password-123"},
    ],
    ids=[
        "wrong-password",
        "password-case",
        "password-space",
        "unknown-user",
        "unknown-email",
        "unknown-email-field",
        "email-wrong-password",
    ],
)
def test_bad_credentials_are_401_without_tokens(api, alice, credentials):
    before = database_state()

    response = api.post(URL, credentials)

    body = assert_problem(response, 401)
    assert "access" not in body and "refresh" not in body
    assert_only_the_failure_is_audited(before)


def test_wrong_password_and_unknown_user_answer_alike(api, alice):
    """No user enumeration: a guesser cannot tell a taken name from a free one."""
    wrong_password = api.post(URL, {"username": "alice", "password": "wrong-password-123"})
    unknown_user = api.post(URL, {"username": "nobody", "password": "wrong-password-123"})
    unknown_email = api.post(URL, {"email": "nobody@example.com", "password": "wrong-password-123"})

    bodies = [assert_problem(r, 401) for r in (wrong_password, unknown_user, unknown_email)]
    assert bodies[0] == bodies[1] == bodies[2]
    assert wrong_password.headers.get("WWW-Authenticate") == unknown_user.headers.get("WWW-Authenticate")


def test_an_inactive_user_cannot_log_in(api, alice):
    alice.is_active = False
    alice.save()
    unknown = api.post(URL, {"username": "nobody", "password": PASSWORD})
    before = database_state()

    response = api.post(URL, {"username": "alice", "password": PASSWORD})

    body = assert_problem(response, 401)
    assert body == assert_problem(unknown, 401)  # an inactive account looks like no account
    assert_only_the_failure_is_audited(before)


@pytest.mark.parametrize(
    "data, field",
    [
        ({"username": "alice"}, "password"),
        ({"password": PASSWORD}, "username"),
        ({"username": "", "password": PASSWORD}, "username"),
        ({"username": "alice", "password": ""}, "password"),
        ({"username": "a" * 255, "password": PASSWORD}, "username"),
        ({"username": "alice", "password": "p" * 129}, "password"),
        ({"username": "ali\x00ce", "password": PASSWORD}, "username"),
    ],
)
def test_malformed_login_input_is_400(api, alice, data, field):
    before = database_state()

    response = api.post(URL, data)

    assert_problem(response, 400)
    assert field in response.json()["errors"]
    assert database_state() == before


def test_a_failed_login_carries_a_bearer_challenge(api, alice):
    """RFC 9110: a 401 must say how to authenticate (the contract: 401 with WWW-Authenticate)."""
    response = api.post(URL, {"username": "alice", "password": "wrong-password-123"})

    assert_problem(response, 401)
    assert response.headers.get("WWW-Authenticate", "").startswith("Bearer"), dict(response.headers)


def test_a_username_that_is_someone_elses_email_does_not_hijack_their_login(api, db):
    """Usernames may contain '@': registering another person's email as a username must not lock them out."""
    squatter = api.post(
        "/api/auth/register",
        {"username": "bob@example.com", "email": "squatter@example.com", "password": "squatters-own-pass-42"},
    )
    assert squatter.status_code == 201, squatter.content
    bob = UserFactory(username="bob", email="bob@example.com")

    by_email_field = api.post(URL, {"email": "bob@example.com", "password": PASSWORD})
    by_username_field = api.post(URL, {"username": "bob@example.com", "password": PASSWORD})

    assert by_email_field.status_code == 200, by_email_field.content
    assert by_email_field.json()["user"]["id"] == bob.pk
    assert by_username_field.status_code == 200, by_username_field.content
    assert by_username_field.json()["user"]["id"] == bob.pk
