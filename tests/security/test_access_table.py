"""Who may do what: every operation in the OpenAPI schema × anonymous / stranger / viewer / editor / owner / staff.

The operations come from the schema itself, generated in-process as `manage.py spectacular` does, so a
new endpoint cannot be forgotten: an operation in the schema without a row in TABLE fails (with what to
add), and so does a row for an operation the schema no longer has.

The rules the table encodes:

- No credentials (or a bad token) → 401 with `WWW-Authenticate`, except register, login and refresh,
  which are open to everyone (a token sent with them is ignored).
- An event you hold no role on → 404, the same answer as for an event that does not exist, so a
  stranger learns nothing. A role too weak for the action → 403. A deleted event is seen by its
  owners only (restore).
- **Staff** (`is_staff=True`, no role on the event) get no special access to other people's events
  through the API: for every event endpoint they are strangers (404, nothing listed, nothing in
  their sync feed, free/busy or notifications, no socket messages). Their one extra right is reading
  the audit trail, `GET /api/audit` (everyone else: 403). The admin site, not the API, is where staff
  act on other people's data.
- Endpoints about the caller (me, notifications, sync, deleted, freebusy, conflicts, create, batch)
  answer every authenticated user about their own data only.

Each role comes in two ways: with an access token (API clients) and with a Django session (a person in
the browsable API, whose writes carry the CSRF token); both get the same answers. A session's write
without the CSRF token is a 403 and changes nothing.

A history link (`POST /api/events/{id}/history-links`) is a third way in, for the HTML history pages only:
read-only, as its creator can read now; a revoked link, a creator who lost access or was deactivated → the
401 page saying the link no longer works; a restore through it → 403; on an API endpoint it is no
credential at all (401). `test_a_history_link_is_a_way_into_the_pages_only` has those rows.

Every refused request (4xx) is a problem+json and leaves the database exactly as it was: events with
their versions, permissions, history rows, the change feed, notifications, audit rows, users, tokens.
Every allowed one has its effect, and reads write nothing. The notifications WebSocket has its row at
the end: a bad token closes with 4401; an owner's change reaches the editor and the viewer, not the
stranger or staff.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.crypto import get_random_string
from drf_spectacular.settings import spectacular_settings
from rest_framework.test import APIClient

from accounts import services as account_services
from accounts.models import AppPassword, RevokedAccessToken
from accounts.tokens import tokens_for
from events import services as event_services
from events.models import Event
from history import links as history_links
from history.models import HistoryLink
from ical import services as ical_services
from ical.models import Feed
from notifications.consumers import CLOSE_UNAUTHENTICATED
from notifications.models import Notification
from sharing import services as sharing_services
from sharing.models import EventPermission
from tests.factories import BASE_TIME, PASSWORD, UserFactory, make_event
from tests.helpers import database_state
from tests.notifications.sockets import closed_with, receive, run, socket

User = get_user_model()

ROLES = ("owner", "editor", "viewer", "stranger", "anonymous", "staff")
WITH_ACCESS = {"owner", "editor", "viewer"}
METHODS = ("get", "post", "put", "patch", "delete")

SERIES_START = "2030-01-07T12:00:00Z"
SECOND_OCCURRENCE = "2030-01-14T12:00:00Z"
MONTH = "start=2030-01-01T00:00:00Z&end=2030-02-01T00:00:00Z"
FUTURE = "as_of=2199-01-01T00:00:00Z"


# --- the schema ---------------------------------------------------------------------------------------


@cache
def schema_operations() -> tuple[tuple[str, str], ...]:
    """(method, path without its trailing slash) of every operation, from the schema `manage.py spectacular` makes."""
    generator = spectacular_settings.DEFAULT_GENERATOR_CLASS()
    schema = generator.get_schema(request=None, public=True)
    return tuple(
        (method, path.rstrip("/")) for path, item in schema["paths"].items() for method in item if method in METHODS
    )


# --- the world every cell runs in ---------------------------------------------------------------------


@dataclass
class World:
    users: dict
    event: Event  # "Planning": version 2 (created as "Draft", renamed), owner + editor + viewer + member (viewer)
    series: Event  # a weekly series, owner + editor + viewer
    deleted: Event  # deleted by its owner, once shared with the editor and the viewer
    notification: Notification  # one of the viewer's
    refresh: str  # a live refresh token of `member`
    app_password: AppPassword  # one of the owner's
    feed: Feed  # the owner's subscription feed
    feed_secret: str  # its URL's secret: the feed URL's own way in, no other credential
    history_link: HistoryLink  # the owner's link to the event's history pages

    def ids(self, *, missing: bool = False) -> dict:
        """What request paths are formatted with; `missing`: ids of nothing that exists, same shapes."""
        gone = 10_000 + max(Event.objects.order_by("-pk").values_list("pk", flat=True)[0], self.notification.pk)
        return {
            "event": gone if missing else self.event.pk,
            "series": gone if missing else self.series.pk,
            "deleted": gone if missing else self.deleted.pk,
            "notification": gone if missing else self.notification.pk,
            "member": self.users["member"].pk,
            "occurrence": SECOND_OCCURRENCE,
            "refresh": self.refresh,
            "app_password": gone if missing else self.app_password.pk,
            "feed": 10_000 + self.feed.pk if missing else self.feed.pk,
            "secret": "no-such-feed-secret" if missing else self.feed_secret,
            "history_link": 10_000 + self.history_link.pk if missing else self.history_link.pk,
        }


def _share(event, owner, **roles):
    sharing_services.event_share(
        event=event, actor=owner, targets=[{"user_id": user.pk, "role": role} for role, user in roles.items()]
    )


@pytest.fixture
def world(db) -> World:
    names = ("owner", "editor", "viewer", "stranger", "new", "member")
    users = {name: UserFactory(username=name) for name in names}
    users["staff"] = UserFactory(username="staff", is_staff=True)
    users["anonymous"] = None
    owner = users["owner"]

    event = make_event(owner, title="Draft")
    event = event_services.event_update(
        event=event, actor=owner, changes={"title": "Planning"}, conflict_strategy="allow"
    ).event
    sharing_services.event_share(
        event=event,
        actor=owner,
        targets=[
            {"user_id": users["editor"].pk, "role": "editor"},
            {"user_id": users["viewer"].pk, "role": "viewer"},
            {"user_id": users["member"].pk, "role": "viewer"},
        ],
    )
    series = make_event(
        owner,
        title="Weekly",
        start=datetime.fromisoformat(SERIES_START),
        recurrence={"rrule": "FREQ=WEEKLY;COUNT=4", "exdates": [], "rdates": []},
    )
    sharing_services.event_share(
        event=series,
        actor=owner,
        targets=[{"user_id": users["editor"].pk, "role": "editor"}, {"user_id": users["viewer"].pk, "role": "viewer"}],
    )
    deleted = make_event(owner, title="Gone", start=BASE_TIME + timedelta(days=2))
    sharing_services.event_share(
        event=deleted,
        actor=owner,
        targets=[{"user_id": users["editor"].pk, "role": "editor"}, {"user_id": users["viewer"].pk, "role": "viewer"}],
    )
    deleted = event_services.event_delete(event=deleted, actor=owner)
    event.refresh_from_db()
    feed, feed_secret = ical_services.feed_create(owner=owner, name="Work")
    # Polled a moment ago: a poll records last_used_at at most once a minute, so this read writes nothing.
    ical_services.feed_touch(feed, timezone.now())
    history_link = _history_link(event, owner)
    return World(
        history_link=history_link,
        feed=feed,
        feed_secret=feed_secret,
        users=users,
        event=event,
        series=series,
        deleted=deleted,
        notification=Notification.objects.filter(recipient=users["viewer"]).order_by("pk").first(),
        refresh=tokens_for(users["member"])["refresh"],
        app_password=account_services.app_password_create(user=owner, name="Phone")[0],
    )


def _history_link(event, creator) -> HistoryLink:
    """A link to `event`'s history pages, with its secret as `.secret`; used a moment ago, so a read writes nothing."""
    link, secret = history_links.history_link_create(event=event, creator=creator)
    HistoryLink.objects.filter(pk=link.pk).update(last_used_at=timezone.now())
    link.secret = secret
    return link


