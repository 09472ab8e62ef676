"""POST /api/auth/register: 201 {user, access, refresh}; every refusal is a 400 problem and creates nothing."""

import pytest
from django.contrib.auth import get_user_model
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

from tests.factories import PASSWORD
from tests.helpers import database_state

User = get_user_model()

URL = "/api/auth/register"


def assert_validation_problem(response, *fields: str) -> dict:
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == 400
    assert body["type"] and body["title"] and body["detail"]
    for field in fields:
        messages = body["errors"][field]
        assert isinstance(messages, list) and messages and all(isinstance(m, str) and m for m in messages)
    return body


def test_register_creates_the_user_and_a_working_session(api, db):
    response = api.post(URL, {"username": "grace", "email": "grace@example.com", "password": PASSWORD})

    assert response.status_code == 201, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"user", "access", "refresh"}
    user = User.objects.get(username="grace")
    assert body["user"] == {"id": user.pk, "username": "grace", "email": "grace@example.com"}
    assert PASSWORD not in response.content.decode()
    assert user.check_password(PASSWORD)
    assert user.password != PASSWORD  # stored hashed
    assert user.is_active
    assert OutstandingToken.objects.filter(user=user).count() == 1

    api.credentials(HTTP_AUTHORIZATION=f"Bearer {body['access']}")
    me = api.get("/api/auth/me")
    assert me.status_code == 200
    assert me.json() == body["user"]

    api.credentials()
    refreshed = api.post("/api/auth/refresh", {"refresh": body["refresh"]})
    assert refreshed.status_code == 200, refreshed.content


@pytest.mark.parametrize(
    "username, email, fields",
    [
        ("ALICE", "someone@example.com", ["username"]),
        ("Alice", "someone@example.com", ["username"]),
        ("bob", "ALICE@example.com", ["email"]),
        ("bob", "alice@EXAMPLE.com", ["email"]),
        ("aLiCe", "Alice@Example.Com", ["username", "email"]),
    ],
)
def test_username_and_email_are_unique_regardless_of_case(api, alice, username, email, fields):
    before = database_state()

    response = api.post(URL, {"username": username, "email": email, "password": PASSWORD})

    body = assert_validation_problem(response, *fields)
    assert set(body["errors"]) == set(fields)
    assert database_state() == before
    alice.refresh_from_db()
    assert (alice.username, alice.email) == ("alice", "alice@example.com")


@pytest.mark.parametrize(
    "password, message",
    [
        ("x7#k", "too short"),
        ("password", "too common"),
        ("83920174639", "entirely numeric"),
        ("margaret.hamilton", "too similar"),
    ],
)
def test_django_password_validators_apply(api, db, password, message):
    before = database_state()

    response = api.post(URL, {"username": "margaret.hamilton", "email": "mh@example.com", "password": password})

    body = assert_validation_problem(response, "password")
    assert any(message in m for m in body["errors"]["password"]), body
    assert database_state() == before


@pytest.mark.parametrize("missing", ["username", "email", "password"])
def test_each_field_is_required(api, db, missing):
    data = {"username": "grace", "email": "grace@example.com", "password": PASSWORD}
    del data[missing]
    before = database_state()

    response = api.post(URL, data)

    body = assert_validation_problem(response, missing)
    assert set(body["errors"]) == {missing}
    assert database_state() == before


def test_an_empty_body_names_every_missing_field(api, db):
    before = database_state()

    response = api.post(URL, {})

    body = assert_validation_problem(response, "username", "email", "password")
    assert set(body["errors"]) == {"username", "email", "password"}
    assert database_state() == before


@pytest.mark.parametrize(
    "field, value",
    [
        ("username", "u" * 151),
        ("email", "e" * 250 + "@example.com"),
        ("password", "Pw-" + "z" * 126),
        ("username", ""),
        ("username", "   "),
        ("username", "no spaces allowed"),
        ("username", "semi;colon"),
        ("username", "nul\x00byte"),
        ("email", "not-an-email"),
        ("email", "two@@example.com"),
        ("email", "nul\x00@example.com"),
        ("email", ""),
        ("password", ""),
    ],
)
def test_bad_values_are_400_on_their_field(api, db, field, value):
    data = {"username": "grace", "email": "grace@example.com", "password": PASSWORD, field: value}
    before = database_state()

    response = api.post(URL, data)

    assert_validation_problem(response, field)
    assert database_state() == before


@pytest.mark.parametrize("raw", ["[]", '["grace"]', '"grace"', "42", "null", "true"])
def test_a_body_that_is_not_an_object_is_400(api, db, raw):
    before = database_state()

    response = api.post(URL, raw, content_type="application/json")

    assert_validation_problem(response)
    assert database_state() == before


def test_a_second_registration_with_the_same_names_is_refused(api, db):
    data = {"username": "grace", "email": "grace@example.com", "password": PASSWORD}
    assert api.post(URL, data).status_code == 201
    before = database_state()

    response = api.post(URL, data)

    body = assert_validation_problem(response, "username", "email")
    assert set(body["errors"]) == {"username", "email"}
    assert database_state() == before
