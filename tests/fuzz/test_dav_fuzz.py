"""CalDAV fuzzing: the DAV endpoints are not in the OpenAPI schema, so their requests are generated here.

Hypothesis draws a method (WebDAV's and a few others), a path (the caller's tree, another user's, nonsense),
Depth / If-Match / If-None-Match / Content-Type headers and a body: XML made of the elements DAV clients
send, nested at random with random attributes and text, or raw bytes. Every answer must be a non-5xx; a
refusal (4xx) must be a DAV:error body and change nothing; sign-in refusals carry a Basic challenge.

Bounded and reproducible like the schema fuzzing: a fixed seed, derandomized, DAV_FUZZ_MAX_EXAMPLES cases
(default 300).
"""

from __future__ import annotations

import base64
import os
from xml.etree import ElementTree as ET

import hypothesis
import pytest
from hypothesis import strategies as st

from accounts import services as account_services
from dav.models import CalendarSettings, ResourceName
from events.models import Event
from sharing import services as sharing_services
from tests.factories import BASE_TIME, UserFactory, make_event

MAX_EXAMPLES = int(os.environ.get("DAV_FUZZ_MAX_EXAMPLES", "300"))

METHODS = [
    "OPTIONS",
    "PROPFIND",
    "PROPPATCH",
    "REPORT",
    "GET",
    "HEAD",
    "PUT",
    "DELETE",
    "MKCALENDAR",
    "MKCOL",
    "MOVE",
    "COPY",
    "LOCK",
    "UNLOCK",
    "POST",
    "PATCH",
    "ACL",
    "SEARCH",
]
DAV_NAMES = [
    "propfind",
    "prop",
    "allprop",
    "propname",
    "getetag",
    "resourcetype",
    "displayname",
    "sync-collection",
    "sync-token",
    "sync-level",
    "limit",
    "nresults",
    "href",
    "propertyupdate",
    "set",
    "remove",
    "current-user-principal",
    "getctag",
    "supported-report-set",
    "expand-property",
]
CALDAV_NAMES = [
    "calendar-multiget",
    "calendar-query",
    "filter",
    "comp-filter",
    "prop-filter",
    "param-filter",
    "time-range",
    "text-match",
    "is-not-defined",
    "calendar-data",
    "expand",
    "calendar-home-set",
    "supported-calendar-component-set",
]
NAMESPACES = {"D": "DAV:", "C": "urn:ietf:params:xml:ns:caldav"}
ATTRIBUTES = ["name", "start", "end", "collation", "negate-condition"]


@pytest.fixture
def world(db):
    owner = UserFactory(username="owner")
    viewer = UserFactory(username="viewer")
    secret = account_services.app_password_create(user=owner, name="Fuzz")[1]
    event = make_event(owner, title="Planning")
    series = make_event(
        owner, title="Weekly", start=BASE_TIME, recurrence={"rrule": "FREQ=WEEKLY;COUNT=5", "exdates": [], "rdates": []}
    )
    shared = make_event(viewer, title="Theirs")
    sharing_services.event_share(event=shared, actor=viewer, targets=[{"user_id": owner.pk, "role": "viewer"}])
    ResourceName.objects.create(event=series, owner=owner, name="weekly.ics")
    auth = "Basic " + base64.b64encode(f"owner:{secret}".encode()).decode()
    return {"owner": owner, "viewer": viewer, "event": event, "shared": shared, "auth": auth}


def _paths(world) -> st.SearchStrategy[str]:
    home = f"/dav/calendars/{world['owner'].pk}/"
    return st.sampled_from(
        [
            "/dav/",
            "/dav",
            f"/dav/principals/{world['owner'].pk}/",
            f"/dav/principals/{world['viewer'].pk}/",
            home,
            home + "events/",
            home + "shared/",
            home + "other/",
            home + f"events/{world['event'].uid}.ics",
            home + "events/weekly.ics",
            home + f"shared/{world['shared'].uid}.ics",
            home + "events/new.ics",
            home + "events/%FF%FE.ics",
            home + "events/a/b",
            f"/dav/calendars/{world['viewer'].pk}/events/",
            "/.well-known/caldav",
            "/dav/../api/",
        ]
    ) | st.text(alphabet="/abc%.019", max_size=40).map(lambda tail: "/dav/" + tail)


