"""The ASGI handler runs each HTTP request in one trip to a thread it keeps, or a quick read on the loop's own
thread when nothing else is in flight (common/asgi_handler.py)."""

from __future__ import annotations

import asyncio
import threading

import pytest
from django.core import signals
from django.http import HttpResponse, StreamingHttpResponse

from accounts.models import User
from common.after_answer import after_answer
from common.asgi_handler import OneTripASGIHandler, _Durations, _Threads
from config.asgi import application

# The handler's threads keep their database connections between requests (and so between tests).
pytestmark = pytest.mark.django_db(transaction=True)


def scope(path: str, method: str = "GET", headers: tuple = (), query: bytes = b"") -> dict:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "root_path": "",
        "headers": [(b"host", b"testserver"), *headers],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }


async def call(app, path: str, **request) -> tuple[int, dict, bytes]:
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

    await app(scope(path, **request), receive, send)
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
    handler = OneTripASGIHandler(inline_seconds=0)  # never on the loop's thread
    for _ in range(2):
        status, _, body = await call(handler, "/api/no-such-thing")
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


# --- quick reads on the loop's own thread ----------------------------------------------------------------


def _query_counting_handler(ran_on: list[int], *, hold: threading.Event | None = None, **options):
    """A handler whose view reads the database (Django refuses that where a loop is running) and notes its thread."""

    class Handler(OneTripASGIHandler):
        def get_response(self, request):
            ran_on.append(threading.get_ident())
            if hold is not None:
                hold.wait(timeout=5)
            return HttpResponse(str(User.objects.count()).encode())

    return Handler(**options)


async def test_a_quick_read_with_nothing_in_flight_runs_on_the_loops_thread_once_its_kind_is_known():
    ran_on: list[int] = []
    handler = _query_counting_handler(ran_on)
    loop = asyncio.get_running_loop()
    for _ in range(3):
        assert await call(handler, "/anything/7") == (200, {b"content-type": b"text/html; charset=utf-8"}, b"0")
    here = threading.get_ident()
    assert ran_on[0] != here  # a kind not seen yet: on a thread, timed
    assert ran_on[1:] == [here, here]  # then on the loop's thread, the database read included
    assert asyncio.get_running_loop() is loop  # the loop is running again
    assert handler._threads._idle  # the first request's thread, given back


async def test_other_ids_in_the_path_are_the_same_kind_other_paths_and_parameters_are_not():
    assert _Durations.kind(scope("/api/events/12")) == _Durations.kind(scope("/api/events/981")) == "/api/events/*"
    assert _Durations.kind(scope("/api/events/12/history")) == "/api/events/*/history"
    listed = _Durations.kind(scope("/api/events", query=b"page=2&page_size=5"))
    assert listed == _Durations.kind(scope("/api/events", query=b"page_size=9&page=1")) == "/api/events?page&page_size"
    assert _Durations.kind(scope("/api/events", query=b"start=1&end=2&expand=true")) != listed
    durations = _Durations()
    for number in range(_Durations.LIMIT):
        durations.record(f"/kind-{number}", 0.001)
    assert durations.within("/kind-0", 0.005) and len(durations._seconds) == _Durations.LIMIT
    durations.record("/one-more", 0.001)  # past the limit the table starts over: bounded, and new kinds still learnt
    assert durations.within("/one-more", 0.005) and not durations.within("/kind-0", 0.005)
    assert len(durations._seconds) == 1


async def test_a_read_slower_than_the_limit_stays_on_threads():
    ran_on: list[int] = []
    handler = _query_counting_handler(ran_on, inline_seconds=1e-9)
    for _ in range(3):
        await call(handler, "/anything")
    assert threading.get_ident() not in ran_on


async def test_writes_always_run_on_a_thread():
    ran_on: list[int] = []
    handler = _query_counting_handler(ran_on)
    for method in ("POST", "POST", "PUT", "PATCH", "DELETE", "DELETE", "OPTIONS", "OPTIONS"):
        await call(handler, "/anything", method=method)
    assert threading.get_ident() not in ran_on


