"""The two calendars of the calendar home: their properties, PROPPATCH, and what cannot be done to them."""

import pytest

from dav.models import CalendarSettings
from history.models import AuditEntry

from .conftest import NS, error_condition, prop, responses

CALENDAR_PROPS = [
    "D:resourcetype",
    "D:displayname",
    "C:supported-calendar-component-set",
    "C:supported-calendar-data",
    "CS:getctag",
    "D:sync-token",
    "D:supported-report-set",
    "D:current-user-privilege-set",
    "D:owner",
    "A:calendar-color",
]


def _privileges(node) -> set[str]:
    return {child.tag.split("}")[1] for p in prop(node, "D:current-user-privilege-set") for child in p}


def test_the_writable_and_the_read_only_calendar(dav, alice):
    user, _ = alice
    writable = responses(dav.propfind(dav.writable, CALENDAR_PROPS))[dav.writable]
    shared = responses(dav.propfind(dav.shared, CALENDAR_PROPS))[dav.shared]
    for node in (writable, shared):
        assert prop(node, "D:resourcetype").find("C:calendar", NS) is not None
        assert prop(node, "D:resourcetype").find("D:collection", NS) is not None
        [component] = prop(node, "C:supported-calendar-component-set")
        assert component.get("name") == "VEVENT"
        reports = {r.tag for r in prop(node, "D:supported-report-set").iter() if len(r) == 0}
        assert {
            "{urn:ietf:params:xml:ns:caldav}calendar-multiget",
            "{urn:ietf:params:xml:ns:caldav}calendar-query",
            "{DAV:}sync-collection",
        } <= reports
        assert prop(node, "D:sync-token").text.startswith("data:,")
        assert prop(node, "CS:getctag").text == prop(node, "D:sync-token").text
        assert prop(node, "D:owner").findtext("D:href", namespaces=NS) == f"/dav/principals/{user.pk}/"
        assert prop(node, "A:calendar-color", status=404) is not None  # none set yet
    assert {"write-content", "bind", "unbind"} <= _privileges(writable)
    assert _privileges(shared) & {"write", "write-content", "bind", "unbind"} == set()
    assert prop(shared, "D:displayname").text == "Shared with me"


def _proppatch(dav, path, inner: str):
    return dav.request(
        "PROPPATCH",
        path,
        '<D:propertyupdate xmlns:D="DAV:" xmlns:A="http://apple.com/ns/ical/" xmlns:C="urn:ietf:params:xml:ns:caldav">'
        f"{inner}</D:propertyupdate>",
    )


def test_proppatch_of_name_and_colour_is_stored_per_user(dav, alice):
    user, _ = alice
    response = _proppatch(
        dav,
        dav.shared,
        "<D:set><D:prop><D:displayname>Team</D:displayname><A:calendar-color>#FF0000FF</A:calendar-color></D:prop></D:set>",
    )
    node = responses(response)[dav.shared]
    assert prop(node, "D:displayname") is not None and prop(node, "A:calendar-color") is not None
    stored = CalendarSettings.objects.get(user=user, calendar="shared")
    assert (stored.displayname, stored.color) == ("Team", "#FF0000FF")
    again = responses(dav.propfind(dav.shared, ["D:displayname", "A:calendar-color"]))[dav.shared]
    assert (prop(again, "D:displayname").text, prop(again, "A:calendar-color").text) == ("Team", "#FF0000FF")
    assert AuditEntry.objects.filter(action="dav.calendar_settings_changed", actor=user).exists()

    _proppatch(dav, dav.shared, "<D:remove><D:prop><D:displayname/></D:prop></D:remove>")
    assert prop(responses(dav.propfind(dav.shared, ["D:displayname"]))[dav.shared], "D:displayname").text == (
        "Shared with me"
    )


@pytest.mark.parametrize(
    "inner",
    [
        "<D:set><D:prop><D:displayname>Fine</D:displayname><C:calendar-timezone>X</C:calendar-timezone></D:prop></D:set>",
        "<D:set><D:prop><D:displayname>Fine</D:displayname><A:calendar-color>red</A:calendar-color></D:prop></D:set>",
        "<D:set><D:prop><D:displayname>" + "x" * 101 + "</D:displayname></D:prop></D:set>",
    ],
    ids=["unsupported-property", "bad-colour", "name-too-long"],
)
def test_a_refused_property_fails_the_whole_proppatch(dav, alice, inner):
    response = _proppatch(dav, dav.writable, inner)
    node = responses(response)[dav.writable]
    statuses = {p.findtext("D:status", namespaces=NS).split()[1] for p in node.findall("D:propstat", NS)}
    assert "403" in statuses and "200" not in statuses
    assert not CalendarSettings.objects.exists()


@pytest.mark.parametrize("method", ["MKCALENDAR", "MKCOL"])
def test_calendars_are_not_made_over_caldav(dav, method):
    response = dav.request(method, dav.home + "new/")
    assert response.status_code == 403
    assert error_condition(response) == "{urn:ietf:params:xml:ns:caldav}calendar-collection-location-ok"


@pytest.mark.parametrize("method", ["DELETE", "PUT", "MOVE", "COPY", "LOCK", "POST"])
def test_other_methods_on_a_calendar_are_405_with_allow(dav, method):
    response = dav.request(method, dav.writable)
    assert response.status_code == 405
    assert "REPORT" in response["Allow"]
