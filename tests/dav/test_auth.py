"""Who may use CalDAV: Basic auth with a user name (or email) and an app password, nothing else."""

import base64

import pytest
from rest_framework.throttling import SimpleRateThrottle

from accounts import services as account_services
from accounts.models import AppPassword
from tests.factories import PASSWORD

from .conftest import DavClient, error_condition, make_dav_user


def test_no_credentials_is_a_401_with_a_basic_challenge(db):
    response = DavClient().propfind("/dav/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith('Basic realm="')
    assert error_condition(response) is None  # a DAV error body, no precondition


@pytest.mark.parametrize("identifier", ["alice", "ALICE", "alice@example.com"])
def test_username_or_email_with_an_app_password_signs_in(alice, identifier):
    user, secret = alice
    assert DavClient(user, secret, identifier=identifier).propfind("/dav/").status_code == 207


def test_the_account_password_is_refused(alice):
    user, _ = alice
    response = DavClient(user, PASSWORD).propfind("/dav/")
    assert response.status_code == 401
    assert b"app password" in response.content


def test_a_revoked_app_password_stops_working_at_once(alice):
    user, secret = alice
    client = DavClient(user, secret)
    assert client.propfind("/dav/").status_code == 207
    account_services.app_password_revoke(user=user, app_password=AppPassword.objects.get(user=user))
    assert client.propfind("/dav/").status_code == 401


def test_another_users_app_password_is_refused(alice, db):
    user, _ = alice
    _, bobs = make_dav_user("bob")
    assert DavClient(user, bobs).propfind("/dav/").status_code == 401


@pytest.mark.parametrize(
    "header",
    ["Basic", "Basic !!!", "Basic " + base64.b64encode(b"no-colon").decode(), "Bearer abc", "Basic " + "A" * 5000],
)
def test_malformed_authorization_is_a_401(dav, header):
    response = dav.client.generic("PROPFIND", "/dav/", HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Basic")


def test_failed_attempts_are_throttled_per_user_name_and_a_good_password_waits_too(alice, rates):
    rates(auth_ip="1000/min", auth_username="3/min")
    user, secret = alice
    wrong = DavClient(user, "wrong-password")
    assert [wrong.propfind("/dav/").status_code for _ in range(3)] == [401, 401, 401]
    refused = wrong.propfind("/dav/")
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert DavClient(user, secret).propfind("/dav/").status_code == 429  # the name is locked for the window
    assert DavClient(make_dav_user("dave")[0], "x").propfind("/dav/").status_code == 401  # other names are not


def test_a_locked_name_signs_in_again_when_the_window_ends(alice, rates, monkeypatch):
    rates(auth_ip="1000/min", auth_username="2/min")
    user, secret = alice
    wrong = DavClient(user, "wrong-password")
    assert [wrong.propfind("/dav/").status_code for _ in range(3)] == [401, 401, 429]
    locked = wrong.propfind("/dav/")
    assert locked.status_code == 429 and locked["Retry-After"] == "30"  # the clock is 30 s into the minute
    later = SimpleRateThrottle.timer() + 30
    monkeypatch.setattr(SimpleRateThrottle, "timer", staticmethod(lambda: later))
    assert DavClient(user, secret).propfind("/dav/").status_code == 207


def test_failed_attempts_are_throttled_per_address(alice, rates):
    rates(auth_ip="2/min", auth_username="1000/min")
    user, _ = alice
    for name in ("x", "y"):
        assert DavClient(user, "wrong", identifier=name).propfind("/dav/").status_code == 401
    assert DavClient(user, "wrong", identifier="z").propfind("/dav/").status_code == 429


def test_successful_requests_are_not_counted_as_failures(alice, settings):
    user, secret = alice
    client = DavClient(user, secret)
    assert all(client.propfind("/dav/").status_code == 207 for _ in range(15))  # above the 10/min name limit


def test_an_inactive_user_is_refused(alice):
    user, secret = alice
    type(user).objects.filter(pk=user.pk).update(is_active=False)
    assert DavClient(user, secret).propfind("/dav/").status_code == 401


def test_dav_needs_no_csrf_token_and_sets_no_cookie(alice):
    user, secret = alice
    client = DavClient(user, secret)
    client.client = type(client.client)(enforce_csrf_checks=True)
    response = client.request(
        "PROPPATCH",
        client.writable,
        '<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><D:displayname>Work</D:displayname></D:prop></D:set>'
        "</D:propertyupdate>",
    )
    assert response.status_code == 207
    assert not response.cookies
