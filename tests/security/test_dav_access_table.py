"""Who may do what over CalDAV: every DAV operation × anonymous / wrong password / account password / revoked
app password / stranger / viewer / editor / owner.

The DAV endpoints are not in the OpenAPI schema (they speak XML over WebDAV methods), so this table lists
them itself; `test_every_dav_handler_has_a_row` fails when the view gains a method without one. Each user
addresses their own calendar home (/dav/calendars/<their id>/...): an event they hold no role on is simply
not there (404), and another user's home is 404 too.

Rules: without a working app password → 401 with a Basic challenge and nothing changes; an event's
resource is in the owner's and editors' writable calendar and in viewers' read-only one; writes in the
read-only calendar and deletes by non-owners → 403 DAV:need-privileges; every refusal changes nothing.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.test import Client

from accounts import services as account_services
from accounts.models import AppPassword
from dav.models import CalendarSettings
from dav.views import ALLOW
from events.models import Event
from history.models import AuditEntry
from notifications.models import FeedEntry, Notification
from sharing.models import EventPermission
from tests.dav.conftest import NS, multiget_body, sync_body, xml_of
from tests.factories import PASSWORD, UserFactory, make_event

ROLES = ("anonymous", "wrong_password", "account_password", "revoked", "stranger", "viewer", "editor", "owner")
UNAUTHENTICATED = 4  # the first four roles never sign in


@dataclass
class World:
    users: dict
    secrets: dict
    event: Event

    def path(self, template: str, role: str) -> str:
        user = self.users[role]
        return template.format(
            home=f"/dav/calendars/{user.pk}/", principal=f"/dav/principals/{user.pk}/", member=self.member(role)
        )

    def member(self, role: str) -> str:
        """The event's resource name in `role`'s calendar: another owner's events carry their id."""
        name = f"{self.event.uid}.ics"
        return name if role == "owner" else f"~{self.event.pk}~{name}"

    def credentials(self, role: str) -> dict:
        if role == "anonymous":
            return {}
        user = self.users[role]
        secret = {"wrong_password": "not-the-password", "account_password": PASSWORD}.get(role, self.secrets[role])
        return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(f"{user.username}:{secret}".encode()).decode()}


@pytest.fixture
def http() -> Client:
    """A plain HTTP client: the only credentials are the Basic header each row sends (the shared `client`
    fixture carries a Bearer token, which would replace it)."""
    return Client()


@pytest.fixture
def world(db) -> World:
    users, secrets = {}, {}
    for role in ROLES:
        users[role] = UserFactory(username=role)
        secrets[role] = account_services.app_password_create(user=users[role], name="App")[1]
    revoked = AppPassword.objects.get(user=users["revoked"])
    account_services.app_password_revoke(user=users["revoked"], app_password=revoked)
    event = make_event(users["owner"], title="Planning")
    from sharing import services as sharing_services

    sharing_services.event_share(
        event=event,
        actor=users["owner"],
        targets=[{"user_id": users["editor"].pk, "role": "editor"}, {"user_id": users["viewer"].pk, "role": "viewer"}],
    )
    event.refresh_from_db()
    return World(users, secrets, event)


def state() -> tuple:
    """Everything a refused request must leave as it was (failed sign-ins are audited, like failed logins)."""
    return (
        list(Event.objects.order_by("pk").values()),
        Event.history.count(),
        sorted(EventPermission.objects.values_list("event_id", "user_id", "role")),
        FeedEntry.objects.count(),
        Notification.objects.count(),
        AuditEntry.objects.exclude(action="dav.login_failed").count(),
        sorted(CalendarSettings.objects.values_list("user_id", "calendar", "displayname")),
        sorted(AppPassword.objects.values_list("pk", "digest")),
    )


def listed(response, world, role) -> set[str]:
    """The hrefs answered with properties (a multiget's or a sync's 404 members are not there)."""
    return {
        node.findtext("D:href", namespaces=NS)
        for node in xml_of(response).findall("D:response", NS)
        if node.find("D:status", NS) is None
    }


def check_lists_event(calendar: str) -> Callable:
    def check(response, world, role):
        holds = {"writable": {"owner", "editor"}, "shared": {"viewer"}}[calendar]
        member = world.path("{home}" + ("events/" if calendar == "writable" else "shared/") + "{member}", role)
        assert (member in listed(response, world, role)) is (role in holds)

    return check


