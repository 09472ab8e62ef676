"""The audit trail: every operation with actor, time, IP, user agent, request id and target; append-only."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.admin.sites import site
from django.test import RequestFactory
from django.utils import timezone

from history.admin import AuditEntryAdmin
from history.audit import audit_record
from history.models import AuditEntry
from tests.factories import BASE_TIME, PASSWORD, UserFactory, make_event

pytestmark = pytest.mark.django_db

HEADERS = {"HTTP_USER_AGENT": "CalendarApp/1.0", "HTTP_X_REQUEST_ID": "req-42"}


def actions() -> list[tuple]:
    return list(AuditEntry.objects.order_by("id").values_list("action", "actor_username", "target_type"))


def slot(title="Audited", hours=0) -> dict:
    start = BASE_TIME + timedelta(hours=hours)
    return {"title": title, "start_time": start.isoformat(), "end_time": (start + timedelta(hours=1)).isoformat()}


def test_the_auth_lifecycle_is_on_record(api):
    registered = api.post(
        "/api/auth/register", {"username": "ada", "email": "ada@example.com", "password": PASSWORD}, **HEADERS
    )
    assert registered.status_code == 201
    failed = api.post("/api/auth/login", {"username": "ada", "password": "wrong"}, **HEADERS)
    assert failed.status_code == 401
    login = api.post("/api/auth/login", {"username": "ada", "password": PASSWORD}, **HEADERS)
    refreshed = api.post("/api/auth/refresh", {"refresh": login.json()["refresh"]}, **HEADERS)
    assert refreshed.status_code == 200
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {refreshed.json()['access']}")
    assert api.post("/api/auth/logout", {}, **HEADERS).status_code == 204

    assert actions() == [
        ("auth.register", "ada", "user"),
        ("auth.login_failed", "", ""),
        ("auth.login", "ada", "user"),
        ("auth.refresh", "ada", "user"),
        ("auth.logout", "ada", "user"),
    ]
    entries = list(AuditEntry.objects.order_by("id"))
    assert {(e.ip, e.user_agent, e.request_id) for e in entries} == {("127.0.0.1", "CalendarApp/1.0", "req-42")}
    assert entries[1].actor is None and entries[1].data == {"username": "ada"}
    assert "wrong" not in str(entries[1].data)
    assert entries[0].target_id == str(entries[0].actor_id)


def test_event_writes_are_on_record(api, user):
    client = api.as_user(user)
    created = client.post("/api/events", slot(), HTTP_X_CHANGE_REASON="kickoff", **HEADERS)
    event_id = created.json()["id"]
    client.patch(f"/api/events/{event_id}", {"title": "Renamed"}, **HEADERS)
    client.post(f"/api/events/{event_id}/rollback/1", **HEADERS)
    client.delete(f"/api/events/{event_id}", **HEADERS)
    client.post(f"/api/events/{event_id}/restore", **HEADERS)
    batch = client.post("/api/events/batch", [slot("b1", 3), slot("b2", 5)], **HEADERS)

    assert [a for a, _, _ in actions()] == [
        "event.created",
        "event.updated",
        "event.rolled_back",
        "event.deleted",
        "event.restored",
        "event.batch_created",
    ]
    entries = list(AuditEntry.objects.order_by("id"))
    assert all(e.actor == user and e.request_id == "req-42" for e in entries)
    assert all((e.target_type, e.target_id) == ("event", str(event_id)) for e in entries[:5])
    assert entries[0].data == {"version": 1, "reason": "kickoff"}
    assert entries[1].data == {"version": 2, "fields": ["title"], "reason": None}
    assert entries[2].data["rolled_back_to"] == 1
    assert entries[5].data["ids"] == [r["id"] for r in batch.json()["results"]] and entries[5].data["count"] == 2


def test_sharing_changes_are_on_record(api, event_with_roles):
    event, users = event_with_roles  # two grants already
    owner = api.as_user(users["owner"])
    owner.post(f"/api/events/{event.pk}/share", {"users": [{"user_id": users["new"].pk, "role": "viewer"}]})
    owner.put(f"/api/events/{event.pk}/permissions/{users['new'].pk}", {"role": "editor"})
    owner.delete(f"/api/events/{event.pk}/permissions/{users['new'].pk}")

    rows = list(AuditEntry.objects.filter(action__startswith="permission.").order_by("id"))
    assert [(r.action, r.data) for r in rows][-3:] == [
        ("permission.granted", {"user": users["new"].pk, "role": "viewer"}),
        ("permission.changed", {"user": users["new"].pk, "role": "editor", "old_role": "viewer"}),
        ("permission.revoked", {"user": users["new"].pk, "role": "editor"}),
    ]
    assert all(r.target_id == str(event.pk) and r.actor == users["owner"] for r in rows)


def test_a_refused_change_leaves_no_audit_row(api, event_with_roles):
    event, users = event_with_roles
    before = AuditEntry.objects.count()

    # The grant to "new" is written (and audited) before the last-owner rule refuses the whole call.
    response = api.as_user(users["owner"]).post(
        f"/api/events/{event.pk}/share",
        {"users": [{"user_id": users["new"].pk, "role": "viewer"}, {"user_id": users["owner"].pk, "role": "viewer"}]},
    )

    assert response.status_code == 409
    assert AuditEntry.objects.count() == before
    assert not event.permissions.filter(user=users["new"]).exists()


def test_the_trail_is_append_only():
    entry = audit_record(actor=None, action="test.thing")
    entry.action = "other"

    with pytest.raises(TypeError):
        entry.save()
    with pytest.raises(TypeError):
        entry.delete()
    with pytest.raises(TypeError):
        AuditEntry.objects.filter(pk=entry.pk).update(action="other")
    with pytest.raises(TypeError):
        AuditEntry.objects.all().delete()
    assert AuditEntry.objects.get().action == "test.thing"


def test_the_admin_is_read_only():
    admin = AuditEntryAdmin(AuditEntry, site)
    request = RequestFactory().get("/admin/")
    request.user = UserFactory(is_staff=True, is_superuser=True)

    assert not admin.has_add_permission(request)
    assert not admin.has_change_permission(request)
    assert not admin.has_delete_permission(request)


def test_the_admin_lists_entries_for_staff(client):
    staff = UserFactory(is_staff=True, is_superuser=True)
    audit_record(actor=staff, action="auth.login", target=staff)
    client.force_login(staff)

    listing = client.get("/admin/history/auditentry/")

    assert listing.status_code == 200
    assert b"auth.login" in listing.content


# --- GET /api/audit ------------------------------------------------------------------------------


@pytest.fixture
def staff(db):
    return UserFactory(is_staff=True)


@pytest.mark.parametrize("who, status", [("staff", 200), ("user", 403), ("anonymous", 401)])
def test_only_staff_read_the_trail(api, staff, user, who, status):
    response = api.as_user({"staff": staff, "user": user, "anonymous": None}[who]).get("/api/audit")

    assert response.status_code == status
    if status != 200:
        assert response["Content-Type"].startswith("application/problem+json")


def test_the_trail_filters_and_pages(api, staff, user, other_user):
    event = make_event(user)
    make_event(other_user)
    audit_record(actor=user, action="auth.login", target=user)
    audit_record(actor=user, action="auth.logout", target=user)
    past = AuditEntry.objects.create(actor=user, action="auth.login", created_at=timezone.now() - timedelta(days=3))
    client = api.as_user(staff)

    def ids(**params):
        response = client.get("/api/audit", params)
        assert response.status_code == 200, response.content
        return [entry["id"] for entry in response.json()["results"]]

    everything = ids()
    assert everything[-1] == past.pk and everything[:-1] == sorted(everything[:-1], reverse=True)  # newest first
    assert len(ids(actor=other_user.pk)) == 1
    assert len(ids(action="auth.login")) == 2
    assert len(ids(action="auth.")) == 3
    assert ids(target_type="event", target_id=str(event.pk)) == [
        AuditEntry.objects.get(action="event.created", target_id=str(event.pk)).pk
    ]
    assert past.pk not in ids(since=(timezone.now() - timedelta(days=1)).isoformat())
    assert ids(until=(timezone.now() - timedelta(days=1)).isoformat()) == [past.pk]
    page = client.get("/api/audit", {"page_size": 2}).json()
    assert page["count"] == len(everything) and len(page["results"]) == 2 and page["next"]
    first = client.get("/api/audit", {"action": "event.created", "actor": user.pk}).json()["results"][0]
    assert first["actor"] == {"id": user.pk, "username": user.username}
    assert set(first) >= {"created_at", "action", "target_type", "target_id", "data", "ip", "user_agent", "request_id"}


@pytest.mark.parametrize(
    "params", [{"actor": "x"}, {"since": "soon"}, {"action": "a" * 65}, {"since": "2030-01-02", "until": "2030-01-01"}]
)
def test_bad_filters_are_a_400(api, staff, params):
    response = api.as_user(staff).get("/api/audit", params)

    assert response.status_code == 400


def test_the_trail_costs_a_fixed_number_of_queries(api, staff, django_assert_num_queries):
    for _ in range(30):
        audit_record(actor=UserFactory(), action="auth.login")
    client = api.as_user(staff)

    with django_assert_num_queries(3):  # auth user, count, page with actors
        assert client.get("/api/audit").status_code == 200


def test_a_forwarded_for_header_is_ignored_without_trusted_proxies(api):
    api.post("/api/auth/login", {"username": "nobody", "password": "x"}, HTTP_X_FORWARDED_FOR="6.6.6.6")

    assert AuditEntry.objects.get().ip == "127.0.0.1"


def test_outside_a_request_the_context_is_empty(user):
    entry = audit_record(actor=user, action="script.ran")

    assert (entry.ip, entry.user_agent, entry.request_id) == (None, "", "")


@pytest.mark.postgres
def test_postgres_refuses_to_change_the_trail_even_in_raw_sql(user):
    from django.db import connection, transaction
    from django.db.utils import DatabaseError

    if connection.vendor != "postgresql":
        pytest.skip("a PostgreSQL trigger")
    entry = audit_record(actor=user, action="auth.login", target=user)

    for sql in (
        "UPDATE history_auditentry SET action = 'x' WHERE id = %s",
        "DELETE FROM history_auditentry WHERE id = %s",
    ):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [entry.pk])
    assert AuditEntry.objects.get(pk=entry.pk).action == "auth.login"


def test_deleting_an_actor_keeps_their_entries(user):
    entry = audit_record(actor=user, action="auth.login", target=user)

    user.delete()

    kept = AuditEntry.objects.get(pk=entry.pk)
    assert (kept.actor_id, kept.actor_username, kept.action) == (None, entry.actor_username, "auth.login")
