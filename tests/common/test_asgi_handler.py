"""The ASGI handler runs each HTTP request in one trip to a thread it keeps, or a quick read on the loop's own
thread when nothing else is in flight (common/asgi_handler.py)."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from django.core import signals
from django.http import HttpResponse, StreamingHttpResponse
from django.urls import re_path

from accounts.models import User
from common import answer_cost
from common.after_answer import after_answer
from common.asgi_handler import AsyncCallOnTheLoop, OneTripASGIHandler, _Kinds, _Threads
from config.asgi import application
from tests.helpers import http_scope

# The handler's threads keep their database connections between requests (and so between tests).
pytestmark = pytest.mark.django_db(transaction=True)


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

    await app(http_scope(path, **request), receive, send)
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
    await handler(http_scope("/anything"), receive, send)
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
    await Handler()(http_scope("/anything"), receive, send)
    assert closed == [False] and body_sent.is_set()


async def test_a_request_that_raises_before_any_answer_raises_to_the_server_and_gives_its_thread_back():
    broken = threading.Event()

    class Handler(OneTripASGIHandler):
        def create_request(self, scope, body_file):
            if broken.is_set():
                raise RuntimeError("broken before any answer")
            return super().create_request(scope, body_file)

    sent: list[dict] = []

    async def send(message):
        sent.append(message)

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    handler = Handler()
    handler._kinds._quick_in_a_row["GET /anything"] = STREAK - 1  # a run on its way: still on a thread
    broken.set()
    with pytest.raises(RuntimeError, match="broken before any answer"):
        await handler(http_scope("/anything"), receive, send)
    assert sent == []  # the server answers 500 itself
    assert len(handler._threads._idle) == 1
    assert handler._kinds._quick_in_a_row["GET /anything"] == 0  # recorded: it ends its kind's run


async def test_a_close_that_raises_still_sends_the_answer_and_raises_to_the_server():
    """With nothing left for after it, the answer is closed before it is handed to the loop: a close that raises
    (a request_finished receiver) must still hand it over. Before, the loop waited for it forever: the client got
    nothing and the request counted as unanswered for the worker's life, keeping every read off the loop."""
    sent: list[str] = []

    def failing(**kwargs):
        raise RuntimeError("a request_finished receiver failed")

    async def send(message):
        sent.append(message["type"])

    receive, _ = _answering()
    handler = OneTripASGIHandler(inline_seconds=LOOSE)
    signals.request_finished.connect(failing)
    try:
        with pytest.raises(RuntimeError, match="receiver failed"):
            await asyncio.wait_for(handler(http_scope("/api/no-such-thing", method="POST"), receive, send), 5)
    finally:
        signals.request_finished.disconnect(failing)
    assert sent == ["http.response.start", "http.response.body"]
    assert handler._unanswered == 0 and len(handler._threads._idle) == 1


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
    task = asyncio.ensure_future(handler(http_scope("/anything"), receive, send))
    await asyncio.get_running_loop().run_in_executor(None, started.wait, 5)
    for _ in range(2):  # cancelled again while it waits (as a server shutting down may): it still waits
        task.cancel()
        await asyncio.sleep(0.05)
        assert not task.done() and handler._threads._idle == []  # still held: the request is still running
        assert handler._unanswered == 1  # so no read runs on the loop's thread beside it
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert len(handler._threads._idle) == 1