# --- what an allowed request must have done ------------------------------------------------------------


def _reload(event) -> Event:
    return Event.objects.get(pk=event.pk)


def _listed_event_ids(response) -> list[int]:
    return [item["id"] for item in response.json()["results"]]


def check_register(response, w, role):
    assert User.objects.filter(username="fresh", email="fresh@example.com").exists()
    assert response.json()["user"]["username"] == "fresh"
    assert {"access", "refresh"} <= response.json().keys()


def check_login(response, w, role):
    assert response.json()["user"]["username"] == "member"
    assert {"access", "refresh"} <= response.json().keys()


def check_refresh(response, w, role, client):
    assert {"access", "refresh"} <= response.json().keys()
    client.credentials()
    assert client.post("/api/auth/refresh", {"refresh": w.refresh}, format="json").status_code == 401  # rotated


def check_logout(response, w, role, client):
    if "HTTP_AUTHORIZATION" not in client._credentials:  # a browser's session: ended, no token to revoke
        assert "_auth_user_id" not in client.session
    else:
        assert RevokedAccessToken.objects.filter(user=w.users[role]).count() == 1
    assert client.get("/api/auth/me").status_code == 401  # the token (or session) just logged out


def check_me(response, w, role):
    assert response.json()["username"] == role


def check_app_passwords(response, w, role):
    names = [item["name"] for item in response.json()["results"]]
    assert names == (["Phone"] if role == "owner" else [])


def check_app_password_create(response, w, role):
    assert AppPassword.objects.get(pk=response.json()["id"], user=w.users[role]).name == "Laptop"


