"""Refusals made before a DAV view runs are DAV:error bodies (RFC 4918 §16), like the views' own: the body size
limit's 413 and its 400 for a bad Content-Length, the 429 of the rate limits they count against, Django's
error handlers. dav registers the renderer for /dav/ (common/refusals.py): without it these would be JSON."""

from __future__ import annotations

import pytest
from django.db import OperationalError
from django.test import Client
from rest_framework.throttling import SimpleRateThrottle

from common import refusals
from dav import answers, views
from tests.helpers import database_state

from .conftest import error_condition, xml_of

MAX_RESOURCE_SIZE = "{urn:ietf:params:xml:ns:caldav}max-resource-size"
NOW = 6_000_000_010.5  # 49.5 s before a minute's window ends: Retry-After 50


def message(response) -> str:
    return xml_of(response).findtext("M:message", namespaces={"M": "urn:x-calendar-api:dav"})


def assert_dav_error(response, status: int, condition: str | None = None) -> None:
    assert response.status_code == status, response.content
    assert error_condition(response) == condition
    assert response["DAV"] == answers.DAV_HEADER
    assert "Accept" not in response.get("Vary", "")  # no content negotiation chose this format


def assert_ratelimited(response) -> None:
    assert int(response["RateLimit-Limit"]) >= 1
    assert 0 <= int(response["RateLimit-Remaining"]) < int(response["RateLimit-Limit"])
    assert int(response["RateLimit-Reset"]) >= 1


def oversized(limit: int) -> str:
    return "BEGIN:VCALENDAR\r\nDESCRIPTION:" + "x" * limit + "\r\nEND:VCALENDAR\r\n"


@pytest.fixture
def clock(monkeypatch):
    monkeypatch.setattr(SimpleRateThrottle, "timer", staticmethod(lambda: NOW))


def test_dav_renders_the_refusals_of_its_paths_only():
    assert refusals.renderer_for("/dav/calendars/1/events/x.ics") is answers.refusal_response
    assert refusals.renderer_for("/api/events") is None
    assert refusals.renderer_for("/dav") is None  # the prefix is /dav/


@pytest.mark.parametrize(
    "method, condition",
    [("PUT", MAX_RESOURCE_SIZE), ("DELETE", None), ("POST", None)],
)
def test_a_body_over_the_limit_is_a_413_dav_error(dav, settings, method, condition):
    """Only a PUT stores a calendar object, so only a PUT fails CalDAV's max-resource-size precondition."""
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    before = database_state()

    response = dav.request(method, dav.writable + "big.ics", oversized(limit), content_type="text/calendar")

    assert_dav_error(response, 413, condition)
    assert message(response) == f"The body is larger than the limit of {limit} bytes."
    assert_ratelimited(response)
    assert database_state() == before


def test_a_report_over_the_xml_limit_is_a_413_dav_error_without_the_precondition(dav, settings):
    body = "<C:calendar-query xmlns:C='urn:ietf:params:xml:ns:caldav'>" + " " * settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    response = dav.report(dav.writable, body + "</C:calendar-query>")

    assert_dav_error(response, 413)


@pytest.mark.parametrize("method", ["PUT", "DELETE"])
def test_a_bad_content_length_is_a_400_dav_error(dav, method):
    before = database_state()

    response = dav.client.generic(
        method, dav.writable + "x.ics", "x", content_type="text/calendar", CONTENT_LENGTH="many", **dav.auth
    )

    assert_dav_error(response, 400)
    assert message(response) == "Content-Length is not a number."
    assert_ratelimited(response)
    assert database_state() == before


@pytest.mark.parametrize("accept", [None, "text/html"])
def test_refusals_past_the_rate_limit_are_429_dav_errors(dav, rates, clock, settings, accept):
    """Refused before any DAV view, so before the sign-in's own throttles: the rate limits count them."""
    rates(anon="2/min")  # the API's authentication does not know app passwords: counted by address
    headers = {"accept": accept} if accept else {}
    big = oversized(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
    before = database_state()

    def put_big():
        return dav.request("PUT", dav.writable + "big.ics", big, content_type="text/calendar", **headers)

    assert [put_big().status_code, put_big().status_code] == [413, 413]
    throttled = put_big()
    bad_length = dav.client.generic(
        "PUT", dav.writable + "x.ics", "x", content_type="text/calendar", CONTENT_LENGTH="many", **dav.auth
    )

    for response in (throttled, bad_length):
        assert_dav_error(response, 429)  # not max-resource-size: the size was never the reason
        assert message(response) == "Request was throttled. Expected available in 50 seconds."
        assert response["Retry-After"] == "50"
        assert [response[f"RateLimit-{name}"] for name in ("Limit", "Remaining", "Reset")] == ["2", "0", "50"]
    assert database_state() == before


def test_a_request_django_refuses_is_a_400_dav_error(dav):
    response = dav.client.generic("PROPFIND", dav.home, "", HTTP_HOST="bad host", **dav.auth)

    assert_dav_error(response, 400)
    assert message(response) == "The request could not be understood."


@pytest.mark.parametrize(
    "error, status, text",
    [
        (RuntimeError("a bug"), 500, "Something went wrong on our side."),
        (OperationalError("the database is gone"), 503, "The database cannot be reached right now"),
    ],
    ids=["bug", "database-down"],
)
def test_a_failure_in_a_dav_view_is_a_dav_error(dav, monkeypatch, error, status, text):
    def fail(*args, **kwargs):
        raise error

    monkeypatch.setattr(views, "_resolve", fail)
    client = Client(raise_request_exception=False)

    response = client.generic("PROPFIND", dav.home, "", **dav.auth)

    assert_dav_error(response, status)
    assert message(response).startswith(text)
    if status == 503:
        assert int(response["Retry-After"]) >= 1
