"""App passwords: made at /api/auth/app-passwords, shown once, stored hashed, revocable at once."""

import hashlib

import pytest
from django.contrib.auth import get_user_model
from django.test import Client as DjangoClient

from accounts import services
from accounts.app_passwords import LAST_USED_PRECISION, app_password_user
from accounts.models import AppPassword
from history.models import AuditEntry
from tests.factories import PASSWORD, UserFactory
from tests.helpers import assert_problem

URL = "/api/auth/app-passwords"


@pytest.fixture
def alice(db):
    return UserFactory(username="alice", email="alice@example.com")


def create(api, user, name="Phone"):
    response = api.as_user(user).post(URL, {"name": name}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def test_created_password_is_random_shown_once_and_stored_hashed(api, alice):
    body = create(api, alice)
    assert set(body) == {"id", "name", "password", "created_at", "last_used_at"}
    assert (body["name"], body["last_used_at"]) == ("Phone", None)
    assert len(body["password"]) >= 32  # 24 random bytes, base64: 192 bits
    row = AppPassword.objects.get(pk=body["id"])
    assert row.digest == hashlib.sha256(body["password"].encode()).hexdigest()
    assert body["password"] not in str(AppPassword.objects.filter(pk=row.pk).values().get())
    assert create(api, alice)["password"] != body["password"]
    listed = api.as_user(alice).get(URL).json()["results"]
    assert [item["id"] for item in listed] == [body["id"], body["id"] + 1]
    assert all("password" not in item for item in listed)
    entry = AuditEntry.objects.filter(action="auth.app_password_created").order_by("pk").first()
    assert (entry.actor, entry.target_id, entry.data) == (alice, str(row.pk), {"name": "Phone"})


def test_the_answer_holding_the_secret_is_never_kept_for_an_idempotent_replay(api, alice):
    first = api.as_user(alice).post(URL, {"name": "Phone"}, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    again = api.as_user(alice).post(URL, {"name": "Phone"}, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert (first.status_code, again.status_code) == (201, 201)
    assert first.json()["password"] != again.json()["password"]
    assert "Idempotent-Replayed" not in again


@pytest.mark.parametrize("body", [{}, {"name": ""}, {"name": "x" * 101}, {"name": 5}])
def test_a_name_is_required_and_bounded(api, alice, body):
    response = api.as_user(alice).post(URL, body, format="json")
    assert_problem(response, 400)
    assert not AppPassword.objects.exists()


def test_at_most_fifty_per_user(api, alice):
    for index in range(AppPassword.PER_USER_MAX):
        services.app_password_create(user=alice, name=f"App {index}")
    response = api.as_user(alice).post(URL, {"name": "One too many"}, format="json")
    assert_problem(response, 409)
    assert AppPassword.objects.filter(user=alice).count() == AppPassword.PER_USER_MAX
    assert create(api, UserFactory())["name"] == "Phone"  # the cap is per user


def test_the_password_works_with_username_or_email_in_any_case_and_never_the_account_password(alice):
    _, secret = services.app_password_create(user=alice, name="Phone")
    assert app_password_user(identifier="alice", secret=secret) == alice
    assert app_password_user(identifier="ALICE@example.com", secret=secret) == alice
    assert app_password_user(identifier="alice", secret=PASSWORD) is None
    assert app_password_user(identifier="bob", secret=secret) is None
    assert app_password_user(identifier="alice", secret=secret + "x") is None


def test_revoking_stops_it_at_once_and_only_the_owner_can(api, alice):
    body = create(api, alice)
    bob = UserFactory(username="bob")
    assert_problem(api.as_user(bob).delete(f"{URL}/{body['id']}"), 404)
    assert app_password_user(identifier="alice", secret=body["password"]) == alice
    assert api.as_user(alice).delete(f"{URL}/{body['id']}").status_code == 204
    assert app_password_user(identifier="alice", secret=body["password"]) is None
    assert_problem(api.as_user(alice).delete(f"{URL}/{body['id']}"), 404)
    assert AuditEntry.objects.filter(action="auth.app_password_revoked", target_id=str(body["id"])).count() == 1


def test_logging_out_of_a_session_leaves_app_passwords_working(api, alice):
    body = create(api, alice)
    session = api.post("/api/auth/login", {"username": "alice", "password": PASSWORD}, format="json").json()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {session['access']}")
    assert api.post("/api/auth/logout", {"refresh": session["refresh"]}, format="json").status_code == 204
    assert app_password_user(identifier="alice", secret=body["password"]) == alice


def test_deactivating_the_user_kills_their_app_passwords(api, alice):
    body = create(api, alice)
    alice.is_active = False
    alice.save()
    assert not AppPassword.objects.filter(user=alice).exists()
    alice.is_active = True
    alice.save()
    assert app_password_user(identifier="alice", secret=body["password"]) is None
    assert AuditEntry.objects.filter(action="auth.app_passwords_revoked", target_id=str(alice.pk)).exists()


def test_an_inactive_users_password_is_refused_even_before_it_is_deleted(alice):
    _, secret = services.app_password_create(user=alice, name="Phone")
    get_user_model().objects.filter(pk=alice.pk).update(is_active=False)  # no signal: the check alone
    assert app_password_user(identifier="alice", secret=secret) is None


def test_last_used_is_written_at_most_once_an_hour(alice, django_assert_num_queries):
    row, secret = services.app_password_create(user=alice, name="Phone")
    with django_assert_num_queries(2):  # the lookup, and the first use stamped
        app_password_user(identifier="alice", secret=secret)
    stamped = AppPassword.objects.get(pk=row.pk).last_used_at
    assert stamped is not None
    with django_assert_num_queries(1):  # within the hour: read only
        app_password_user(identifier="alice", secret=secret)
    AppPassword.objects.filter(pk=row.pk).update(last_used_at=stamped - LAST_USED_PRECISION * 2)
    app_password_user(identifier="alice", secret=secret)
    assert AppPassword.objects.get(pk=row.pk).last_used_at > stamped - LAST_USED_PRECISION


def test_the_admin_shows_them_read_only_and_revokes_through_the_service(db, alice):
    row, _ = services.app_password_create(user=alice, name="Phone")
    admin = get_user_model().objects.create_superuser(username="root", email="root@example.com", password="x-pass-1")
    client = DjangoClient()
    client.force_login(admin)
    listing = client.get("/admin/accounts/apppassword/")
    assert listing.status_code == 200 and b"Phone" in listing.content
    page = client.get(f"/admin/accounts/apppassword/{row.pk}/change/")
    assert page.status_code == 200 and b'name="name"' not in page.content  # nothing editable
    assert client.get("/admin/accounts/apppassword/add/").status_code == 403
    client.post(f"/admin/accounts/apppassword/{row.pk}/delete/", {"post": "yes"})
    assert not AppPassword.objects.filter(pk=row.pk).exists()
    entry = AuditEntry.objects.get(action="auth.app_password_revoked")
    assert (entry.actor, entry.data["user"]) == (admin, alice.pk)
