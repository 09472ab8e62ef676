"""The ASGI handler runs each HTTP request in one trip to a thread it keeps (common/asgi_handler.py)."""

from __future__ import annotations

import asyncio
import threading

import pytest
from django.core import signals
from django.http import HttpResponse, StreamingHttpResponse

from common.after_answer import after_answer
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


def _answering(on_body_sent=None):
    """receive/send for one GET; `on_body_sent()` runs when the body goes out."""

    async def send(message):
        if message["type"] == "http.response.body" and on_body_sent:
            on_body_sent()

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    return receive, send


async def test_an_answer_with_work_left_for_after_it_is_sent_first_then_closed_on_its_thread():
    """The client does not wait for that work (a cache fill) nor the close: they can only see the answer sent
    if it left before them; before, they ran first and this waited in vain."""
    body_sent = threading.Event()
    made_on: list[int] = []
    done: list[tuple[str, bool, int]] = []

    class Handler(OneTripASGIHandler):
        def get_response(self, request):
            made_on.append(threading.get_ident())
            after_answer(lambda: done.append(("left work", body_sent.wait(timeout=5), threading.get_ident())))
            response = HttpResponse(b"body")
            response._resource_closers.append(
                lambda: done.append(("closed", body_sent.wait(timeout=5), threading.get_ident()))
            )
            return response

    receive, send = _answering(body_sent.set)
    handler = Handler()
    await handler(scope("/anything"), receive, send)
    assert done == [("closed", True, made_on[0]), ("left work", True, made_on[0])]
    assert handler._threads._idle  # the thread was given back


async def test_an_answer_with_nothing_left_for_after_it_is_closed_first_and_the_loop_woken_once():
    body_sent = threading.Event()
    closed: list[bool] = []

    class Handler(OneTripASGIHandler):
        def get_response(self, request):
            response = HttpResponse(b"body")
            response._resource_closers.append(lambda: closed.append(body_sent.is_set()))
            return response

    receive, send = _answering(body_sent.set)
    await Handler()(scope("/anything"), receive, send)
    assert closed == [False] and body_sent.is_set()


async def test_a_request_that_raises_before_any_answer_raises_to_the_server_and_gives_its_thread_back():
    class Handler(OneTripASGIHandler):
        def create_request(self, scope, body_file):
            raise RuntimeError("broken before any answer")

    sent: list[dict] = []

    async def send(message):
        sent.append(message)

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    handler = Handler()
    with pytest.raises(RuntimeError, match="broken before any answer"):
        await handler(scope("/anything"), receive, send)
    assert sent == []  # the server answers 500 itself
    assert len(handler._threads._idle) == 1


async def test_a_client_gone_while_the_answer_is_made_leaves_the_thread_busy_until_the_request_ends():
    """Cancelled while the request runs (the client hung up), the handler still waits for its thread to
    finish before giving it back: no later request queues behind a request still running."""
    release = threading.Event()
    started = threading.Event()

    class Handler(OneTripASGIHandler):
        def get_response(self, request):
            started.set()
            release.wait(timeout=5)
            return HttpResponse(b"late")

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        pass

    handler = Handler()
    task = asyncio.ensure_future(handler(scope("/anything"), receive, send))
    await asyncio.get_running_loop().run_in_executor(None, started.wait, 5)
    task.cancel()
    await asyncio.sleep(0.05)
    assert not task.done() and handler._threads._idle == []  # still held: the request is still running
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert len(handler._threads._idle) == 1