@pytest.mark.parametrize("close_fails", [False, True])
async def test_a_streamed_answer_whose_client_went_away_before_it_was_sent_is_still_closed_on_its_thread(
    close_fails, caplog
):
    """A streamed answer is closed after it is sent; cancelled before (the client hung up while it was made), it
    must be closed all the same (its files, request_finished: the thread's database connection), on the thread
    that made it. Before, it was never closed. A close that fails then is logged; the cancellation still raises."""
    release = threading.Event()
    started = threading.Event()
    made_on: list[int] = []
    closed_on: list[int] = []

    async def parts():
        yield b"never sent"

    def closer():
        closed_on.append(threading.get_ident())

    def failing(**kwargs):
        raise RuntimeError("a request_finished receiver failed")

    class Handler(OneTripASGIHandler):
        def get_response(self, request):
            started.set()
            release.wait(timeout=5)
            made_on.append(threading.get_ident())
            response = StreamingHttpResponse(parts())
            response._resource_closers.append(closer)
            return response

    sent: list[dict] = []

    async def send(message):
        sent.append(message)

    receive, _ = _answering()
    handler = Handler()
    task = asyncio.ensure_future(handler(http_scope("/anything"), receive, send))
    await asyncio.get_running_loop().run_in_executor(None, started.wait, 5)
    task.cancel()
    await asyncio.sleep(0.05)
    assert handler._unanswered == 1 and closed_on == []
    if close_fails:
        signals.request_finished.connect(failing)
    try:
        release.set()
        with pytest.raises(asyncio.CancelledError):
            await task
    finally:
        signals.request_finished.disconnect(failing)
    assert sent == [] and made_on and closed_on == made_on  # closed, once, on the thread that made it
    assert handler._unanswered == 0 and len(handler._threads._idle) == 1
    logged = [record for record in caplog.records if "cancelled request failed" in record.getMessage()]
    assert len(logged) == (1 if close_fails else 0)


@pytest.mark.parametrize("second_cancel", ["while its thread still returns", "while it is being closed"])
async def test_a_streamed_answer_whose_client_went_away_while_it_was_sent_is_closed_however_often_cancelled(
    second_cancel,
):
    """Cancelled while its answer streams to a client that stopped reading, then again while the thread still
    returns or while the answer is closed (a server shutting down): the handler still waits for its thread, then
    closes the answer on it once, and returns only when that is done. Before, the second cancellation cut either
    wait short: the answer was never closed, or its close still ran when its thread was given to the next
    request."""
    made_on: list[int] = []
    closed_on: list[int] = []
    returning, closing = threading.Event(), threading.Event()
    close_started = threading.Event()

    async def parts():
        yield b"a"

    def closer():
        close_started.set()
        if second_cancel == "while it is being closed":
            closing.wait(timeout=5)
        closed_on.append(threading.get_ident())

    class Handler(OneTripASGIHandler):
        def get_response(self, request):
            made_on.append(threading.get_ident())
            response = StreamingHttpResponse(parts())
            response._resource_closers.append(closer)
            return response

        def _respond(self, *args, **kwargs):
            response = super()._respond(*args, **kwargs)  # handed to the loop; the thread returns after this
            if second_cancel == "while its thread still returns":
                returning.wait(timeout=5)
            return response

    sending = asyncio.Event()

    async def send(message):
        sending.set()
        await asyncio.Event().wait()  # a client that stopped reading

    receive, _ = _answering()
    handler = Handler()
    task = asyncio.ensure_future(handler(http_scope("/anything"), receive, send))
    await asyncio.wait_for(sending.wait(), 5)
    task.cancel()
    await asyncio.sleep(0.05)
    if second_cancel == "while it is being closed":
        await asyncio.get_running_loop().run_in_executor(None, close_started.wait, 5)
    task.cancel()
    await asyncio.sleep(0.05)
    assert not task.done() and closed_on == []  # still waiting for its thread
    assert handler._unanswered == 1 and handler._threads._idle == []
    returning.set()
    closing.set()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 5)
    assert made_on and closed_on == made_on  # closed, once, on the thread that made it
    assert handler._unanswered == 0 and len(handler._threads._idle) == 1


# --- quick, bounded reads on the loop's own thread ----------------------------------------------------------

STREAK = _Kinds.STREAK
LOOSE = 1.0  # a bound no request here comes near, even on a loaded machine: for the tests not about the bound


def _view_handler(ran_on: list[int], view=None, *, bounded: bool = True, hold=None, inline_seconds=LOOSE):
    """A handler whose view (`view(request)`, by default one that reads the database, which Django refuses where a
    loop is running) notes the thread it ran on, and says its answer is bounded unless told not to."""

    class Handler(OneTripASGIHandler):
        def get_response(self, request):
            ran_on.append(threading.get_ident())
            if bounded:
                answer_cost.bounded(request)
            if hold is not None:
                hold.wait(timeout=5)
            if view is not None:
                return view(request)
            return HttpResponse(str(User.objects.count()).encode())

    return Handler(inline_seconds=inline_seconds)


