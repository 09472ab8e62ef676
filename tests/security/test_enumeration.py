"""Register and login are no user-enumeration oracle beyond what registering must say.

- Registering a taken name answers 400 on exactly the field that collides (it must: the person
  choosing it needs to know), and says nothing else about the account that holds it, also when a
  concurrent registration takes the name between the check and the insert.
- Those answers are rate limited: per client IP, and per account named (username and email), so
  probing names costs the same budget as registering, from one address or many.
- A failed login answers alike for an unknown account, a wrong password and an inactive account
  (status, body, challenge), and the password hasher runs once in every case, so the response time
  does not tell either.
"""

from __future__ import annotations

import threading
from typing import ClassVar

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import MD5PasswordHasher
from django.db import connection
from django.db.models.signals import pre_save

from history.models import AuditEntry
from tests.factories import PASSWORD, UserFactory
from tests.helpers import assert_problem, database_state

User = get_user_model()

REGISTER = "/api/auth/register"
LOGIN = "/api/auth/login"
STRONG = "a-long-and-unusual-passphrase"


class CountingHasher(MD5PasswordHasher):
    """The test hasher (same algorithm name, so it reads the users' stored hashes), counting what it hashes."""

    hashed: ClassVar[list[str]] = []

    def encode(self, password, salt):
        CountingHasher.hashed.append(password)
        return super().encode(password, salt)


# --- register ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "username, email, field",
    [("ALICE", "someone@example.com", "username"), ("someone", "Alice@Example.com", "email")],
    ids=["username", "email"],
)
def test_a_taken_name_is_reported_on_its_own_field_and_nothing_more(api, alice, username, email, field):
    before = database_state()

    response = api.post(REGISTER, {"username": username, "email": email, "password": STRONG})

    body = assert_problem(response, 400)
    assert body["errors"] == {field: [f"A user with that {field} already exists."]}
    text = response.content.decode().lower()
    other = {"username": "alice@example.com", "email": '"alice"'}[field]
    assert other not in text  # nothing about the holder's other name
    assert database_state() == before


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "racer, field",
    [({"username": "Grace", "email": "other@example.com"}, "username"), ({"username": "other"}, "email")],
    ids=["username", "email"],
)
def test_a_name_taken_by_a_concurrent_registration_is_reported_on_its_own_field(api, racer, field):
    """Another registration commits the same name between our uniqueness check and our insert."""

    def commit_the_same_name_first(sender, instance, **kwargs):
        if instance.pk is None and instance.username == "grace":
            pre_save.disconnect(commit_the_same_name_first, sender=User)

            def register_elsewhere():
                try:
                    UserFactory(**{"email": "grace@example.com", **racer})
                finally:
                    connection.close()

            thread = threading.Thread(target=register_elsewhere)
            thread.start()
            thread.join()

    pre_save.connect(commit_the_same_name_first, sender=User)
    try:
        response = api.post(REGISTER, {"username": "grace", "email": "grace@example.com", "password": STRONG})
    finally:
        pre_save.disconnect(commit_the_same_name_first, sender=User)

    body = assert_problem(response, 400)
    assert body["errors"] == {field: [f"A user with that {field} already exists."]}
    assert list(User.objects.values_list("username", flat=True)) == [racer["username"]]


def test_register_probes_use_up_the_ip_limit(api, alice, rates):
    rates(auth_ip="3/min")
    probes = [
        api.post(REGISTER, {"username": "alice", "email": "a1@example.com", "password": STRONG}),
        api.post(REGISTER, {"username": "b1", "email": "alice@example.com", "password": STRONG}),
        api.post(REGISTER, {"username": "ALICE", "email": "a2@example.com", "password": STRONG}),
    ]
    assert [p.status_code for p in probes] == [400, 400, 400]
    before = database_state()

    blocked = api.post(REGISTER, {"username": "fresh", "email": "fresh@example.com", "password": STRONG})

    assert_problem(blocked, 429)
    assert blocked["Retry-After"]
    assert database_state() == before


@pytest.mark.parametrize(
    "bodies",
    [
        [{"username": f"probe{n}", "email": "alice@example.com"} for n in range(3)],
        [{"username": "alice", "email": f"probe{n}@example.com"} for n in range(3)],
    ],
    ids=["email", "username"],
)
def test_register_probes_of_one_name_are_limited_across_ips(api, alice, rates, bodies):
    """Spreading the probes of one username or one email over many addresses does not help."""
    rates(auth_username="2/min")

    answers = [
        api.post(REGISTER, {**body, "password": STRONG}, REMOTE_ADDR=f"198.51.100.{n}") for n, body in enumerate(bodies)
    ]

    assert [a.status_code for a in answers] == [400, 400, 429]
    assert_problem(answers[2], 429)


def test_fresh_names_from_one_ip_are_not_limited_per_account(api, db, rates):
    rates(auth_username="1/min")

    answers = [
        api.post(REGISTER, {"username": f"new{n}", "email": f"new{n}@example.com", "password": STRONG})
        for n in range(3)
    ]

    assert [a.status_code for a in answers] == [201, 201, 201]


# --- login ---------------------------------------------------------------------------------------------


@pytest.fixture
def counting(settings):
    settings.PASSWORD_HASHERS = [f"{__name__}.CountingHasher"]
    CountingHasher.hashed.clear()
    return CountingHasher.hashed


FAILURES = {
    "unknown-username": {"username": "nobody", "password": "guess-number-1"},
    "unknown-email": {"email": "nobody@example.com", "password": "guess-number-1"},
    "unknown-username-as-email": {"username": "nobody@example.com", "password": "guess-number-1"},
    "wrong-password": {"username": "alice", "password": "guess-number-1"},
    "wrong-password-by-email": {"email": "ALICE@example.com", "password": "guess-number-1"},
    "inactive": {"username": "sleeper", "password": PASSWORD},
}


def test_every_failed_login_answers_alike_and_hashes_the_password_once(api, alice, counting):
    UserFactory(username="sleeper", is_active=False)
    counting.clear()
    answers = {}
    for case, credentials in FAILURES.items():
        counting.clear()
        response = api.post(LOGIN, credentials)
        answers[case] = (
            response.status_code,
            response.json(),
            response["WWW-Authenticate"],
            response["Content-Type"],
            list(counting),
        )

    expected = answers["unknown-username"]
    assert expected[:2] == (401, assert_problem(api.post(LOGIN, FAILURES["unknown-username"]), 401))
    for case, answer in answers.items():
        assert answer[:4] == expected[:4], case
        assert answer[4] == [FAILURES[case]["password"]], f"{case}: the hasher ran {len(answer[4])} times"
    assert "nobody" not in str(expected[1]) and "alice" not in str(answers["wrong-password"][1])


def test_a_successful_login_hashes_once_too(api, alice, counting):
    """The reference the failures are held to: one hash per login attempt."""
    response = api.post(LOGIN, {"username": "alice", "password": PASSWORD})

    assert response.status_code == 200
    assert counting == [PASSWORD]


def test_failed_logins_are_audited_alike(api, alice):
    api.post(LOGIN, FAILURES["unknown-username"])
    api.post(LOGIN, FAILURES["wrong-password"])

    entries = list(AuditEntry.objects.filter(action="auth.login_failed").order_by("pk").values("actor", "data"))
    assert entries == [
        {"actor": None, "data": {"username": "nobody"}},
        {"actor": None, "data": {"username": "alice"}},
    ]