def check_app_password_revoke(response, w, role):
    assert not AppPassword.objects.filter(pk=w.app_password.pk).exists()


def check_list(response, w, role):
    listed = _listed_event_ids(response)
    assert (w.event.pk in listed) is (role in WITH_ACCESS)
    assert w.deleted.pk not in listed
    if role in WITH_ACCESS:
        assert next(i for i in response.json()["results"] if i["id"] == w.event.pk)["my_role"] == role
    else:
        assert listed == []


def check_create(response, w, role):
    created = Event.objects.get(pk=response.json()["id"])
    assert (created.title, created.owner, created.version) == ("Created", w.users[role], 1)


def check_batch(response, w, role):
    ids = [item["id"] for item in response.json()["results"]]
    assert sorted(Event.objects.filter(pk__in=ids, owner=w.users[role]).values_list("title", flat=True)) == [
        "Batch 1",
        "Batch 2",
    ]


def check_conflicts(response, w, role):
    assert response.json()["results"] == []  # nothing overlaps in the world


def check_freebusy(response, w, role):
    assert bool(response.json()["results"]) is (role in WITH_ACCESS)


def check_deleted(response, w, role):
    assert _listed_event_ids(response) == ([w.deleted.pk] if role == "owner" else [])


def check_retrieve(response, w, role):
    assert (response.json()["id"], response.json()["my_role"]) == (w.event.pk, role)
    assert response["ETag"]


def check_retrieve_as_of(response, w, role):
    assert (response.json()["id"], response.json()["title"]) == (w.event.pk, "Planning")


def _check_updated(w, role, **fields):
    event = _reload(w.event)
    assert event.version == w.event.version + 1
    assert {name: getattr(event, name) for name in fields} == fields
    last = Event.history.filter(id=event.pk).latest("version")
    assert (last.version, last.history_user_id) == (event.version, w.users[role].pk)


def check_update(response, w, role):
    _check_updated(w, role, title="Changed")


def check_partial_update(response, w, role):
    _check_updated(w, role, location="Elsewhere", title="Planning")


def check_update_following(response, w, role):
    created = Event.objects.get(pk=response.json()["created"]["id"])
    assert (created.title, _reload(w.series).version) == ("Changed", w.series.version + 1)


def check_destroy(response, w, role):
    assert not Event.objects.alive().filter(pk=w.event.pk).exists()


def check_occurrences(response, w, role):
    assert len(response.json()["results"]) == 4


def check_occurrence_update(response, w, role):
    series = _reload(w.series)
    assert (series.exceptions, series.version) == ({SECOND_OCCURRENCE: {"title": "Changed"}}, w.series.version + 1)


def check_occurrence_cancel(response, w, role):
    series = _reload(w.series)
    assert (series.exceptions, series.version) == ({SECOND_OCCURRENCE: {"cancelled": True}}, w.series.version + 1)


def check_share(response, w, role):
    assert EventPermission.objects.get(event=w.event, user=w.users["new"]).role == "viewer"


def check_permissions(response, w, role):
    assert {entry["user"]["username"] for entry in response.json()["results"]} == {
        "owner",
        "editor",
        "viewer",
        "member",
    }


def check_set_role(response, w, role):
    assert EventPermission.objects.get(event=w.event, user=w.users["member"]).role == "editor"


def check_revoke(response, w, role):
    assert not EventPermission.objects.filter(event=w.event, user=w.users["member"]).exists()


def check_history(response, w, role):
    assert [row["version"] for row in response.json()["results"]] == [1, 2]


def check_version(response, w, role):
    assert (response.json()["version"], response.json()["data"]["title"]) == (1, "Draft")


def check_changelog(response, w, role):
    assert len(response.json()["results"]) >= 3  # two versions and the sharing


def check_diff(response, w, role):
    body = response.json()
    assert (body["from_version"], body["to_version"]) == (1, 2)
    assert "title" in body["changes"]


def check_rollback(response, w, role):
    _check_updated(w, role, title="Draft")


def check_restore(response, w, role):
    restored = _reload(w.deleted)
    assert (restored.deleted_at, restored.version) == (None, w.deleted.version + 1)


def check_history_links(response, w, role):
    listed = [item["id"] for item in response.json()["results"]]
    assert listed == ([w.history_link.pk] if role == "owner" else [])


def check_history_link_create(response, w, role):
    body = response.json()
    link = HistoryLink.objects.get(pk=body["id"])
    assert (link.creator, link.event, body["event_id"]) == (w.users[role], w.event, w.event.pk)
    assert f"/events/{w.event.pk}/history?link=" in body["url"]


def check_history_link_revoke(response, w, role):
    assert not HistoryLink.objects.filter(pk=w.history_link.pk).exists()


def check_audit(response, w, role):
    assert response.json()["count"] >= 1


