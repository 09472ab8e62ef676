"""Discovery (RFC 6764, RFC 5397, RFC 4791 §6): from the server's base URL to the caller's calendars."""

import pytest

from .conftest import NS, DavClient, error_condition, make_dav_user, prop, responses

DISCOVERY_PROPS = ["D:current-user-principal", "D:principal-URL", "C:calendar-home-set", "C:calendar-user-address-set"]


@pytest.mark.parametrize("method", ["GET", "PROPFIND", "HEAD"])
@pytest.mark.parametrize("path", ["/.well-known/caldav", "/.well-known/caldav/"])
def test_well_known_redirects_to_the_root_without_credentials(db, method, path):
    response = DavClient().request(method, path)
    assert response.status_code == 301
    assert response["Location"] == "/dav/"


def test_from_the_root_to_the_calendars(dav, alice):
    user, _ = alice
    root = responses(dav.propfind("/dav/", ["D:current-user-principal", "D:resourcetype"]))["/dav/"]
    principal = prop(root, "D:current-user-principal").findtext("D:href", namespaces=NS)
    assert principal == f"/dav/principals/{user.pk}/"

    found = responses(dav.propfind(principal, DISCOVERY_PROPS))[principal]
    assert prop(found, "D:principal-URL").findtext("D:href", namespaces=NS) == principal
    home = prop(found, "C:calendar-home-set").findtext("D:href", namespaces=NS)
    assert home == f"/dav/calendars/{user.pk}/"
    addresses = [node.text for node in prop(found, "C:calendar-user-address-set").findall("D:href", NS)]
    assert addresses == ["mailto:alice@example.com", principal]

    listing = responses(dav.propfind(home, ["D:resourcetype", "D:displayname"], depth="1"))
    calendars = {
        href: node for href, node in listing.items() if prop(node, "D:resourcetype").find("C:calendar", NS) is not None
    }
    assert set(calendars) == {home + "events/", home + "shared/"}
    assert prop(calendars[home + "events/"], "D:displayname").text == "Calendar"


def test_unknown_properties_are_answered_404_beside_the_known(dav):
    node = responses(dav.propfind("/dav/", ["D:current-user-principal", "C:no-such-thing"]))["/dav/"]
    assert prop(node, "D:current-user-principal") is not None
    assert prop(node, "C:no-such-thing", status=404) is not None


def test_allprop_and_an_empty_body_and_propname(dav, alice):
    user, _ = alice
    principal = f"/dav/principals/{user.pk}/"
    for body in ("", '<D:propfind xmlns:D="DAV:"><D:allprop/></D:propfind>'):
        node = responses(dav.request("PROPFIND", principal, body, depth="0"))[principal]
        assert prop(node, "C:calendar-home-set") is not None
    names = responses(
        dav.request("PROPFIND", principal, '<D:propfind xmlns:D="DAV:"><D:propname/></D:propfind>', depth="0")
    )[principal]
    home = prop(names, "C:calendar-home-set")
    assert home is not None and len(home) == 0  # the name only


@pytest.mark.parametrize(
    "path", ["/dav/", "/dav/principals/{pk}/", "/dav/calendars/{pk}/", "/dav/calendars/{pk}/events/"]
)
def test_options_says_caldav(dav, alice, path):
    response = dav.request("OPTIONS", path.format(pk=alice[0].pk))
    assert response.status_code == 200
    assert [part.strip() for part in response["DAV"].split(",")] == ["1", "3", "calendar-access"]
    assert "PROPFIND" in response["Allow"]


def test_another_users_principal_and_home_are_not_found(dav, db):
    bob, _ = make_dav_user("bob")
    for path in (f"/dav/principals/{bob.pk}/", f"/dav/calendars/{bob.pk}/", f"/dav/calendars/{bob.pk}/events/"):
        response = dav.propfind(path, ["D:resourcetype"])
        assert response.status_code == 404
        assert response["Content-Type"].startswith("application/xml")


@pytest.mark.parametrize("path", ["/dav/nowhere", "/dav/principals/", "/dav/calendars/{pk}/other/", "/dav/x/y/z/w/v"])
def test_unknown_paths_are_404(dav, alice, path):
    assert dav.propfind(path.format(pk=alice[0].pk), ["D:resourcetype"]).status_code == 404


def test_depth_infinity_is_refused_as_rfc_4918_says(dav):
    response = dav.propfind(dav.home, ["D:resourcetype"], depth="infinity")
    assert response.status_code == 403
    assert error_condition(response) == "{DAV:}propfind-finite-depth"


@pytest.mark.parametrize(
    "body",
    [
        "<not-xml",
        '<D:propfind xmlns:D="DAV:"><D:prop><D:a/></D:prop>',
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "boom">]>'
        '<D:propfind xmlns:D="DAV:"><D:prop>&e;</D:prop></D:propfind>',
        '<!DOCTYPE x SYSTEM "http://example.com/x.dtd"><x/>',
        '<D:propfind xmlns:D="DAV:">' + "<D:prop>" * 40 + "</D:prop>" * 40 + "</D:propfind>",
        '<D:propfind xmlns:D="DAV:"><D:prop>' + "<D:x/>" * 101 + "</D:prop></D:propfind>",
        '<D:other xmlns:D="DAV:"/>',
        b"\xff\xfe<\x00",
    ],
    ids=[
        "broken",
        "unclosed",
        "entity",
        "external-dtd",
        "deep",
        "too-many-props",
        "wrong-root",
        "bad-bytes",
    ],
)
def test_malformed_xml_is_a_400_with_a_dav_error_body(dav, body):
    response = dav.request("PROPFIND", dav.home, body, depth="0")
    assert response.status_code == 400, response.content
    assert error_condition(response) is None


@pytest.mark.parametrize("depth", ["2", "one", ""])
def test_a_bad_depth_is_a_400(dav, depth):
    response = dav.propfind(dav.home, ["D:resourcetype"], depth=depth)
    assert response.status_code == 400
    assert error_condition(response) is None


def test_a_body_over_the_xml_limit_is_413(dav):
    body = '<D:propfind xmlns:D="DAV:"><D:prop><D:a/></D:prop>' + " " * 300_000 + "</D:propfind>"
    response = dav.request("PROPFIND", dav.home, body, depth="0")
    assert response.status_code == 413
    assert error_condition(response) is None
