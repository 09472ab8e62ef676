"""Idempotency-Key on POST: a retry replays the first answer and does nothing again."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import timedelta

import psycopg
import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import OperationalError, connection, transaction
from django.db.models.signals import post_save
from django.utils import timezone

from common.idempotency import RETENTION, RUNNING_TIMEOUT, _kept, _RunningLock
from common.models import IdempotencyRecord
from common.refusals import problem_response
from events.models import Event
from sharing.models import EventPermission
from tests.factories import BASE_TIME, UserFactory, make_event
from tests.helpers import database_state

pytestmark = pytest.mark.django_db

User = get_user_model()


def event_body(title: str = "Standup", hours: int = 0) -> dict:
    start = BASE_TIME + timedelta(days=30, hours=hours)
    return {
        "title": title,
        "start_time": start.isoformat(),
        "end_time": (start + timedelta(minutes=30)).isoformat(),
        "conflict_strategy": "allow",  # retries that do run again must not trip over the first one's event
    }


def owned(user) -> int:
    return Event.objects.filter(owner=user).count()


def test_a_retry_replays_the_first_answer_without_creating_twice(client, me):
    first = client.post("/api/events", event_body(), HTTP_IDEMPOTENCY_KEY="k-1")
    again = client.post("/api/events", event_body(), HTTP_IDEMPOTENCY_KEY="k-1")

    assert first.status_code == again.status_code == 201, first.content
    assert again.json() == first.json()
    assert (again["Location"], again["ETag"]) == (first["Location"], first["ETag"])
    assert again["Idempotent-Replayed"] == "true"
    assert not first.has_header("Idempotent-Replayed")
    assert owned(me) == 1
    assert Event.history.filter(id=first.json()["id"]).count() == 1
    record = IdempotencyRecord.objects.get(key="k-1")
    assert (record.scope, record.user, record.status_code) == (f"user:{me.pk}", me, 201)


def test_without_a_key_every_post_does_its_work(client, me):
    client.post("/api/events", event_body())
    client.post("/api/events", event_body(hours=1))

    assert owned(me) == 2
    assert not IdempotencyRecord.objects.exists()


def test_a_replay_carries_the_rate_limit_headers(client):
    client.post("/api/events", event_body(), HTTP_IDEMPOTENCY_KEY="k-rl")

    again = client.post("/api/events", event_body(), HTTP_IDEMPOTENCY_KEY="k-rl")

    assert again["Idempotent-Replayed"] == "true"
    assert {"RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"} <= set(again.headers)


def test_the_same_key_with_another_body_is_a_422_and_does_nothing(client, me):
    client.post("/api/events", event_body("One"), HTTP_IDEMPOTENCY_KEY="k-2")
    before = database_state()

    response = client.post("/api/events", event_body("Two"), HTTP_IDEMPOTENCY_KEY="k-2")

    assert response.status_code == 422
    assert response["Content-Type"].startswith("application/problem+json")
    assert response.json()["type"] == "/problems/idempotency-key-reused"
    assert list(Event.objects.filter(owner=me).values_list("title", flat=True)) == ["One"]
    assert database_state() == before


def test_the_same_key_on_another_path_is_a_422(client, me):
    event = make_event(me)
    client.post("/api/events", event_body(), HTTP_IDEMPOTENCY_KEY="k-3")
    shares = EventPermission.objects.count()

    response = client.post(
        f"/api/events/{event.pk}/share",
        {"users": [{"user_id": UserFactory().pk, "role": "viewer"}]},
        HTTP_IDEMPOTENCY_KEY="k-3",
    )

    assert response.status_code == 422
    assert EventPermission.objects.count() == shares


def test_both_spellings_of_a_path_are_the_same_request(client, me):
    first = client.post("/api/events", event_body(), HTTP_IDEMPOTENCY_KEY="k-slash")
    again = client.post("/api/events/", event_body(), HTTP_IDEMPOTENCY_KEY="k-slash")

    assert again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert owned(me) == 1


@contextmanager
def running_elsewhere(user, key: str):
    """What a worker running the first request holds: on PostgreSQL, the key's lock on its own connection."""
    if connection.vendor != "postgresql":
        yield
        return
    params = connection.settings_dict
    names = {"dbname": "NAME", "user": "USER", "password": "PASSWORD", "host": "HOST", "port": "PORT"}
    with psycopg.connect(**{name: params[setting] for name, setting in names.items()}) as other:
        other.execute("SELECT pg_advisory_lock(%s)", [_RunningLock(f"user:{user.pk}", key).id])
        yield


def test_while_the_first_is_still_running_a_retry_is_a_409(client, me):
    """The first request's claim is a committed row without an answer; a retry must not run beside it."""
    first = client.post("/api/events", event_body(), HTTP_IDEMPOTENCY_KEY="k-4")
    IdempotencyRecord.objects.filter(key="k-4").update(status_code=None, body=b"")

    with running_elsewhere(me, "k-4"):
        response = client.post("/api/events", event_body(), HTTP_IDEMPOTENCY_KEY="k-4")

    assert first.status_code == 201
    assert response.status_code == 409
    assert response.json()["type"] == "/problems/idempotency-key-in-use"
    assert response["Retry-After"]
    assert owned(me) == 1


