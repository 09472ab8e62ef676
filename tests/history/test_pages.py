"""The history pages for people: errors as HTML pages that say how to get back in, a session as the way in,
compare any two versions, one version alone with a restore button, intermediate versions on the diff page."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from django.utils.crypto import get_random_string
from rest_framework.test import APIClient

from events.models import Event
from sharing import services as sharing_services
from tests.factories import UserFactory, make_event
from tests.helpers import database_state, edit

pytestmark = pytest.mark.django_db

FORM = "application/x-www-form-urlencoded"


@pytest.fixture
def people(db):
    owner, editor, viewer = (UserFactory(username=name) for name in ("olga", "ed", "vi"))
    event = make_event(owner, title="Plan")
    sharing_services.event_share(
        event=event,
        actor=owner,
        targets=[{"user_id": editor.pk, "role": "editor"}, {"user_id": viewer.pk, "role": "viewer"}],
    )
    event = edit(event, owner, reason="first try", title="Plan B")
    event = edit(event, editor, reason="typo", title="Plan C")
    event = edit(event, owner, title="Plan D")
    return event, {"owner": owner, "editor": editor, "viewer": viewer}


def browser(user=None) -> APIClient:
    """A browser: logged in with a session (when given a user), sending the CSRF token on its forms."""
    client = APIClient(enforce_csrf_checks=True)
    if user is not None:
        client.force_login(user)
    client.csrf = get_random_string(32)
    client.cookies["csrftoken"] = client.csrf
    return client


def html(response, status: int) -> str:
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"].startswith("text/html")
    assert "default-src 'none'" in response["Content-Security-Policy"]
    return response.content.decode()


@pytest.mark.parametrize(
    "url, status, says",
    [
        ("/events/{id}/history", 401, "Log in</a> and you will come back"),
        ("/events/{id}/history?token=an.access.token", 401, "Log in</a> and you will come back"),
    ],
)
def test_without_a_way_in_the_page_says_how_to_log_in(people, url, status, says):
    event, _ = people
    response = browser().get(url.format(id=event.pk))
    page = html(response, status)
    assert says in page
    assert f'href="/session/login?next=%2Fevents%2F{event.pk}%2Fhistory"' in page
    assert response["WWW-Authenticate"]


@pytest.mark.parametrize(
    "url, status, says",
    [
        ("/events/{id}/version/99", 404, "The event has no version 99."),
        ("/events/{id}/diff/1/99", 404, "The event has no version 99."),
        ("/events/999999/history", 404, "not shared with you"),
        ("/events/{id}/history?page=zero", 400, "A page number"),
        ("/events/{id}/compare?from=1&to=x", 404, "No such version"),
    ],
)
def test_errors_are_pages_that_say_what_happened(people, url, status, says):
    event, users = people
    page = html(browser(users["viewer"]).get(url.format(id=event.pk)), status)
    assert says in page and "<h1>" in page
    assert "Logged in as vi" in page


def test_the_history_page_compares_any_two_versions(people):
    event, users = people
    client = browser(users["viewer"])
    page = html(client.get(f"/events/{event.pk}/history"), 200)
    assert page.count('type="radio" name="from"') == page.count('type="radio" name="to"') == 4
    assert f'action="/events/{event.pk}/compare"' in page and "Compare selected versions" in page
    assert f'href="/events/{event.pk}/version/2"' in page

    response = client.get(f"/events/{event.pk}/compare", {"from": 4, "to": 1})
    assert (response.status_code, response["Location"]) == (302, f"/events/{event.pk}/diff/1/4")


def test_the_diff_page_lists_the_versions_it_skips_and_labels_its_times(people):
    event, users = people
    page = html(browser(users["viewer"]).get(f"/events/{event.pk}/diff/1/4"), 200)
    assert "(2 intermediate versions not shown)" in page
    assert "olga" in page and "ed," in page and "first try" in page and "typo" in page
    assert " UTC, " in page  # change times carry their zone
    assert "@media (max-width: 40rem)" in page  # one column on phones (seen in Chromium: tests/browser)
    adjacent = html(browser(users["viewer"]).get(f"/events/{event.pk}/diff/3/4"), 200)
    assert "intermediate" not in adjacent


def test_one_version_alone_with_restore_for_editors_only(people):
    event, users = people
    for role, can in (("owner", True), ("editor", True), ("viewer", False)):
        page = html(browser(users[role]).get(f"/events/{event.pk}/version/2"), 200)
        assert "Plan B" in page and "first try" in page
        assert ("Restore this version" in page) is can
    current = html(browser(users["owner"]).get(f"/events/{event.pk}/version/4"), 200)
    assert "Restore this version" not in current


def test_restoring_from_the_page_is_the_rollback(people):
    event, users = people
    client = browser(users["editor"])
    response = client.post(
        f"/events/{event.pk}/version/2",
        urlencode({"change_reason": "back to B"}),
        content_type=FORM,
        HTTP_X_CSRFTOKEN=client.csrf,
    )
    assert (response.status_code, response["Location"]) == (303, f"/events/{event.pk}/history")
    restored = Event.objects.get(pk=event.pk)
    assert (restored.title, restored.version) == ("Plan B", 5)
    last = Event.history.filter(id=event.pk).latest("version")
    assert (last.history_user_id, last.history_change_reason, last.history_type) == (
        users["editor"].pk,
        "back to B",
        "~",
    )


def test_a_restore_without_the_csrf_token_or_by_a_viewer_changes_nothing(people):
    event, users = people
    owner, viewer = browser(users["owner"]), browser(users["viewer"])  # their sessions are rows too
    before = database_state()
    forged = owner.post(f"/events/{event.pk}/version/2", "", content_type=FORM)
    assert "CSRF" in html(forged, 403)
    refused = viewer.post(f"/events/{event.pk}/version/2", "", content_type=FORM, HTTP_X_CSRFTOKEN=viewer.csrf)
    assert "Your role on this event does not allow this" in html(refused, 403)
    assert database_state() == before
