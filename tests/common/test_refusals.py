"""Refusals are rendered once, in the format registered for the request's path: problem+json where none is.

The body limit's refusals and the 429 in their place under /api/ are the very bytes they always were;
tests/dav/test_refusals.py has the same refusals under /dav/ as DAV:error bodies.
"""

from __future__ import annotations

import pytest
from django.http import HttpResponse
from django.test import RequestFactory
from rest_framework.throttling import SimpleRateThrottle

from common import refusals
from common.refusals import Refusal

OVERSIZED = b'{"title": "' + b"x" * (1024 * 1024) + b'"}'
TOO_LARGE = (
    b'{"type": "/problems/payload-too-large", "title": "Request body too large.", "status": 413, '
    b'"detail": "The body is larger than the limit of 1048576 bytes.", "max_bytes": 1048576}'
)
BAD_LENGTH = (
    b'{"type": "/problems/bad-request", "title": "Bad request.", "status": 400, '
    b'"detail": "Content-Length is not a number."}'
)
THROTTLED = (
    b'{"type": "/problems/rate-limited", "title": "Too many requests.", "status": 429, '
    b'"detail": "Request was throttled. Expected available in 50 seconds."}'
)


@pytest.fixture
def clock(monkeypatch):
    monkeypatch.setattr(
        SimpleRateThrottle, "timer", staticmethod(lambda: 6_000_000_010.5)
    )  # 49.5 s to the window's end


@pytest.fixture
def registry(monkeypatch):
    """The registry as it is, given back as it was after the test."""
    monkeypatch.setattr(refusals, "_renderers", dict(refusals._renderers))
    return refusals


def test_api_refusals_before_the_views_are_the_same_problem_json(api, rates, clock):
    rates(anon="2/min")

    too_large = api.generic("POST", "/api/events", OVERSIZED, content_type="application/json")
    bad_length = api.generic("POST", "/api/events", b"{}", content_type="application/json", CONTENT_LENGTH="ten")
    throttled = api.generic("POST", "/api/events", OVERSIZED, content_type="application/json")

    for response, status, body in (
        (too_large, 413, TOO_LARGE),
        (bad_length, 400, BAD_LENGTH),
        (throttled, 429, THROTTLED),
    ):
        assert (response.status_code, response.content) == (status, body)
        assert response["Content-Type"] == "application/problem+json"
        assert "DAV" not in response
        assert "Accept" in response["Vary"]  # as before: DRF's view answered
    assert [too_large["RateLimit-Remaining"], bad_length["RateLimit-Remaining"]] == ["1", "0"]
    assert (throttled["Retry-After"], throttled["RateLimit-Remaining"], throttled["RateLimit-Reset"]) == (
        "50",
        "0",
        "50",
    )


def test_a_path_without_a_renderer_of_its_own_gets_problem_json(registry):
    refusal = Refusal(409, "conflict", "Conflict.", "Taken.", {"current_version": 3}, {"Retry-After": "1"})

    response = registry.refusal_response(RequestFactory().get("/elsewhere"), refusal)

    assert registry.renderer_for("/elsewhere") is None
    assert response.status_code == 409 and response["Content-Type"] == "application/problem+json"
    assert response.content == (
        b'{"type": "/problems/conflict", "title": "Conflict.", "status": 409, "detail": "Taken.", "current_version": 3}'
    )
    assert response["Retry-After"] == "1"
    assert registry.refusal_response(None, refusal).content == response.content  # no request: no path either


def test_the_longest_registered_prefix_renders(registry):
    def outer(request, refusal):
        return HttpResponse(f"outer {refusal.status}", status=refusal.status)

    def inner(request, refusal):
        return HttpResponse(f"inner {refusal.detail}", status=refusal.status)

    registry.register("/outer/", outer)
    registry.register("/outer/inner/", inner)
    refusal = Refusal(413, "payload-too-large", "Request body too large.", "Too big.")

    assert registry.refusal_response(RequestFactory().put("/outer/x"), refusal).content == b"outer 413"
    assert registry.refusal_response(RequestFactory().put("/outer/inner/x"), refusal).content == b"inner Too big."
    assert registry.renderer_for("/outerx") is None