def check_notifications(response, w, role):
    ids = [item["id"] for item in response.json()["results"]]
    mine = sorted(Notification.objects.filter(recipient=w.users[role]).values_list("pk", flat=True))
    assert sorted(ids) == mine
    assert bool(ids) is (role in {"editor", "viewer"})  # the owner made every change


def check_notification_read(response, w, role):
    assert Notification.objects.get(pk=w.notification.pk).read_at is not None


def check_notifications_read_all(response, w, role):
    assert not Notification.objects.filter(recipient=w.users[role], read_at__isnull=True).exists()


def check_sync(response, w, role):
    listed = {change["event_id"] for change in response.json()["changes"]}
    assert (w.event.pk in listed) is (role in WITH_ACCESS)
    if role not in WITH_ACCESS:
        assert listed == set()


def check_transaction(response, w, role):
    _check_updated(w, role, title="Changed")


def check_compare_page(response, w, role):
    assert response["Location"] == f"/events/{w.event.pk}/diff/1/2"


def check_ics(response, w, role):
    assert response["Content-Type"].startswith("text/calendar")
    assert f"UID:{w.event.uid}" in response.content.decode()
    assert response["ETag"]


def check_import(response, w, role):
    [created] = response.json()["created"]
    event = Event.objects.get(pk=created)
    assert (event.uid, event.title, event.owner) == ("imported-1", "Imported", w.users[role])


def check_feeds(response, w, role):
    assert [feed["name"] for feed in response.json()["results"]] == (["Work"] if role == "owner" else [])
    assert all("url" not in feed for feed in response.json()["results"])  # the secret is shown only once


def check_feed_create(response, w, role):
    body = response.json()
    assert body["url"].endswith(".ics") and body["webcal_url"].startswith("webcal://")
    assert Feed.objects.get(pk=body["id"]).owner == w.users[role]


def check_feed_revoke(response, w, role):
    assert not Feed.objects.filter(pk=w.feed.pk).exists()


def check_feed_calendar(response, w, role):
    body = response.content.decode()
    assert response["Content-Type"].startswith("text/calendar")
    assert f"UID:{w.event.uid}" in body and f"UID:{w.deleted.uid}" not in body


IMPORT = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:imported-1\r\n"
    "DTSTART:20320301T100000Z\r\nDTEND:20320301T110000Z\r\nSUMMARY:Imported\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
)


def check_page(response, w, role):
    assert response["Content-Type"].startswith("text/html")
    assert "Planning" in response.content.decode()


# --- the table ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    """One request: `url` formatted with World.ids(), a callable `body` called with them; `statuses` in ROLES order."""

    url: str
    statuses: tuple[int, int, int, int, int, int]
    check: Callable
    body: dict | Callable | None = None
    name: str = ""
    extra: dict = field(default_factory=dict)

    def expected(self, role: str) -> int:
        return self.statuses[ROLES.index(role)]


#          owner editor viewer stranger anonymous staff
READ = (200, 200, 200, 404, 401, 404)
EDIT = (200, 200, 403, 404, 401, 404)
OWNER = (200, 403, 403, 404, 401, 404)
ANY_USER = (200, 200, 200, 200, 401, 200)
CREATED = (201, 201, 201, 201, 401, 201)
EVERYONE = (200, 200, 200, 200, 200, 200)

NEW_EVENT = {"title": "Created", "start_time": "2032-03-01T10:00:00Z", "end_time": "2032-03-01T11:00:00Z"}