async def test_a_read_while_another_request_is_in_flight_runs_on_a_thread():
    ran_on: list[int] = []
    hold = threading.Event()
    handler = _query_counting_handler(ran_on, hold=hold)
    hold.set()
    await call(handler, "/quick")  # known, and quick
    hold.clear()
    slow = asyncio.ensure_future(call(handler, "/slow", method="POST"))
    while len(ran_on) < 2:
        await asyncio.sleep(0.001)
    hold.set()  # the POST is let go only once the read below has been started: it cannot run inline
    quick = await call(handler, "/quick")
    await slow
    assert quick[0] == 200 and threading.get_ident() not in ran_on


async def test_on_the_loops_thread_the_answer_is_sent_before_its_close_and_the_work_left_for_after_it():
    body_sent = threading.Event()
    done: list[tuple[str, bool, int]] = []

    class Handler(OneTripASGIHandler):
        def get_response(self, request):
            after_answer(lambda: done.append(("left work", body_sent.is_set(), threading.get_ident())))
            response = HttpResponse(b"body")
            response._resource_closers.append(
                lambda: done.append(("closed", body_sent.is_set(), threading.get_ident()))
            )
            return response

    handler = Handler()
    receive, send = _answering()
    await handler(scope("/anything"), receive, send)  # the first, on a thread
    done.clear()
    receive, send = _answering(body_sent.set)
    await handler(scope("/anything"), receive, send)
    here = threading.get_ident()
    assert done == [("closed", True, here), ("left work", True, here)]


async def test_a_read_on_the_loops_thread_that_raises_raises_to_the_server_and_leaves_the_loop_running():
    class Handler(OneTripASGIHandler):
        calls = 0

        def create_request(self, scope, body_file):
            self.calls += 1
            if self.calls > 1:
                raise RuntimeError("broken before any answer")
            return super().create_request(scope, body_file)

    handler = Handler()
    loop = asyncio.get_running_loop()
    await call(handler, "/api/no-such-thing")
    with pytest.raises(RuntimeError, match="broken before any answer"):
        await call(handler, "/api/no-such-thing")
    assert asyncio.get_running_loop() is loop


async def test_an_answer_is_the_same_on_the_loops_thread_as_on_a_thread(threads_seen):
    """The whole stack, a real read: authentication, the rate limit, the cache, the view; byte for byte but for
    the request's id and the rate limit's count, which each request lowers by one, wherever it runs."""
    from rest_framework_simplejwt.tokens import AccessToken

    from tests.factories import make_event

    user = await asyncio.to_thread(User.objects.create_user, "inline", "inline@example.com", "inline-password-123")
    event = await asyncio.to_thread(make_event, user, title="Inline")
    token = (b"authorization", f"Bearer {await asyncio.to_thread(lambda: str(AccessToken.for_user(user)))}".encode())
    handler = OneTripASGIHandler(inline_seconds=1.0)  # a first request is slow (compiling, caches): any limit
    answers, remaining = [], []
    for path in (f"/api/events/{event.pk}", f"/api/events/{event.pk}", "/api/auth/me", "/api/auth/me"):
        status, headers, body = await call(handler, path, headers=(token,))
        headers.pop(b"x-request-id"), headers.pop(b"ratelimit-reset")
        remaining.append(int(headers.pop(b"ratelimit-remaining")))
        answers.append((status, headers, body))
    here = threading.get_ident()
    started_on = [thread for name, thread in threads_seen if name == "started"]
    assert [thread == here for thread in started_on] == [False, True, False, True]  # each kind's second inline
    assert remaining == list(range(remaining[0], remaining[0] - 4, -1))
    assert answers[0][0] == 200 and answers[0] == answers[1]
    assert answers[2][0] == 200 and answers[2] == answers[3]
