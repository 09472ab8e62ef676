"""A CalDAV client over Django's test client: Basic auth with an app password, XML in and out."""

from __future__ import annotations

import base64
from xml.etree import ElementTree as ET

import pytest
from django.test import Client

from accounts import services as account_services
from tests.factories import UserFactory

NS = {
    "D": "DAV:",
    "C": "urn:ietf:params:xml:ns:caldav",
    "CS": "http://calendarserver.org/ns/",
    "A": "http://apple.com/ns/ical/",
}


class DavClient:
    def __init__(self, user=None, secret: str | None = None, *, identifier: str | None = None) -> None:
        self.client = Client()
        self.user = user
        self.auth = {}
        if user is not None:
            credentials = f"{identifier or user.username}:{secret}".encode()
            self.auth = {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(credentials).decode()}

    def request(self, method: str, path: str, body: str | bytes = b"", *, depth: str | None = None, **headers):
        content_type = headers.pop("content_type", None) or "application/xml; charset=utf-8"
        extra = dict(self.auth)
        if depth is not None:
            extra["HTTP_DEPTH"] = depth
        for name, value in headers.items():
            extra["HTTP_" + name.upper().replace("-", "_")] = value
        return self.client.generic(method, path, body, content_type=content_type, **extra)

    def propfind(self, path: str, props: list[str] | None = None, *, depth: str = "0"):
        body = ""
        if props is not None:
            inner = "".join(f"<{p}/>" for p in props)
            body = (
                '<?xml version="1.0"?><D:propfind xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav" '
                f'xmlns:CS="http://calendarserver.org/ns/" xmlns:A="http://apple.com/ns/ical/"><D:prop>{inner}</D:prop></D:propfind>'
            )
        return self.request("PROPFIND", path, body, depth=depth)

    def report(self, path: str, body: str, *, depth: str = "1"):
        return self.request("REPORT", path, body, depth=depth)

    @property
    def home(self) -> str:
        return f"/dav/calendars/{self.user.pk}/"

    @property
    def writable(self) -> str:
        return self.home + "events/"

    @property
    def shared(self) -> str:
        return self.home + "shared/"


def xml_of(response) -> ET.Element:
    assert response["Content-Type"].startswith("application/xml"), response["Content-Type"]
    return ET.fromstring(response.content)


def responses(response) -> dict[str, ET.Element]:
    """{href: DAV:response} of a 207."""
    assert response.status_code == 207, response.content
    return {node.findtext("D:href", namespaces=NS): node for node in xml_of(response).findall("D:response", NS)}


def prop(node: ET.Element, name: str, status: int = 200) -> ET.Element | None:
    """Property `name` (e.g. 'D:getetag') of a DAV:response, in its propstat with `status`."""
    for propstat in node.findall("D:propstat", NS):
        if propstat.findtext("D:status", namespaces=NS).split()[1] == str(status):
            found = propstat.find(f"D:prop/{name}", NS)
            if found is not None:
                return found
    return None


def error_condition(response) -> str | None:
    root = xml_of(response)
    assert root.tag == "{DAV:}error", response.content
    conditions = [child.tag for child in root if not child.tag.startswith("{urn:x-calendar-api:dav}")]
    return conditions[0] if conditions else None


def make_dav_user(username: str, **fields):
    user = UserFactory(username=username, **fields)
    _, secret = account_services.app_password_create(user=user, name="Test app")
    return user, secret


@pytest.fixture
def alice(db):
    return make_dav_user("alice", email="alice@example.com")


@pytest.fixture
def dav(alice):
    user, secret = alice
    return DavClient(user, secret)


@pytest.fixture
def team(db):
    """An owner, an editor, a viewer and a stranger, each with an app password and a DavClient."""
    clients = {}
    for name in ("owner", "editor", "viewer", "stranger"):
        user, secret = make_dav_user(name)
        clients[name] = DavClient(user, secret)
    return clients


def member_name(client: DavClient, event, name: str | None = None) -> str:
    """The event's resource name in `client`'s calendars: its owner's (`name`, else `<uid>.ics`), with the
    event's id before it when the caller is not the owner."""
    own = name or f"{event.uid}.ics"
    return own if event.owner_id == client.user.pk else f"~{event.pk}~{own}"


def share(event, owner, **roles) -> None:
    from sharing import services as sharing_services

    sharing_services.event_share(
        event=event, actor=owner, targets=[{"user_id": user.pk, "role": role} for role, user in roles.items()]
    )


def multiget_body(hrefs: list[str], props: str = "<D:getetag/>") -> str:
    inner = "".join(f"<D:href>{href}</D:href>" for href in hrefs)
    return (
        '<C:calendar-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
        f"<D:prop>{props}</D:prop>{inner}</C:calendar-multiget>"
    )


def sync_body(token: str = "", *, limit: int | None = None, props: str = "<D:getetag/>") -> str:
    limit_xml = f"<D:limit><D:nresults>{limit}</D:nresults></D:limit>" if limit is not None else ""
    return (
        f'<D:sync-collection xmlns:D="DAV:"><D:sync-token>{token}</D:sync-token><D:sync-level>1</D:sync-level>'
        f"{limit_xml}<D:prop>{props}</D:prop></D:sync-collection>"
    )


def sync(client, path: str, token: str = "", **options) -> tuple[dict[str, int], str]:
    """({href: status} of a sync-collection answer, its new token)."""
    response = client.report(path, sync_body(token, **options), depth="0")
    assert response.status_code == 207, response.content
    root = xml_of(response)
    result = {}
    for node in root.findall("D:response", NS):
        status = node.findtext("D:status", namespaces=NS) or node.findtext("D:propstat/D:status", namespaces=NS)
        result[node.findtext("D:href", namespaces=NS)] = int(status.split()[1])
    return result, root.findtext("D:sync-token", namespaces=NS)