TABLE: dict[tuple[str, str], list[Call]] = {
    # accounts/urls.py
    ("post", "/api/auth/register"): [
        Call(
            "/api/auth/register",
            (201,) * 6,
            check_register,
            {"username": "fresh", "email": "fresh@example.com", "password": "a-long-and-unusual-passphrase"},
        )
    ],
    ("post", "/api/auth/login"): [
        Call("/api/auth/login", EVERYONE, check_login, {"username": "member", "password": PASSWORD})
    ],
    ("post", "/api/auth/refresh"): [
        Call("/api/auth/refresh", EVERYONE, check_refresh, lambda ids: {"refresh": ids["refresh"]})
    ],
    ("post", "/api/auth/logout"): [Call("/api/auth/logout", (204, 204, 204, 204, 401, 204), check_logout, {})],
    ("get", "/api/auth/me"): [Call("/api/auth/me", ANY_USER, check_me)],
    ("get", "/api/auth/app-passwords"): [Call("/api/auth/app-passwords", ANY_USER, check_app_passwords)],
    ("post", "/api/auth/app-passwords"): [
        Call("/api/auth/app-passwords", CREATED, check_app_password_create, {"name": "Laptop"})
    ],
    ("delete", "/api/auth/app-passwords/{id}"): [
        # The caller's own only: anyone else's is 404, like one that does not exist.
        Call("/api/auth/app-passwords/{app_password}", (204, 404, 404, 404, 401, 404), check_app_password_revoke)
    ],
    # events/urls.py
    ("get", "/api/events"): [Call("/api/events", ANY_USER, check_list)],
    ("post", "/api/events"): [Call("/api/events", CREATED, check_create, NEW_EVENT)],
    ("post", "/api/events/batch"): [
        Call(
            "/api/events/batch",
            CREATED,
            check_batch,
            {
                "events": [
                    {**NEW_EVENT, "title": "Batch 1"},
                    {
                        "title": "Batch 2",
                        "start_time": "2032-03-02T10:00:00Z",
                        "end_time": "2032-03-02T11:00:00Z",
                    },
                ]
            },
        )
    ],
    ("get", "/api/events/conflicts"): [Call("/api/events/conflicts?" + MONTH, ANY_USER, check_conflicts)],
    ("get", "/api/freebusy"): [Call("/api/freebusy?" + MONTH, ANY_USER, check_freebusy)],
    ("get", "/api/events/{id}"): [
        Call("/api/events/{event}", READ, check_retrieve),
        Call("/api/events/{event}?" + FUTURE, READ, check_retrieve_as_of, name="as_of"),
    ],
    ("put", "/api/events/{id}"): [Call("/api/events/{event}", EDIT, check_update, {"title": "Changed"})],
    ("patch", "/api/events/{id}"): [
        Call("/api/events/{event}", EDIT, check_partial_update, {"location": "Elsewhere"}),
        Call(
            "/api/events/{series}?scope=following&occurrence={occurrence}",
            EDIT,
            check_update_following,
            {"title": "Changed"},
            name="following",
        ),
    ],
    ("delete", "/api/events/{id}"): [Call("/api/events/{event}", (204, 403, 403, 404, 401, 404), check_destroy)],
    ("get", "/api/events/{id}/occurrences"): [
        Call("/api/events/{series}/occurrences", READ, check_occurrences),
        Call("/api/events/{series}/occurrences?" + FUTURE, READ, check_occurrences, name="as_of"),
    ],
    ("patch", "/api/events/{id}/occurrences/{original_start}"): [
        Call("/api/events/{series}/occurrences/{occurrence}", EDIT, check_occurrence_update, {"title": "Changed"})
    ],
    ("delete", "/api/events/{id}/occurrences/{original_start}"): [
        Call("/api/events/{series}/occurrences/{occurrence}", (204, 204, 403, 404, 401, 404), check_occurrence_cancel)
    ],
    # sharing/urls.py
    ("post", "/api/events/{id}/share"): [
        Call("/api/events/{event}/share", OWNER, check_share, {"users": [{"username": "new", "role": "viewer"}]})
    ],
    ("get", "/api/events/{id}/permissions"): [Call("/api/events/{event}/permissions", READ, check_permissions)],
    ("put", "/api/events/{id}/permissions/{user_id}"): [
        Call("/api/events/{event}/permissions/{member}", OWNER, check_set_role, {"role": "editor"})
    ],
    ("patch", "/api/events/{id}/permissions/{user_id}"): [
        Call("/api/events/{event}/permissions/{member}", OWNER, check_set_role, {"role": "editor"})
    ],
    ("delete", "/api/events/{id}/permissions/{user_id}"): [
        Call("/api/events/{event}/permissions/{member}", (204, 403, 403, 404, 401, 404), check_revoke)
    ],
    # history/urls.py
    ("get", "/api/events/{id}/history"): [Call("/api/events/{event}/history", READ, check_history)],
    ("get", "/api/events/{id}/history/{version}"): [Call("/api/events/{event}/history/1", READ, check_version)],
    ("get", "/api/events/{id}/changelog"): [Call("/api/events/{event}/changelog", READ, check_changelog)],
    ("get", "/api/events/{id}/diff/{v1}/{v2}"): [Call("/api/events/{event}/diff/1/2", READ, check_diff)],
    ("post", "/api/events/{id}/rollback/{version}"): [
        Call("/api/events/{event}/rollback/1", EDIT, check_rollback, {"change_reason": "back"})
    ],
    ("post", "/api/events/{id}/restore"): [
        # A deleted event is seen by its owners only.
        Call("/api/events/{deleted}/restore", (200, 404, 404, 404, 401, 404), check_restore, {}),
        # A live one: nothing to restore (409) for its owner, not the editor's or viewer's to restore (403).
        Call("/api/events/{event}/restore", (409, 403, 403, 404, 401, 404), check_restore, {}, name="live"),
    ],
    ("get", "/api/events/deleted"): [Call("/api/events/deleted", ANY_USER, check_deleted)],
    ("get", "/api/events/{id}/history-links"): [Call("/api/events/{event}/history-links", READ, check_history_links)],
    ("post", "/api/events/{id}/history-links"): [
        Call("/api/events/{event}/history-links", (201, 201, 201, 404, 401, 404), check_history_link_create, {})
    ],
    ("delete", "/api/events/{id}/history-links/{link_id}"): [
        # The creator's own only: anyone else's is 404, like one that does not exist.
        Call(
            "/api/events/{event}/history-links/{history_link}",
            (204, 404, 404, 404, 401, 404),
            check_history_link_revoke,
        )
    ],
    ("get", "/api/audit"): [Call("/api/audit", (403, 403, 403, 403, 401, 200), check_audit)],
    ("get", "/events/{id}/history"): [Call("/events/{event}/history", READ, check_page)],
    ("get", "/events/{id}/diff/{v1}/{v2}"): [Call("/events/{event}/diff/1/2", READ, check_page)],
    ("get", "/events/{id}/compare"): [
        Call("/events/{event}/compare?from=2&to=1", (302, 302, 302, 404, 401, 404), check_compare_page)
    ],
    ("get", "/events/{id}/version/{version}"): [Call("/events/{event}/version/1", READ, check_page)],
    ("post", "/events/{id}/version/{version}"): [
        Call("/events/{event}/version/1", (303, 303, 403, 404, 401, 404), check_rollback, {"change_reason": "back"})
    ],
    # notifications/urls.py: the caller's own; another user's notification is 404 like a missing one
    ("get", "/api/notifications"): [Call("/api/notifications", ANY_USER, check_notifications)],
    ("post", "/api/notifications/{id}/read"): [
        Call("/api/notifications/{notification}/read", (404, 404, 200, 404, 401, 404), check_notification_read, {})
    ],
    ("post", "/api/notifications/read"): [Call("/api/notifications/read", ANY_USER, check_notifications_read_all, {})],
    ("get", "/api/sync"): [Call("/api/sync", ANY_USER, check_sync)],
    # ical/urls.py; the feed URL's secret is its own way in: whoever holds it reads the feed, no other credential
    ("get", "/api/events/{id}/ics"): [
        Call("/api/events/{event}/ics", READ, check_ics),
        Call("/api/events/{event}/ics?" + FUTURE, READ, check_ics, name="as_of"),
    ],
    ("post", "/api/events/import"): [
        Call("/api/events/import", ANY_USER, check_import, IMPORT, extra={"content_type": "text/calendar"})
    ],
    ("get", "/api/feeds"): [Call("/api/feeds", ANY_USER, check_feeds)],
    ("post", "/api/feeds"): [Call("/api/feeds", CREATED, check_feed_create, {"name": "Mine"})],
    ("delete", "/api/feeds/{id}"): [Call("/api/feeds/{feed}", (204, 404, 404, 404, 401, 404), check_feed_revoke)],
    ("get", "/api/feed/{secret}.ics"): [Call("/api/feed/{secret}.ics", EVERYONE, check_feed_calendar)],
    # config/urls.py: each operation is checked as its single endpoint, a refusal fails them all
    ("post", "/api/transactions"): [
        Call(
            "/api/transactions",
            EDIT,
            check_transaction,
            lambda ids: {"operations": [{"op": "update", "event_id": ids["event"], "data": {"title": "Changed"}}]},
        )
    ],
}

