"""Which reads say their answer is bounded (common/answer_cost.py): only those may be answered on the event loop's
own thread (common/asgi_handler.py). A read whose cost grows with the data or with what it asks must not say it."""

from __future__ import annotations

import pytest

from common import answer_cost

WINDOW = "start=2026-01-01T00:00:00Z&end=2026-12-31T00:00:00Z"

BOUNDED = [
    "/api/auth/me",
    "/api/no-such-thing",
    "/api/events",
    "/api/events?page=2&page_size=5",
    "/api/events?page=6&page_size=100",  # 500 rows skipped: still near the front
    "/api/events/{id}",
    "/api/events/{id}/occurrences",
    f"/api/events/{{id}}/occurrences?{WINDOW}",
]

GROWING = [
    "/api/events?page=7&page_size=100",  # read past 600 rows (OFFSET): grows with how deep the page is
    "/api/events?page=last",  # counted first, then read past every row before it
    f"/api/events?{WINDOW}",  # a window: every recurring event expanded
    f"/api/events?expand=true&{WINDOW}",
    "/api/events?as_of=2026-01-01T00:00:00Z",
    "/api/events?page_size=5&as_of=2026-01-01T00:00:00Z",
    "/api/events/{id}?as_of=2026-01-01T00:00:00Z",
    "/api/events/{id}/occurrences?limit=2500",
    "/api/events/{id}/history",
    "/api/events/{id}/changelog",
    "/api/events/{id}/diff/1/1",
    "/api/events/deleted",
    "/api/events/conflicts?" + WINDOW,
    "/api/freebusy?" + WINDOW,
    "/api/audit",
    "/api/feeds",
    "/dav/",
]


def _bounded(client, path: str, event) -> tuple[int, bool]:
    response = client.get(path.replace("{id}", str(event.pk)))
    return response.status_code, answer_cost.is_bounded(response.wsgi_request)


@pytest.mark.parametrize("path", BOUNDED)
def test_a_page_an_event_and_the_caller_are_bounded(client, event, path):
    status, bounded = _bounded(client, path, event)
    assert status in (200, 404) and bounded


@pytest.mark.parametrize("path", GROWING)
def test_reads_that_grow_with_the_data_or_the_request_are_not(client, event, path):
    status, bounded = _bounded(client, path, event)
    assert status < 500 and not bounded


def test_a_bounded_views_refusals_are_bounded_too(api, event):
    assert _bounded(api, "/api/auth/me", event) == (401, True)  # said before authentication
    assert _bounded(api, "/api/events/{id}", event) == (401, True)