def check_nothing(response, world, role):
    pass


def check_deleted(response, world, role):
    assert Event.objects.get(pk=world.event.pk).deleted_at is not None


def check_read(response, world, role):
    assert f"UID:{world.event.uid}" in response.content.decode() or response.content == b""  # HEAD: no body
    assert response["ETag"] == f'"{world.event.version}-{world.event.pk:x}"'


def check_replaced(response, world, role):
    event = Event.objects.get(pk=world.event.pk)
    assert (event.title, event.version) == ("Replaced", world.event.version + 1)
    assert Event.history.get(id=event.pk, version=event.version).history_user_id == world.users[role].pk


def check_created(response, world, role):
    assert Event.objects.get(owner=world.users[role], uid="new-object").version == 1


def check_renamed(response, world, role):
    assert CalendarSettings.objects.get(user=world.users[role], calendar="events").displayname == "Mine"


@dataclass(frozen=True)
class Row:
    method: str
    path: str
    statuses: tuple[int, int, int, int]  # stranger, viewer, editor, owner (the first four roles: always 401)
    check: Callable = check_nothing
    body: str = ""
    depth: str | None = "0"
    headers: tuple = ()
    content_type: str = "application/xml"

    def expected(self, role: str) -> int:
        index = ROLES.index(role)
        return 401 if index < UNAUTHENTICATED else self.statuses[index - UNAUTHENTICATED]


ALL = (207, 207, 207, 207)
WRITABLE_MEMBER = "{home}events/{member}"
SHARED_MEMBER = "{home}shared/{member}"
PROPPATCH = (
    '<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><D:displayname>Mine</D:displayname></D:prop></D:set>'
    "</D:propertyupdate>"
)
QUERY = (
    '<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/></D:prop>'
    '<C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"/></C:comp-filter></C:filter>'
    "</C:calendar-query>"
)

ICS = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Test//EN\r\nBEGIN:VEVENT\r\nUID:{uid}\r\n"
    "DTSTAMP:20300101T000000Z\r\nDTSTART:20300107T090000Z\r\nDTEND:20300107T100000Z\r\nSUMMARY:Replaced\r\n"
    "END:VEVENT\r\nEND:VCALENDAR\r\n"
)