MISSING = Call("", (0,) * 6, check_me)  # a schema operation without a row: the cell fails, saying what to add


# How a user comes in: an access token (API clients) or a Django session (a person in the browsable API,
# whose writes carry the CSRF token). Anonymous has neither.
VIA = ("token", "session")


def _cells():
    for method, path in schema_operations():
        calls = TABLE.get((method, path), [MISSING])
        for index, call in enumerate(calls):
            for role in ROLES:
                variant = f"[{call.name}]" if call.name else ""
                expected = "NO-ROW" if call is MISSING else call.expected(role)
                for via in VIA if role != "anonymous" else VIA[:1]:
                    yield pytest.param(
                        method, path, index, role, via, id=f"{method.upper()} {path}{variant}-{role}-{via}-{expected}"
                    )


def session_client(user) -> APIClient:
    """A browser logged in with a session: it sends the CSRF token on writes, as the browsable API's forms do."""
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(user)
    token = get_random_string(32)
    client.cookies[settings.CSRF_COOKIE_NAME] = token
    client.credentials(HTTP_X_CSRFTOKEN=token)
    return client


def client_for(api, user, via: str):
    return session_client(user) if via == "session" and user is not None else api.as_user(user)


def _schema_pattern(path: str) -> re.Pattern:
    return re.compile("^" + re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(path)) + "/?$")


def _send(client, method: str, call: Call, w: World, *, missing: bool = False):
    ids = w.ids(missing=missing)
    url = call.url.format(**ids)
    if method == "get":
        return client.get(url)
    body = call.body(ids) if callable(call.body) else call.body
    if "content_type" in call.extra:
        return getattr(client, method)(url, body.encode(), content_type=call.extra["content_type"])
    return getattr(client, method)(url, body, format="json")


def _without_id(response, pk) -> str:
    return response.content.decode().replace(f"/events/{pk}/", "/events/ID/").replace(f"%2Fevents%2F{pk}%2F", "ID")