async def _calls(handler, path: str, times: int, **request) -> list[int]:
    return [(await call(handler, path, **request))[0] for _ in range(times)]


async def test_a_bounded_read_runs_on_the_loops_thread_once_its_kind_answered_its_last_requests_quickly():
    from asgiref.sync import SyncToAsync

    ran_on: list[int] = []
    handler = _view_handler(ran_on)
    loop = asyncio.get_running_loop()
    thread_state = dict(SyncToAsync.threadlocal.__dict__)
    for _ in range(STREAK + 2):
        assert await call(handler, "/anything/7") == (200, {b"content-type": b"text/html; charset=utf-8"}, b"0")
    here = threading.get_ident()
    assert here not in ran_on[:STREAK]  # timed on threads until the kind has answered quickly STREAK times
    assert ran_on[STREAK:] == [here, here]  # then on the loop's thread, the database read included
    assert asyncio.get_running_loop() is loop  # the loop is running again
    assert SyncToAsync.threadlocal.__dict__ == thread_state  # asgiref's state for this thread as it was
    assert handler._threads._idle  # the threads given back


async def test_a_read_its_view_did_not_say_bounded_always_runs_on_a_thread():
    ran_on: list[int] = []
    handler = _view_handler(ran_on, bounded=False)
    await _calls(handler, "/whole-calendar", STREAK + 2)
    assert threading.get_ident() not in ran_on and not handler._kinds.quick("GET /whole-calendar")
    ran_on.clear()
    twin = _view_handler(ran_on)  # the same, said bounded: on the loop's thread by now
    await _calls(twin, "/whole-calendar", STREAK + 2)
    assert ran_on[-1] == threading.get_ident()


async def test_kinds_are_the_method_the_path_with_ids_made_stars_and_the_parameter_names():
    def kind(path, **request):
        return _Kinds.kind(http_scope(path, **request))

    assert kind("/api/events/12") == kind("/api/events/981") == "GET /api/events/*"
    assert kind("/api/events/12/history") == "GET /api/events/*/history"
    assert kind("/api/events/12", method="HEAD") == "HEAD /api/events/*"
    listed = kind("/api/events", query=b"page=2&page_size=5")
    assert listed == kind("/api/events", query=b"page_size=9&page=1") == "GET /api/events?page&page_size"
    assert kind("/api/events", query=b"start=1&end=2&expand=true") != listed


def _bounded_answer(status: int = 200):
    response = HttpResponse(b"", status=status)
    response.answer_is_bounded = True
    return response


def test_at_most_limit_kinds_are_remembered_then_the_table_starts_over():
    kinds = _Kinds(0.005)
    kinds.record("GET /slow", 0.006, _bounded_answer(), on_the_loop=True)
    for number in range(_Kinds.LIMIT - 1):
        for _ in range(STREAK):
            kinds.record(f"GET /kind-{number}", 0.001, _bounded_answer(), on_the_loop=False)
    assert kinds.quick("GET /kind-0") and len(kinds._quick_in_a_row) == _Kinds.LIMIT
    for _ in range(STREAK):  # past the limit the table starts over: bounded, and new kinds still learnt
        kinds.record("GET /one-more", 0.001, _bounded_answer(), on_the_loop=False)
    assert kinds.quick("GET /one-more") and not kinds.quick("GET /kind-0")
    assert len(kinds._quick_in_a_row) == 1
    # What a kind that held the loop needs is kept: random paths do not wipe it.
    assert kinds._needed == {"GET /slow": 2 * STREAK}


def test_at_most_limit_kinds_that_held_the_loop_are_remembered_the_longest_here_goes_first():
    kinds = _Kinds(0.005)
    for number in range(_Kinds.LIMIT + 1):
        kinds.record(f"GET /slow-{number}", 0.006, _bounded_answer(), on_the_loop=True)
    kinds.record("GET /slow-1", 0.006, _bounded_answer(), on_the_loop=True)  # again: now the latest
    assert len(kinds._needed) == _Kinds.LIMIT and "GET /slow-0" not in kinds._needed
    assert kinds._needed["GET /slow-1"] == 4 * STREAK and next(iter(kinds._needed)) == "GET /slow-2"


