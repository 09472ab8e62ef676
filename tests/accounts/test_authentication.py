"""Bearer authentication on every protected endpoint: no token, a bad one or a dead account → 401."""

import base64
import json
import re
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from django.conf import settings
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from accounts.tokens import tokens_for
from tests.factories import UserFactory
from tests.helpers import database_state

# Endpoints anyone may call: they hand out tokens or describe the API.
PUBLIC = {"auth/register", "auth/login", "auth/refresh", "schema", "schema/swagger-ui", "schema/redoc"}

PROTECTED = [
    ("get", "/api/auth/me"),
    ("post", "/api/auth/logout"),
    ("get", "/api/events"),
    ("post", "/api/events"),
    ("post", "/api/events/batch"),
    ("get", "/api/events/{id}"),
    ("put", "/api/events/{id}"),
    ("patch", "/api/events/{id}"),
    ("delete", "/api/events/{id}"),
    ("post", "/api/events/{id}/share"),
    ("get", "/api/events/{id}/permissions"),
    ("put", "/api/events/{id}/permissions/{user_id}"),
    ("delete", "/api/events/{id}/permissions/{user_id}"),
]


def assert_401(response) -> dict:
    assert response.status_code == 401, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert response.headers.get("WWW-Authenticate", "").startswith("Bearer"), dict(response.headers)
    body = response.json()
    assert body["status"] == 401
    assert body["type"] and body["title"] and body["detail"]
    assert "messages" not in body  # simplejwt's per-token-class diagnostics stay on the server
    return body


def b64url(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def signing_key() -> str:
    return settings.SIMPLE_JWT["SIGNING_KEY"]


def send(api, method: str, path: str):
    body = {"title": "Hijacked", "users": [], "role": "viewer"} if method in {"post", "put", "patch"} else None
    return getattr(api, method)(path, body) if body is not None else getattr(api, method)(path)


@pytest.mark.parametrize("method, path", PROTECTED)
def test_protected_endpoints_need_a_token(api, alice, event, method, path):
    before = database_state()

    response = send(api, method, path.format(id=event.pk, user_id=alice.pk))

    assert_401(response)
    assert database_state() == before


def api_paths(resolver=None, prefix: str = "") -> list[str]:
    """Every URL pattern of the project as a concrete path (ids replaced by 1)."""
    paths = []
    for entry in (resolver or get_resolver()).url_patterns:
        pattern = str(entry.pattern)
        pattern = re.sub(r"\(\?P<\w+>[^)]*\)", "1", pattern)
        pattern = pattern.replace("^", "").replace("$", "").replace(r"\Z", "").replace("/?", "/")
        if isinstance(entry, URLResolver):
            paths += api_paths(entry, prefix + pattern)
        elif isinstance(entry, URLPattern):
            paths.append(prefix + pattern)
    return paths


def test_every_api_url_but_the_public_ones_needs_a_token(api, alice, event):
    """Walks the URLconf, so an endpoint added later is covered without touching this test."""
    checked, unprotected = [], []
    for path in api_paths():
        if not path.startswith("api/") or re.search(r"[\\()\[\]*+?|{}]", path):
            continue
        if path.strip("/").removeprefix("api/") in PUBLIC:
            continue
        response = api.get("/" + path.rstrip("/").replace("/1", f"/{event.pk}", 1))
        checked.append(path)
        if response.status_code != 401 or not response.headers.get("WWW-Authenticate", "").startswith("Bearer"):
            unprotected.append((path, response.status_code))
    assert len(checked) >= 6, checked  # the walk really found the API
    assert unprotected == []


@pytest.mark.parametrize(
    "header",
    [
        "Bearer garbage",
        "Bearer a.b.c",
        "Bearer eyJhbGciOiJIUzI1NiJ9.e30.",
        "Bearer ",
        "Bearer",
        "Bearer two parts",
        "Bearer \u00e9t\u00e9",
        "Basic YWxpY2U6cGFzc3dvcmQ=",
        "Token abc",
    ],
)
@pytest.mark.parametrize("path", ["/api/auth/me", "/api/events"])
def test_garbage_credentials_are_401(api, alice, header, path):
    api.credentials(HTTP_AUTHORIZATION=header)

    assert_401(api.get(path))


def test_an_expired_access_token_is_401(api, alice):
    token = AccessToken.for_user(alice)
    token.set_exp(from_time=datetime.now(UTC) - timedelta(hours=1))
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")

    assert_401(api.get("/api/auth/me"))


def test_a_token_signed_with_another_key_is_401(api, alice):
    payload = AccessToken.for_user(alice).payload
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {jwt.encode(payload, 'not-our-key-' * 4, algorithm='HS256')}")

    assert_401(api.get("/api/auth/me"))


def test_a_token_with_a_tampered_payload_is_401(api, alice):
    other = UserFactory()
    header, _, signature = str(AccessToken.for_user(alice)).split(".")
    forged_payload = b64url({**AccessToken.for_user(alice).payload, "user_id": other.pk})
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {header}.{forged_payload}.{signature}")

    assert_401(api.get("/api/auth/me"))


def test_an_unsigned_alg_none_token_is_401(api, alice):
    payload = AccessToken.for_user(alice).payload
    unsigned = f"{b64url({'alg': 'none', 'typ': 'JWT'})}.{b64url(payload)}."
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {unsigned}")

    assert_401(api.get("/api/auth/me"))


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")  # a weak HS512 key is the point
def test_only_the_configured_algorithm_is_accepted(api, alice):
    """A token signed with our key but another HMAC algorithm is still refused (no algorithm confusion)."""
    payload = AccessToken.for_user(alice).payload
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {jwt.encode(payload, signing_key(), algorithm='HS512')}")

    assert_401(api.get("/api/auth/me"))


def test_a_refresh_token_is_not_an_access_token(api, alice):
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(alice)}")

    assert_401(api.get("/api/auth/me"))
    assert_401(api.get("/api/events"))


