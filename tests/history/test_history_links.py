"""History links: a read-only, revocable URL to one event's history pages, read as its creator would now."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from common.secret_tokens import secret_digest
from events.models import Event
from history.audit import AuditEntry
from history.models import HistoryLink
from sharing import services as sharing_services
from tests.factories import make_event
from tests.helpers import assert_problem, database_state, edit

pytestmark = pytest.mark.django_db


def create_link(api, user, event, **body) -> dict:
    response = api.as_user(user).post(f"/api/events/{event.pk}/history-links", body, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def secret_of(created: dict) -> str:
    return parse_qs(urlsplit(created["url"]).query)["link"][0]


def page(path: str, secret: str, **query):
    """What a browser with nothing but the link gets."""
    return APIClient().get(path, {**query, "link": secret})


def test_a_link_is_created_once_listed_without_its_secret_and_audited(api, event_with_roles):
    event, users = event_with_roles
    created = create_link(api, users["viewer"], event)

    assert created.keys() == {"id", "event_id", "url", "created_at", "expires_at", "last_used_at"}
    assert created["event_id"] == event.pk and created["expires_at"] is None
    assert created["url"].startswith(f"http://testserver/events/{event.pk}/history?link=")
    secret = secret_of(created)
    assert len(secret) >= 22  # at least 128 bits, URL-safe base64
    row = HistoryLink.objects.get(pk=created["id"])
    assert row.digest == secret_digest(secret) and secret not in row.digest  # only a digest is kept
    listed = api.as_user(users["viewer"]).get(f"/api/events/{event.pk}/history-links").json()["results"]
    assert [item["id"] for item in listed] == [created["id"]]
    assert "url" not in listed[0]
    # Each user lists their own links only.
    assert api.as_user(users["owner"]).get(f"/api/events/{event.pk}/history-links").json()["results"] == []
    entry = AuditEntry.objects.get(action="history_link.created")
    assert (entry.actor, entry.target_id, entry.data["event"]) == (users["viewer"], str(row.pk), event.pk)


def test_the_link_reads_every_page_and_carries_itself_on(api, event_with_roles):
    event, users = event_with_roles
    event = edit(event, users["owner"], title="Second")
    secret = secret_of(create_link(api, users["viewer"], event))

    history = page(f"/events/{event.pk}/history", secret)
    assert history.status_code == 200, history.content[:400]
    body = history.content.decode()
    assert "Second" in body and "history link of viewer" in body and "Log out" not in body
    assert f'href="/events/{event.pk}/diff/1/2?link={secret}"' in body
    assert f'<input type="hidden" name="link" value="{secret}">' in body  # the compare form keeps it
    assert page(f"/events/{event.pk}/diff/1/2", secret).status_code == 200
    version = page(f"/events/{event.pk}/version/1", secret)
    assert version.status_code == 200 and "Restore this version" not in version.content.decode()
    compare = page(f"/events/{event.pk}/compare", secret, **{"from": 2, "to": 1})
    assert (compare.status_code, compare["Location"]) == (302, f"/events/{event.pk}/diff/1/2?link={secret}")
    assert HistoryLink.objects.get().last_used_at is not None


def test_an_editors_link_never_restores(api, event_with_roles):
    event, users = event_with_roles
    event = edit(event, users["owner"], title="Second")
    secret = secret_of(create_link(api, users["editor"], event))
    before = database_state()

    response = APIClient(enforce_csrf_checks=True).post(
        f"/events/{event.pk}/version/1?link={secret}",
        "change_reason=x",
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == 403
    assert "only reads" in response.content.decode()
    assert database_state() == before
    assert Event.objects.get(pk=event.pk).version == 2


def _gone(response) -> None:
    assert response.status_code == 401, response.content[:400]
    assert response["Content-Type"].startswith("text/html") and response["WWW-Authenticate"]
    assert "This history link no longer works" in response.content.decode()


@pytest.mark.parametrize("how", ["revoked", "unshared", "deactivated", "expired", "other event", "tampered"])
def test_a_link_that_no_longer_works_says_so(api, event_with_roles, how):
    event, users = event_with_roles
    created = create_link(api, users["viewer"], event)
    secret = secret_of(created)
    paths = [f"/events/{event.pk}/history", f"/events/{event.pk}/diff/1/1"]
    assert page(paths[0], secret).status_code == 200
    if how == "revoked":
        response = api.as_user(users["viewer"]).delete(f"/api/events/{event.pk}/history-links/{created['id']}")
        assert response.status_code == 204 and not HistoryLink.objects.exists()
        assert AuditEntry.objects.filter(action="history_link.revoked", actor=users["viewer"]).exists()
    elif how == "unshared":
        sharing_services.permission_revoke(event=event, actor=users["owner"], user_id=users["viewer"].pk)
    elif how == "deactivated":
        users["viewer"].is_active = False
        users["viewer"].save()
    elif how == "expired":
        HistoryLink.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    elif how == "other event":
        other = make_event(users["viewer"], title="The viewer's own")  # one the creator sees, but not the link's
        paths = [f"/events/{other.pk}/history", f"/events/{other.pk}/version/1"]
    elif how == "tampered":
        secret = secret[:-1] + ("A" if secret[-1] != "A" else "B")
    before = database_state()
    for path in paths:
        _gone(page(path, secret))
    assert database_state() == before


def test_a_link_is_refused_for_a_stranger_and_by_anyone_but_its_creator(api, event_with_roles):
    event, users = event_with_roles
    response = api.as_user(users["stranger"]).post(f"/api/events/{event.pk}/history-links", {}, format="json")
    assert_problem(response, 404)
    created = create_link(api, users["viewer"], event)
    owner, viewer = APIClient(), APIClient()
    owner.force_authenticate(users["owner"])
    viewer.force_authenticate(users["viewer"])
    before = database_state()
    assert_problem(owner.delete(f"/api/events/{event.pk}/history-links/{created['id']}"), 404)
    assert_problem(viewer.delete(f"/api/events/{event.pk}/history-links/x"), 404)
    assert database_state() == before


def test_a_link_is_not_a_credential_for_the_api(api, event_with_roles):
    event, users = event_with_roles
    secret = secret_of(create_link(api, users["owner"], event))

    assert_problem(APIClient().get(f"/api/events/{event.pk}/history", {"link": secret}), 401)
    assert_problem(APIClient().get(f"/api/events/{event.pk}", {"link": secret}), 401)


@pytest.mark.parametrize(
    "expires_at, status",
    [
        (lambda now: now + timedelta(days=7), 201),
        (lambda now: now - timedelta(minutes=1), 400),
        (lambda now: now + timedelta(days=400), 400),
        (lambda now: None, 201),
    ],
)
def test_an_expiry_is_in_the_future_within_a_year(api, event_with_roles, expires_at, status):
    event, users = event_with_roles
    moment = expires_at(timezone.now())
    body = {"expires_at": moment.isoformat() if moment else None}
    response = api.as_user(users["viewer"]).post(f"/api/events/{event.pk}/history-links", body, format="json")
    assert response.status_code == status, response.content
    if status == 400:
        assert "expires_at" in response.json()["errors"]
        assert not HistoryLink.objects.exists()


def test_links_per_event_are_bounded(api, event_with_roles):
    event, users = event_with_roles
    for _ in range(HistoryLink.PER_EVENT_MAX):
        create_link(api, users["viewer"], event)
    response = api.as_user(users["viewer"]).post(f"/api/events/{event.pk}/history-links", {}, format="json")
    assert_problem(response, 400)
    assert HistoryLink.objects.count() == HistoryLink.PER_EVENT_MAX