def test_what_makes_a_kind_quick_and_what_ends_its_run():
    kinds = _Kinds(0.005)
    for _ in range(STREAK - 2):
        kinds.record("GET /k", 0.001, _bounded_answer(), on_the_loop=False)
    kinds.record("GET /k", 0.001, _bounded_answer(304), on_the_loop=False)
    assert not kinds.quick("GET /k")
    kinds.record("GET /k", 0.001, _bounded_answer(401), on_the_loop=False)  # a bounded view's refusal counts
    assert kinds.quick("GET /k")
    streamed = StreamingHttpResponse(iter([b""]))
    streamed.answer_is_bounded = True
    ends = {
        "slower than the bound": (0.006, _bounded_answer()),
        "a slow refusal": (0.006, _bounded_answer(404)),
        "an error": (0.001, _bounded_answer(500)),
        "an exception": (0.001, None),
        "a streamed answer": (0.001, streamed),
        "an answer not said bounded": (0.001, HttpResponse(b"")),
        "a refusal not said bounded": (0.001, HttpResponse(status=404)),
    }
    for why, (seconds, response) in ends.items():
        for _ in range(STREAK):
            kinds.record("GET /k", 0.001, _bounded_answer(), on_the_loop=False)
        assert kinds.quick("GET /k"), why
        kinds.record("GET /k", seconds, response, on_the_loop=False)
        assert not kinds.quick("GET /k"), why


def test_each_slow_answer_on_the_loops_thread_doubles_the_run_its_kind_needs():
    kinds = _Kinds(0.005)
    for needed in (2 * STREAK, 4 * STREAK):
        kinds.record("GET /k", 0.006, _bounded_answer(), on_the_loop=True)
        for _ in range(needed - 1):
            kinds.record("GET /k", 0.001, _bounded_answer(), on_the_loop=False)
        assert not kinds.quick("GET /k")
        kinds.record("GET /k", 0.001, _bounded_answer(), on_the_loop=False)
        assert kinds.quick("GET /k")
    kinds.record("GET /k", 0.006, _bounded_answer(), on_the_loop=False)  # slow on a thread: the run ends, only
    for _ in range(4 * STREAK):
        kinds.record("GET /k", 0.001, _bounded_answer(), on_the_loop=False)
    assert kinds.quick("GET /k")
    for _ in range(20):
        kinds.record("GET /k", 0.006, _bounded_answer(), on_the_loop=True)
    assert kinds._needed["GET /k"] == _Kinds.LONGEST_STREAK


async def test_one_slow_answer_on_the_loops_thread_sends_its_kind_back_to_threads_for_a_longer_run():
    ran_on: list[int] = []
    slow = threading.Event()

    def view(request):
        if slow.is_set():
            time.sleep(0.06)
        return HttpResponse(b"ok")

    handler = _view_handler(ran_on, view, inline_seconds=0.05)
    await _calls(handler, "/anything", STREAK + 1)
    here = threading.get_ident()
    assert ran_on[-1] == here
    slow.set()
    await call(handler, "/anything")  # on the loop's thread, and slow: timed there too
    slow.clear()
    ran_on.clear()
    await _calls(handler, "/anything", 2 * STREAK + 1)
    assert here not in ran_on[: 2 * STREAK] and ran_on[2 * STREAK] == here  # a run twice as long, on threads


async def test_the_close_on_the_loops_thread_is_timed_too():
    ran_on: list[int] = []
    slow_close = threading.Event()

    def view(request):
        response = HttpResponse(b"ok")
        response._resource_closers.append(lambda: slow_close.is_set() and time.sleep(0.06))
        return response

    handler = _view_handler(ran_on, view, inline_seconds=0.05)
    await _calls(handler, "/anything", STREAK + 1)
    assert ran_on[-1] == threading.get_ident()
    slow_close.set()
    await call(handler, "/anything")
    assert not handler._kinds.quick("GET /anything")


async def test_a_read_slower_than_the_limit_stays_on_threads():
    ran_on: list[int] = []
    handler = _view_handler(ran_on, inline_seconds=1e-9)
    await _calls(handler, "/anything", STREAK + 2)
    assert threading.get_ident() not in ran_on