def test_the_token_of_a_deleted_user_is_401(api, db):
    ghost = UserFactory()
    access = tokens_for(ghost)["access"]
    ghost.delete()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")

    assert_401(api.get("/api/auth/me"))
    assert_401(api.get("/api/events"))


def test_the_token_of_a_deactivated_user_is_401(api, me, event):
    access = tokens_for(me)["access"]
    me.is_active = False
    me.save()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")

    assert_401(api.get("/api/auth/me"))
    assert_401(api.get(f"/api/events/{event.pk}"))
    before = database_state()
    assert_401(api.delete(f"/api/events/{event.pk}"))
    assert database_state() == before


def test_me_returns_the_caller(api, alice):
    UserFactory(username="someone-else")

    response = api.as_user(alice).get("/api/auth/me")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"id": alice.pk, "username": "alice", "email": alice.email}


def test_a_valid_token_works_on_a_protected_endpoint(api, me, event):
    """The counterpart of every refusal above: the same request with a good token gets through."""
    response = api.as_user(me).get(f"/api/events/{event.pk}")

    assert response.status_code == 200
    assert response.json()["id"] == event.pk


def test_the_authenticated_user_is_the_users_row_as_the_orm_reads_it(api, db):
    """Authentication reads the user with its own SQL (one query, no ORM compiling): the same user, field for
    field and type for type, as the ORM makes."""
    from django.contrib.auth import get_user_model

    from accounts.authentication import JWTAuthentication

    user = UserFactory(is_staff=True, first_name="Ada", last_login=datetime(2031, 3, 4, 5, 6, 7, 8, tzinfo=UTC))
    authentication = JWTAuthentication()

    found = authentication.get_user(authentication.get_validated_token(tokens_for(user)["access"].encode()))

    expected = get_user_model().objects.get(pk=user.pk)
    for field in get_user_model()._meta.concrete_fields:
        assert getattr(found, field.attname) == getattr(expected, field.attname), field.name
        assert type(getattr(found, field.attname)) is type(getattr(expected, field.attname)), field.name
    assert (found._state.adding, found._state.db) == (False, expected._state.db)


@pytest.mark.parametrize("user_id", ["abc", None, [1], 10**30])
def test_a_signed_token_naming_no_possible_user_is_a_401_not_a_500(api, db, user_id):
    payload = {**AccessToken.for_user(UserFactory()).payload, "user_id": user_id}
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {jwt.encode(payload, signing_key(), algorithm='HS256')}")

    assert_401(api.get("/api/auth/me"))


def test_me_answers_what_drfs_rendering_of_the_declared_fields_gives(db):
    """UserSerializer builds its answer directly (building a ModelSerializer's fields cost a fifth of `me`)."""
    from rest_framework import serializers

    from accounts.serializers import UserSerializer

    for user in (UserFactory(username="ada", email="ada@example.com"), UserFactory(username="b", email="")):
        generic = serializers.Serializer.to_representation(UserSerializer(user), user)
        direct = UserSerializer(user).data
        assert dict(direct) == dict(generic)
        assert list(direct) == list(generic) == list(UserSerializer.Meta.fields)


def test_a_tokens_signature_is_checked_once_and_its_expiry_on_every_request(api, alice, monkeypatch):
    """The signature check is kept per token (the same token comes with every request); expiry is not: a token
    that expires after its first use is refused like any expired token."""
    import time

    from rest_framework_simplejwt.backends import TokenBackend

    decoded = []
    real_decode = TokenBackend.decode
    monkeypatch.setattr(
        TokenBackend, "decode", lambda *args, **kwargs: decoded.append(1) or real_decode(*args, **kwargs)
    )
    token = AccessToken.for_user(alice)
    token.set_exp(lifetime=timedelta(seconds=2))  # `exp` is in whole seconds: 1 to 2 s from now
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")

    assert [api.get("/api/auth/me").status_code for _ in range(3)] == [200, 200, 200]
    assert len(decoded) == 1
    time.sleep(max(0.0, token["exp"] - time.time()) + 0.05)
    refused = assert_401(api.get("/api/auth/me"))
    never_used = AccessToken.for_user(alice)
    never_used.set_exp(from_time=datetime.now(UTC) - timedelta(hours=1))
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {never_used}")
    assert refused == assert_401(api.get("/api/auth/me"))  # the same answer as for any expired token