def test_a_claim_abandoned_by_a_dead_worker_is_released_after_the_timeout(client, me):
    client.post("/api/events", event_body(), HTTP_IDEMPOTENCY_KEY="k-5")
    IdempotencyRecord.objects.filter(key="k-5").update(
        status_code=None, created_at=timezone.now() - RUNNING_TIMEOUT - timedelta(seconds=1)
    )

    response = client.post("/api/events", event_body(), HTTP_IDEMPOTENCY_KEY="k-5")

    assert response.status_code == 201
    assert not response.has_header("Idempotent-Replayed")
    assert owned(me) == 2
    assert IdempotencyRecord.objects.get(key="k-5").status_code == 201


@pytest.mark.postgres  # the running lock is a PostgreSQL advisory lock; elsewhere the timeout applies
def test_on_postgresql_a_claim_whose_request_died_is_released_at_once(client, me):
    """A claim without an answer whose key nobody holds: its worker died (and its work was rolled back)."""
    client.post("/api/events", event_body(), HTTP_IDEMPOTENCY_KEY="k-died")
    IdempotencyRecord.objects.filter(key="k-died").update(status_code=None, body=b"")

    response = client.post("/api/events", event_body(), HTTP_IDEMPOTENCY_KEY="k-died")

    assert response.status_code == 201
    assert not response.has_header("Idempotent-Replayed")
    assert owned(me) == 2
    assert IdempotencyRecord.objects.get(key="k-died").status_code == 201


def test_keys_expire_after_24_hours(client, me):
    client.post("/api/events", event_body(), HTTP_IDEMPOTENCY_KEY="k-6")
    IdempotencyRecord.objects.filter(key="k-6").update(created_at=timezone.now() - RETENTION)

    response = client.post("/api/events", event_body(), HTTP_IDEMPOTENCY_KEY="k-6")

    assert response.status_code == 201
    assert not response.has_header("Idempotent-Replayed")
    assert owned(me) == 2


def test_keys_are_per_user(api, me):
    other = UserFactory()
    mine = api.as_user(me).post("/api/events", event_body(), HTTP_IDEMPOTENCY_KEY="shared-key")

    theirs = api.as_user(other).post("/api/events", event_body(), HTTP_IDEMPOTENCY_KEY="shared-key")

    assert mine.status_code == theirs.status_code == 201
    assert not theirs.has_header("Idempotent-Replayed")
    assert theirs.json()["id"] != mine.json()["id"]
    assert (owned(me), owned(other)) == (1, 1)


def test_a_4xx_answer_is_kept_and_replayed(client, me):
    bad = {"title": "", "start_time": "soon"}
    first = client.post("/api/events", bad, HTTP_IDEMPOTENCY_KEY="k-7")

    again = client.post("/api/events", bad, HTTP_IDEMPOTENCY_KEY="k-7")

    assert first.status_code == again.status_code == 400
    assert again.json() == first.json()
    assert again["Content-Type"].startswith("application/problem+json")
    assert again["Idempotent-Replayed"] == "true"
    assert owned(me) == 0


def test_a_401_is_not_kept(api, me):
    api.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")
    refused = api.post("/api/events", event_body(), HTTP_IDEMPOTENCY_KEY="k-8")

    assert refused.status_code == 401
    assert not IdempotencyRecord.objects.exists()


def test_a_logged_out_token_cannot_replay(api, me):
    client = api.as_user(me)
    client.post("/api/events", event_body(), HTTP_IDEMPOTENCY_KEY="k-9")
    assert client.post("/api/auth/logout", {}).status_code == 204

    response = client.post("/api/events", event_body(), HTTP_IDEMPOTENCY_KEY="k-9")

    assert response.status_code == 401
    assert not response.has_header("Idempotent-Replayed")


@pytest.mark.parametrize("key", ["", "x" * 256, "clé"])
def test_a_malformed_key_is_a_400_and_does_nothing(client, me, key):
    before = database_state()

    response = client.post("/api/events", event_body(), HTTP_IDEMPOTENCY_KEY=key)

    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["errors"]
    assert owned(me) == 0
    assert database_state() == before


def test_login_ignores_the_key_and_stores_no_tokens(api, me, password):
    """Answers carrying live tokens are never stored: a stored refresh token could be replayed after a logout."""
    body = {"username": "me", "password": password}

    first = api.post("/api/auth/login", body, HTTP_IDEMPOTENCY_KEY="login-1")
    again = api.post("/api/auth/login", body, HTTP_IDEMPOTENCY_KEY="login-1")

    assert first.status_code == again.status_code == 200, first.content
    assert not again.has_header("Idempotent-Replayed")
    assert first.json()["access"] != again.json()["access"]
    assert first.json()["refresh"] != again.json()["refresh"]  # two sessions: the work ran twice
    assert not IdempotencyRecord.objects.exists()