def _element(depth: int) -> st.SearchStrategy[ET.Element]:
    names = st.sampled_from([f"{{DAV:}}{n}" for n in DAV_NAMES] + [f"{{{NAMESPACES['C']}}}{n}" for n in CALDAV_NAMES])

    def build(name, attributes, text, children):
        node = ET.Element(name, attributes)
        node.text = text
        node.extend(children)
        return node

    children = st.lists(st.deferred(lambda: _element(depth - 1)), max_size=3) if depth > 0 else st.just([])
    return st.builds(
        build,
        names,
        st.dictionaries(
            st.sampled_from(ATTRIBUTES),
            st.sampled_from(["VEVENT", "VCALENDAR", "UID", "20300101T000000Z", "x", "yes", "i;octet"]),
            max_size=2,
        ),
        st.none() | st.sampled_from(["0", "1", "-5", "abc", "data:,1-1", "20300101T000000Z", "/dav/x.ics"]),
        children,
    )


def _bodies() -> st.SearchStrategy[bytes]:
    xml_bodies = _element(4).map(lambda root: ET.tostring(root, encoding="utf-8"))
    return st.one_of(
        st.just(b""), xml_bodies, st.binary(max_size=200), st.just(b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n")
    )


def _state():
    return (
        list(Event.objects.order_by("pk").values_list("pk", "version", "deleted_at", "title")),
        list(CalendarSettings.objects.values_list("user_id", "calendar", "displayname", "color")),
        list(ResourceName.objects.values_list("event_id", "name")),
    )


def test_no_dav_request_is_a_server_error(client, world):
    @hypothesis.settings(
        max_examples=MAX_EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(hypothesis.HealthCheck),
    )
    @hypothesis.given(
        method=st.sampled_from(METHODS),
        path=_paths(world),
        body=_bodies(),
        depth=st.sampled_from([None, "0", "1", "infinity", "2", "x"]),
        if_match=st.sampled_from([None, "*", '"1-1"', "garbage", '"99-ff"']),
        if_none_match=st.sampled_from([None, "*", '"1-1"']),
        content_type=st.sampled_from(["application/xml", "text/xml", "text/calendar", "application/json", ""]),
        auth=st.sampled_from(["good", "good", "good", "none", "bad"]),
    )
    def run(method, path, body, depth, if_match, if_none_match, content_type, auth):
        headers = {}
        if auth == "good":
            headers["HTTP_AUTHORIZATION"] = world["auth"]
        elif auth == "bad":
            headers["HTTP_AUTHORIZATION"] = "Basic " + base64.b64encode(b"owner:wrong").decode()
        for name, value in (("HTTP_DEPTH", depth), ("HTTP_IF_MATCH", if_match), ("HTTP_IF_NONE_MATCH", if_none_match)):
            if value is not None:
                headers[name] = value
        before = _state()
        response = client.generic(method, path, body, content_type=content_type, **headers)
        assert response.status_code < 500, (method, path, body, response.content[:300])
        if response.status_code == 401:
            assert response["WWW-Authenticate"].startswith("Basic")
        if response.status_code >= 400 and path.startswith("/dav") and method != "HEAD":
            assert response["Content-Type"].startswith("application/xml"), (method, path, response.content[:200])
            assert ET.fromstring(response.content).tag == "{DAV:}error"
        if response.status_code >= 400 or method in ("PROPFIND", "REPORT", "GET", "HEAD", "OPTIONS"):
            assert _state() == before, (method, path, body)

    run()