async def test_writes_always_run_on_a_thread_and_do_not_make_a_read_of_the_same_path_quick():
    ran_on: list[int] = []
    handler = _view_handler(ran_on)
    for method in ("POST", "PUT", "PATCH", "DELETE", "OPTIONS"):
        await _calls(handler, "/anything", STREAK + 1, method=method)
    assert handler._kinds.quick("DELETE /anything")  # quick, and still on threads: not a read
    await call(handler, "/anything")
    assert threading.get_ident() not in ran_on


async def test_a_read_while_another_request_is_in_flight_runs_on_a_thread():
    ran_on: list[int] = []
    hold = threading.Event()
    handler = _view_handler(ran_on, hold=hold)
    hold.set()
    await _calls(handler, "/quick", STREAK)
    assert handler._kinds.quick("GET /quick")
    hold.clear()
    slow = asyncio.ensure_future(call(handler, "/slow", method="POST"))
    while len(ran_on) < STREAK + 1:
        await asyncio.sleep(0.001)
    hold.set()  # the POST is let go only once the read below has been started: it cannot run inline
    quick = await call(handler, "/quick")
    await slow
    assert quick[0] == 200 and threading.get_ident() not in ran_on


async def test_a_read_while_another_request_only_closes_its_sent_answer_runs_on_the_loops_thread():
    """A write's answer has been sent and its thread is doing the work left for after it: the read after it (a
    client that changes something, then reads) holds up no one's answer on the loop's thread."""
    ran_on: list[int] = []
    closing, let_go = threading.Event(), threading.Event()

    def view(request):
        if request.method == "POST":
            after_answer(lambda: (closing.set(), let_go.wait(timeout=5)))
        return HttpResponse(b"ok")

    handler = _view_handler(ran_on, view)
    await _calls(handler, "/quick", STREAK)
    write = asyncio.ensure_future(call(handler, "/write", method="POST"))
    await asyncio.get_running_loop().run_in_executor(None, closing.wait, 5)
    assert closing.is_set() and not write.done()  # answered, and still closing on its thread
    read = await call(handler, "/quick")
    let_go.set()
    assert (await write)[0] == 200 and read[0] == 200
    assert ran_on[-1] == threading.get_ident() and ran_on[-2] != threading.get_ident()


async def test_a_read_while_one_on_the_loops_thread_is_still_sending_runs_on_a_thread():
    """A slow client holds the first answer's send; the second read must not run on the loop's thread then,
    between the first's answer and its close (the two would share the thread's request state)."""
    ran_on: list[int] = []
    handler = _view_handler(ran_on)
    await _calls(handler, "/quick", STREAK)
    sending, let_go = asyncio.Event(), asyncio.Event()

    async def slow_send(message):
        if message["type"] == "http.response.body":
            sending.set()
            await let_go.wait()

    receive, _ = _answering()
    first = asyncio.ensure_future(handler(http_scope("/quick"), receive, slow_send))
    await sending.wait()
    second = await call(handler, "/quick")
    let_go.set()
    await first
    here = threading.get_ident()
    assert second[0] == 200 and ran_on[-2:] == [here, ran_on[-1]] and ran_on[-1] != here
    assert handler._unanswered == 0


async def test_on_the_loops_thread_the_answer_is_sent_before_its_close_and_the_work_left_for_after_it():
    body_sent = threading.Event()
    done: list[tuple[str, bool, int]] = []

    def view(request):
        after_answer(lambda: done.append(("left work", body_sent.is_set(), threading.get_ident())))
        response = HttpResponse(b"body")
        response._resource_closers.append(lambda: done.append(("closed", body_sent.is_set(), threading.get_ident())))
        return response

    handler = _view_handler([], view)
    await _calls(handler, "/anything", STREAK)  # on threads
    done.clear()
    receive, send = _answering(body_sent.set)
    await handler(http_scope("/anything"), receive, send)
    here = threading.get_ident()
    assert done == [("closed", True, here), ("left work", True, here)]