def _assert_refused(response, status: int) -> None:
    if response.wsgi_request.path.startswith("/events/"):  # the pages for people: an HTML page saying what happened
        assert response["Content-Type"].startswith("text/html"), response["Content-Type"]
        assert "<h1>" in response.content.decode()
    else:
        assert response["Content-Type"].startswith("application/problem+json"), response["Content-Type"]
        problem = response.json()
        assert problem["status"] == status
        assert {"type", "title", "detail"} <= problem.keys()
    if status == 401:
        assert response["WWW-Authenticate"]


@pytest.mark.django_db
@pytest.mark.parametrize("method, path, index, role, via", list(_cells()))
def test_access(api, world, method, path, index, role, via):
    if (method, path) not in TABLE:
        pytest.fail(
            f"{method.upper()} {path} is in the OpenAPI schema but not in the access table: add a row to TABLE "
            f"in {__name__} with the status each of {', '.join(ROLES)} must get."
        )
    call = TABLE[method, path][index]
    status = call.expected(role)
    assert _schema_pattern(path).match(call.url.split("?")[0].format(**world.ids())), (call.url, path)
    client = client_for(api, world.users[role], via)
    before = database_state()

    response = _send(client, method, call, world)

    assert response.status_code == status, response.content[:1000]
    if status >= 400:
        _assert_refused(response, status)
        assert database_state() == before, "a refused request changed something"
        return
    if method == "get":
        assert database_state() == before, "a read wrote something"
    if call.check in (check_refresh, check_logout):
        call.check(response, world, role, client)
    else:
        call.check(response, world, role)


def test_every_schema_operation_has_a_row_and_every_row_an_operation():
    in_schema = set(schema_operations())
    missing = sorted(in_schema - TABLE.keys())
    stale = sorted(TABLE.keys() - in_schema)

    assert not missing, f"operations in the schema without a row in the access table: {missing}"
    assert not stale, f"rows in the access table for operations the schema no longer has: {stale}"
    assert len(in_schema) == len(schema_operations())  # no operation listed twice


HIDDEN = [
    pytest.param(
        method, path, index, role, id=f"{method.upper()} {path}{'[' + call.name + ']' if call.name else ''}-{role}"
    )
    for (method, path), calls in TABLE.items()
    for index, call in enumerate(calls)
    for role in ("stranger", "staff")
    if call.expected(role) == 404
]


@pytest.mark.django_db
@pytest.mark.parametrize("method, path, index, role", HIDDEN)
def test_a_hidden_object_answers_like_a_missing_one(api, world, method, path, index, role):
    """Strangers and staff cannot tell an event (or notification) they may not see from one that does not exist."""
    call = TABLE[method, path][index]
    client = api.as_user(world.users[role])
    before = database_state()

    hidden = _send(client, method, call, world)
    missing = _send(client, method, call, world, missing=True)

    assert hidden.status_code == missing.status_code == 404
    if hidden["Content-Type"].startswith("text/html"):  # a page: the same words, only the URL in its links differs
        assert _without_id(hidden, world.event.pk) == _without_id(missing, world.ids(missing=True)["event"])
    else:
        assert hidden.json() == missing.json()
    assert database_state() == before


@pytest.mark.django_db
@pytest.mark.parametrize("token", ["not-a-token", "Bearer", ""], ids=["garbage", "no-token", "empty"])
def test_a_bad_token_is_a_401_like_no_token(api, world, token):
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}".strip())
    before = database_state()

    response = api.patch(f"/api/events/{world.event.pk}", {"title": "Changed"}, format="json")

    assert response.status_code == 401
    _assert_refused(response, 401)
    assert database_state() == before


SESSION_WRITES = [
    pytest.param(method, path, index, id=f"{method.upper()} {path}{'[' + call.name + ']' if call.name else ''}")
    for (method, path), calls in TABLE.items()
    for index, call in enumerate(calls)
    if method != "get" and call.expected("anonymous") == 401 and call.expected("owner") < 400
]


@pytest.mark.django_db
@pytest.mark.parametrize("method, path, index", SESSION_WRITES)
def test_a_session_write_without_the_csrf_token_is_a_403_and_changes_nothing(world, method, path, index):
    """A page on another site cannot make a logged-in browser write: the session's writes need the CSRF token."""
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(world.users["owner"])
    before = database_state()

    response = _send(client, method, TABLE[method, path][index], world)

    _assert_refused(response, 403)
    assert "CSRF" in response.content.decode()
    assert database_state() == before


@pytest.mark.parametrize("role", ["viewer", "stranger", "staff"])
def test_a_refused_transaction_names_the_failed_operation(api, world, role):
    call = TABLE["post", "/api/transactions"][0]

    response = _send(api.as_user(world.users[role]), "post", call, world)

    assert response.status_code == call.expected(role)
    assert response.json()["failed_index"] == 0


# --- the notifications WebSocket -----------------------------------------------------------------------