def test_refresh_ignores_the_key_and_stores_no_tokens(api, me, password):
    session = api.post("/api/auth/login", {"username": "me", "password": password}).json()

    first = api.post("/api/auth/refresh", {"refresh": session["refresh"]}, HTTP_IDEMPOTENCY_KEY="refresh-1")
    again = api.post("/api/auth/refresh", {"refresh": session["refresh"]}, HTTP_IDEMPOTENCY_KEY="refresh-1")

    assert first.status_code == 200, first.content
    assert again.status_code == 401  # the rotated token is dead; no stored pair handed out again
    assert not again.has_header("Idempotent-Replayed")
    assert not IdempotencyRecord.objects.exists()


def test_registration_ignores_the_key_and_stores_no_tokens(api, password):
    body = {"username": "newbie", "email": "newbie@example.com", "password": password}

    first = api.post("/api/auth/register/", body, HTTP_IDEMPOTENCY_KEY="reg-1")
    again = api.post("/api/auth/register", body, HTTP_IDEMPOTENCY_KEY="reg-1")

    assert first.status_code == 201, first.content
    assert again.status_code == 400  # it ran again, and the name is taken now
    assert not again.has_header("Idempotent-Replayed")
    assert User.objects.filter(username="newbie").count() == 1
    assert not IdempotencyRecord.objects.exists()


def test_a_malformed_key_on_a_token_endpoint_is_ignored_too(api, me, password):
    response = api.post("/api/auth/login", {"username": "me", "password": password}, HTTP_IDEMPOTENCY_KEY="clé")

    assert response.status_code == 200, response.content
    assert not IdempotencyRecord.objects.exists()


def test_a_replayed_delete_like_answer_has_no_body(client, me):
    response = client.post("/api/auth/logout", {}, HTTP_IDEMPOTENCY_KEY="out-1")

    assert response.status_code == 204
    assert IdempotencyRecord.objects.get(key="out-1").status_code == 204


def test_prune_deletes_only_expired_records(client, me):
    client.post("/api/events", event_body(), HTTP_IDEMPOTENCY_KEY="old")
    client.post("/api/events", event_body(hours=2), HTTP_IDEMPOTENCY_KEY="new")
    IdempotencyRecord.objects.filter(key="old").update(created_at=timezone.now() - RETENTION - timedelta(minutes=1))

    call_command("prune_idempotency_keys", stdout=open("/dev/null", "w"))  # noqa: SIM115

    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["new"]


def test_the_schema_documents_the_header_on_every_post(api):
    schema = api.get("/api/schema?format=json").json()

    posts = {path: ops["post"] for path, ops in schema["paths"].items() if "post" in ops}
    secret_answers = {"/api/auth/register", "/api/auth/login", "/api/auth/refresh", "/api/auth/app-passwords"}
    token_paths = {path for path in posts if path.rstrip("/") in secret_answers}
    assert len(token_paths) == 4
    for path, operation in posts.items():
        header = [p for p in operation["parameters"] if p["name"] == "Idempotency-Key"]
        assert len(header) == 1, path
        if path in token_paths:  # accepted and ignored there: never a replay, so never its 409 or 422
            assert header[0]["description"].startswith("Accepted and ignored"), path
            assert "422" not in operation["responses"], path
            assert "Idempotency-Key" not in operation["responses"].get("409", {}).get("description", ""), path
        else:
            assert {"409", "422"} <= operation["responses"].keys(), path


@pytest.mark.django_db(transaction=True)
def test_the_answer_commits_with_the_work_so_an_outage_right_after_cannot_split_them(api):
    """The database becomes unreachable the moment the work commits: the answer must already be stored.

    Were the answer stored after the work's commit, it would be lost here: a retry would then find a
    claim without an answer (409 for minutes on SQLite) or, on PostgreSQL, run the work a second time.
    """
    me = UserFactory(username="me")
    client = api.as_user(me)
    outage = {"on": False}

    def arm(sender, instance, created, **kwargs):
        if created:
            transaction.on_commit(lambda: outage.update(on=True))

    def unreachable_after_commit(execute, sql, params, many, context):
        if outage["on"] and not context["connection"].in_atomic_block:
            raise OperationalError("the database went away right after the commit")
        return execute(sql, params, many, context)

    post_save.connect(arm, sender=Event, weak=False)
    try:
        with connection.execute_wrapper(unreachable_after_commit):
            first = client.post("/api/events", event_body(), HTTP_IDEMPOTENCY_KEY="k-outage")
    finally:
        post_save.disconnect(arm, sender=Event)
    assert outage["on"], "the work never committed"

    again = client.post("/api/events", event_body(), HTTP_IDEMPOTENCY_KEY="k-outage")

    assert first.status_code == 201, first.content
    assert (again.status_code, again["Idempotent-Replayed"]) == (201, "true"), again.content
    assert again.json() == first.json()
    assert owned(me) == 1


def test_an_answer_asking_for_a_retry_is_not_kept():
    """A deadlock's 409 carries Retry-After: were it kept, every retry with the key would replay it."""
    retry = problem_response(409, "retry", "Concurrent change; retry.", "Retry.")
    retry["Retry-After"] = "1"
    conflict = problem_response(409, "conflict", "Conflict.", "The last owner cannot be removed.")

    assert not _kept(retry)
    assert _kept(conflict)