TABLE: dict[tuple[str, str], list[Row]] = {
    ("root", "OPTIONS"): [Row("OPTIONS", "/dav/", (200,) * 4)],
    ("root", "PROPFIND"): [Row("PROPFIND", "/dav/", ALL)],
    ("principal", "OPTIONS"): [Row("OPTIONS", "{principal}", (200,) * 4)],
    ("principal", "PROPFIND"): [Row("PROPFIND", "{principal}", ALL)],
    ("home", "OPTIONS"): [Row("OPTIONS", "{home}", (200,) * 4)],
    ("home", "PROPFIND"): [Row("PROPFIND", "{home}", ALL, depth="1")],
    ("calendar", "OPTIONS"): [Row("OPTIONS", "{home}events/", (200,) * 4)],
    ("calendar", "PROPFIND"): [
        Row("PROPFIND", "{home}events/", ALL, check_lists_event("writable"), depth="1"),
        Row("PROPFIND", "{home}shared/", ALL, check_lists_event("shared"), depth="1"),
    ],
    ("calendar", "PROPPATCH"): [Row("PROPPATCH", "{home}events/", ALL, check_renamed, PROPPATCH)],
    ("calendar", "REPORT"): [
        Row("REPORT", "{home}events/", ALL, check_lists_event("writable"), sync_body()),
        Row("REPORT", "{home}shared/", ALL, check_lists_event("shared"), sync_body()),
        Row("REPORT", "{home}events/", ALL, check_lists_event("writable"), QUERY, depth="1"),
        Row(
            "REPORT",
            "{home}events/",
            ALL,
            check_lists_event("writable"),
            multiget_body(["{home}events/{member}"]),
        ),
    ],
    ("resource", "OPTIONS"): [Row("OPTIONS", WRITABLE_MEMBER, (200,) * 4)],
    ("resource", "PROPFIND"): [
        Row("PROPFIND", WRITABLE_MEMBER, (404, 404, 207, 207)),
        Row("PROPFIND", SHARED_MEMBER, (404, 207, 404, 404)),
    ],
    ("resource", "GET"): [
        Row("GET", WRITABLE_MEMBER, (404, 404, 200, 200), check_read),
        Row("GET", SHARED_MEMBER, (404, 200, 404, 404), check_read),
    ],
    ("resource", "HEAD"): [
        Row("HEAD", WRITABLE_MEMBER, (404, 404, 200, 200), check_read),
        Row("HEAD", SHARED_MEMBER, (404, 200, 404, 404), check_read),
    ],
    ("resource", "PUT"): [
        # If-Match: * replaces only what is there: the event is in the writable calendar of its owner and editors.
        Row(
            "PUT",
            WRITABLE_MEMBER,
            (412, 412, 204, 204),
            check_replaced,
            ICS.replace("{uid}", "{event}"),
            headers=(("HTTP_IF_MATCH", "*"),),
            content_type="text/calendar",
        ),
        Row(
            "PUT",
            SHARED_MEMBER,
            (403, 403, 403, 403),
            body=ICS.replace("{uid}", "{event}"),
            content_type="text/calendar",
        ),
        # A new object in one's own writable calendar: anyone may.
        Row(
            "PUT",
            "{home}events/new.ics",
            (201, 201, 201, 201),
            check_created,
            ICS.replace("{uid}", "new-object"),
            headers=(("HTTP_IF_NONE_MATCH", "*"),),
            content_type="text/calendar",
        ),
    ],
    ("resource", "DELETE"): [
        Row("DELETE", WRITABLE_MEMBER, (404, 404, 403, 204), check_deleted),
        Row("DELETE", SHARED_MEMBER, (404, 403, 404, 404)),
    ],
    ("any", "MKCALENDAR"): [Row("MKCALENDAR", "{home}new/", (403,) * 4)],
}


def _cells():
    for key, rows in TABLE.items():
        for index, row in enumerate(rows):
            for role in ROLES:
                yield pytest.param(key, index, role, id=f"{row.method} {row.path}#{index}-{role}-{row.expected(role)}")


@pytest.mark.parametrize("key, index, role", list(_cells()))
def test_dav_access(http, world, key, index, role):
    row = TABLE[key][index]
    expected = row.expected(role)
    before = state()
    body = (
        row.body.replace("{home}", world.path("{home}", role))
        .replace("{member}", world.member(role))
        .replace("{event}", world.event.uid)
    )
    extra = {**world.credentials(role), **dict(row.headers)}
    if row.depth is not None:
        extra["HTTP_DEPTH"] = row.depth

    response = http.generic(row.method, world.path(row.path, role), body, content_type=row.content_type, **extra)

    assert response.status_code == expected, response.content[:500]
    if expected == 401:
        assert response["WWW-Authenticate"].startswith("Basic")
    if expected >= 400 and row.method != "HEAD":
        assert response["Content-Type"].startswith("application/xml")
        assert xml_of(response).tag == "{DAV:}error"
        assert state() == before, "a refused request changed something"
        return
    if expected >= 400:  # HEAD
        assert state() == before
        return
    if row.method in ("PROPFIND", "REPORT", "OPTIONS", "GET", "HEAD"):
        assert state() == before, "a read wrote something"
    row.check(response, world, role)


def test_every_dav_handler_has_a_row():
    covered = {(kind, method) for kind, method in TABLE}
    for kind, allowed in ALLOW.items():
        for method in (m.strip() for m in allowed.split(",")):
            assert (kind, method) in covered, f"{method} on a {kind} has no row in the DAV access table"


def test_another_users_tree_is_404_like_a_missing_one(http, world):
    owner = world.users["owner"]
    for path in (
        f"/dav/principals/{owner.pk}/",
        f"/dav/calendars/{owner.pk}/events/",
        f"/dav/calendars/{owner.pk}/events/{world.event.uid}.ics",
    ):
        for target in (path, path.replace(str(owner.pk), "999999")):
            response = http.generic("PROPFIND", target, "", HTTP_DEPTH="0", **world.credentials("editor"))
            assert response.status_code == 404, target