async def test_a_read_on_the_loops_thread_that_raises_raises_to_the_server_and_its_kind_goes_back_to_threads():
    made_on: list[int] = []
    broken = threading.Event()

    class Handler(OneTripASGIHandler):
        def create_request(self, scope, body_file):
            made_on.append(threading.get_ident())
            if broken.is_set():
                raise RuntimeError("broken before any answer")
            return super().create_request(scope, body_file)

    handler = Handler(inline_seconds=LOOSE)
    loop = asyncio.get_running_loop()
    assert await _calls(handler, "/api/no-such-thing", STREAK) == [404] * STREAK  # said bounded by its view
    assert handler._kinds.quick("GET /api/no-such-thing")
    broken.set()
    with pytest.raises(RuntimeError, match="broken before any answer"):
        await call(handler, "/api/no-such-thing")
    assert made_on[-1] == threading.get_ident()  # it ran on the loop's thread
    assert asyncio.get_running_loop() is loop  # which runs again
    assert not handler._kinds.quick("GET /api/no-such-thing") and handler._unanswered == 0


def _calls_async_code(request):
    from asgiref.sync import async_to_sync

    async def answer():
        return b"from async code"

    answer_cost.bounded(request)
    return HttpResponse(async_to_sync(answer)())


urlpatterns = [re_path(r"^calls-async-code$", _calls_async_code)]  # this module is the URL conf of the test below


async def test_async_code_called_on_the_loops_thread_fails_at_once_and_its_kind_goes_to_threads(caplog):
    ran_on: list[int] = []

    class Handler(OneTripASGIHandler):
        def get_response(self, request):
            ran_on.append(threading.get_ident())
            request.urlconf = __name__  # the whole of Django's handling, the error answer and its log included
            return super().get_response(request)

    handler = Handler(inline_seconds=LOOSE)
    handler._kinds._quick_in_a_row["GET /calls-async-code"] = STREAK  # as if it had answered quickly lately
    status, _, _ = await call(handler, "/calls-async-code")
    assert status == 500 and ran_on[-1] == threading.get_ident()
    logged = [record for record in caplog.records if record.name == "django.request" and record.exc_info]
    assert logged and logged[-1].exc_info[0] is AsyncCallOnTheLoop
    status, _, body = await call(handler, "/calls-async-code")  # the error sent the kind back to threads
    assert (status, body) == (200, b"from async code") and ran_on[-1] != threading.get_ident()


def _closing_connections(function, *args):
    """`function(*args)` then this thread's database connections closed (an executor's thread outlives the test)."""
    from django.db import connections

    try:
        return function(*args)
    finally:
        connections.close_all()


async def test_an_answer_is_the_same_on_the_loops_thread_as_on_a_thread(threads_seen):
    """The whole stack, real reads: authentication, the rate limit, the cache, the view; byte for byte but for
    the request's id and the rate limit's count, which each request lowers by one, wherever it runs."""
    from rest_framework_simplejwt.tokens import AccessToken

    from tests.factories import make_event

    def given():
        user = User.objects.create_user("inline", "inline@example.com", "inline-password-123")
        return make_event(user, title="Inline"), str(AccessToken.for_user(user))

    event, access = await asyncio.to_thread(_closing_connections, given)
    token = (b"authorization", f"Bearer {access}".encode())
    handler = OneTripASGIHandler(inline_seconds=LOOSE)
    answers, remaining = [], []
    for path in (f"/api/events/{event.pk}", "/api/auth/me"):
        for _ in range(STREAK + 1):
            status, headers, body = await call(handler, path, headers=(token,))
            headers.pop(b"x-request-id"), headers.pop(b"ratelimit-reset")
            remaining.append(int(headers.pop(b"ratelimit-remaining")))
            answers.append((status, headers, body))
    here = threading.get_ident()
    started_on = [thread == here for name, thread in threads_seen if name == "started"]
    assert started_on == ([False] * STREAK + [True]) * 2  # each kind on threads, then on the loop's thread
    assert remaining == list(range(remaining[0], remaining[0] - len(remaining), -1))
    detail, me = answers[: STREAK + 1], answers[STREAK + 1 :]
    assert detail[0][0] == 200 and detail[-1] == detail[-2]
    assert me[0][0] == 200 and me[-1] == me[-2]