# Whether the owner's change to the event reaches the role's socket. The owner made it: own changes are
# not echoed (they are in the owner's feed, for other devices). Anonymous: refused with 4401.
WEBSOCKET = {"owner": False, "editor": True, "viewer": True, "stranger": False, "anonymous": 4401, "staff": False}


def test_the_websocket_row_covers_every_role():
    assert tuple(WEBSOCKET) == ROLES


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("role, expected", WEBSOCKET.items(), ids=[f"{r}-{e}" for r, e in WEBSOCKET.items()])
async def test_websocket_access(api, world, role, expected):
    users = world.users
    if expected == 4401:
        for token in (None, "not-a-token"):
            async with socket(token=token) as (communicator, (accepted, _)):
                assert accepted  # then closed: the client sees our code rather than a failed handshake
                assert (await closed_with(communicator))["code"] == CLOSE_UNAUTHENTICATED
        return
    async with socket(users[role]) as (communicator, (accepted, _)):
        assert accepted

        def owner_changes_the_event():
            response = api.as_user(users["owner"]).patch(
                f"/api/events/{world.event.pk}", {"title": "Moved"}, format="json"
            )
            assert response.status_code == 200, response.content

        await run(owner_changes_the_event)
        # Sentinel: another user's event shared with this role afterwards. A socket delivers in feed order,
        # so once the sentinel arrives, anything about the owner's change would have arrived before it.
        sentinel = await run(make_event, users["new"], title="Sentinel", start=BASE_TIME + timedelta(days=5))
        await run(_share, sentinel, users["new"], viewer=users[role])
        received = []
        while not received or received[-1]["event_id"] != sentinel.pk:
            received.append(await receive(communicator))

    about_the_event = [m for m in received if m["event_id"] == world.event.pk]
    assert [m["event_id"] for m in received] == [world.event.pk] * len(about_the_event) + [sentinel.pk]
    if expected:
        [message] = about_the_event
        assert (message["type"], message["version"], message["actor"]["username"]) == (
            "event_updated",
            world.event.version + 1,
            "owner",
        )
        assert (message["event"]["title"], message["event"]["my_role"]) == ("Moved", role)
    else:
        assert about_the_event == []


# --- a history link as the way in --------------------------------------------------------------------

# Whose link it is: a live link of the owner, editor or viewer, or one that no longer works — its creator
# lost their role ("stranger"), it was revoked, or its creator was deactivated.
LINK_WAYS = ("owner", "editor", "viewer", "stranger", "revoked", "deactivated")


def _dead_or_live_link(w: World, way: str) -> str:
    creator = w.users[{"stranger": "member", "revoked": "viewer", "deactivated": "editor"}.get(way, way)]
    link = _history_link(w.event, creator)
    if way == "stranger":
        sharing_services.permission_revoke(event=w.event, actor=w.users["owner"], user_id=creator.pk)
    elif way == "revoked":
        history_links.history_link_revoke(link=link, actor=creator)
    elif way == "deactivated":
        User.objects.filter(pk=creator.pk).update(is_active=False)
    return link.secret


LINK_CELLS = [
    pytest.param(
        method, path, index, way, id=f"{method.upper()} {path}{'[' + call.name + ']' if call.name else ''}-{way}"
    )
    for (method, path), calls in TABLE.items()
    for index, call in enumerate(calls)
    # The pages with every kind of link; on the API (where it is no credential) the strongest link is enough.
    for way in (LINK_WAYS if path.startswith("/events/") else ("owner",) if call.expected("anonymous") == 401 else ())
]


@pytest.mark.django_db
@pytest.mark.parametrize("method, path, index, way", LINK_CELLS)
def test_a_history_link_is_a_way_into_the_pages_only(world, method, path, index, way):
    call = TABLE[method, path][index]
    secret = _dead_or_live_link(world, way)
    separator = "&" if "?" in call.url else "?"
    with_link = Call(call.url + separator + "link=" + secret, call.statuses, call.check, call.body, extra=call.extra)
    before = database_state()
    response = _send(APIClient(enforce_csrf_checks=True), method, with_link, world)
    if not path.startswith("/events/"):
        expected, says = 401, None  # not a credential for the API
    elif method != "get":
        expected, says = 403, "only reads"  # never a restore, whoever made it
    elif way in WITH_ACCESS:
        expected, says = call.expected(way), None  # what its creator reads now
    else:
        expected, says = 401, "This history link no longer works"
    assert response.status_code == expected, response.content[:600]
    if expected >= 400:
        _assert_refused(response, expected)
        assert says is None or says in response.content.decode()
        assert database_state() == before, "a refused request changed something"
    elif call.check is check_compare_page:
        assert response["Location"] == f"/events/{world.event.pk}/diff/1/2?link={secret}"  # the link carried on
    else:
        call.check(response, world, way)
        assert f"Read through a history link of {way}" in response.content.decode()
        assert database_state() == before, "a read wrote something"
