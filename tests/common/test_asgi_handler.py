"""The ASGI handler runs each HTTP request in one trip to a thread it keeps (common/asgi_handler.py)."""

from __future__ import annotations

import asyncio
import threading

import pytest
from django.core import signals
from django.http import HttpResponse, StreamingHttpResponse

from common.asgi_handler import OneTripASGIHandler, _Threads
from config.asgi import application

# The handler's threads keep their database connections between requests (and so between tests).
pytestmark = pytest.mark.django_db(transaction=True)


def scope(path: str) -> dict:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }


async def call(app, path: str) -> tuple[int, dict, bytes]:
    sent: list[dict] = []
    requested = False

    async def receive():
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.Event().wait()  # the client never disconnects

    async def send(message):
        sent.append(message)

    await app(scope(path), receive, send)
    start = next(message for message in sent if message["type"] == "http.response.start")
    body = b"".join(message.get("body", b"") for message in sent if message["type"] == "http.response.body")
    return start["status"], {name.lower(): value for name, value in start["headers"]}, body


@pytest.fixture
def threads_seen():
    """The thread each request_started / request_finished signal ran on, in order."""
    seen: list[tuple[str, int]] = []

    def started(**kwargs):
        seen.append(("started", threading.get_ident()))

    def finished(**kwargs):
        seen.append(("finished", threading.get_ident()))

    signals.request_started.connect(started)
    signals.request_finished.connect(finished)
    yield seen
    signals.request_started.disconnect(started)
    signals.request_finished.disconnect(finished)


async def test_a_request_starts_and_finishes_on_one_thread_which_the_next_request_reuses(threads_seen):
    for _ in range(2):
        status, _, body = await call(application, "/api/no-such-thing")
        assert status == 404 and b"not-found" in body
    loop_thread = threading.get_ident()
    assert [name for name, _ in threads_seen] == ["started", "finished", "started", "finished"]
    assert len({thread for _, thread in threads_seen}) == 1  # one thread for both requests: kept, not made anew
    assert threads_seen[0][1] != loop_thread  # and not the event loop's


async def test_the_answer_goes_through_the_whole_middleware_stack():
    status, headers, _ = await call(application, "/api/no-such-thing")
    assert status == 404
    assert {b"x-request-id", b"ratelimit-limit", b"x-frame-options", b"x-content-type-options"} <= headers.keys()
    assert headers[b"content-type"] == b"application/problem+json"


def test_requests_in_flight_at_once_each_have_a_thread_and_threads_are_reused():
    threads = _Threads()
    first, second = threads.take(), threads.take()
    assert first is not second
    threads.give_back(second)
    assert threads.take() is second
    for executor in (first, second):
        executor.shutdown()


async def test_a_streamed_answer_is_closed_after_it_was_sent_on_the_thread_that_made_it():
    closed_on: list[int] = []
    made_on: list[int] = []

    async def parts():
        yield b"a"
        yield b"b"

    class Handler(OneTripASGIHandler):
        def get_response(self, request):
            made_on.append(threading.get_ident())
            response = StreamingHttpResponse(parts())
            response._resource_closers.append(lambda: closed_on.append(threading.get_ident()))
            return response

    status, _, body = await call(Handler(), "/anything")
    assert (status, body) == (200, b"ab") and closed_on == made_on


async def test_an_unstreamed_answer_is_closed_on_its_thread_before_it_is_sent():
    events: list[str] = []

    class Handler(OneTripASGIHandler):
        def get_response(self, request):
            response = HttpResponse(b"body")
            response._resource_closers.append(lambda: events.append("closed"))
            return response

    async def send(message):
        if message["type"] == "http.response.body":
            events.append("sent")

    requested = False

    async def receive():
        nonlocal requested
        requested = True
        return {"type": "http.request", "body": b"", "more_body": False}

    await Handler()(scope("/anything"), receive, send)
    assert events == ["closed", "sent"]
