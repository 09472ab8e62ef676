"""HTTP requests from the ASGI server into Django: one trip to a worker thread per request.

Django's own ASGI handler, with a middleware stack of sync middleware and sync views (ours), moves
every request between the event loop and threads six times: the `request_started` signal, the
middleware (in a thread), the URL resolution and view call (back on the loop, then in a thread again),
the error log of a 4xx/5xx (another thread), the closing of the response (the thread again); and it
starts a new thread for each request (`ThreadSensitiveContext`) and joins it at the end. Measured with
one worker and one client, those trips were a third of the server's CPU per request
(docs/PERFORMANCE.md, "Per-request cost").

`OneTripASGIHandler` runs the whole request — the signal, the middleware, the view, closing the
response — in one call on one thread, exactly what Django's WSGI handler does, and takes that thread
from a set of threads kept for the life of the process: each request has a thread to itself (as many
threads as requests running at once, as before, so nothing queues behind a slow request), and the
database connection, which Django keeps per thread, stays with it (`CONN_MAX_AGE`).

The answer leaves before its close when the request left work for after it (`common/after_answer.py`:
storing a read's answer in the cache): the thread hands it to the event loop, which sends it while the
thread does that work and closes it (`request_finished`: the database connection given back). A miss
on Redis so saves a round trip. An answer with nothing left for after it (a cache hit, the no-op, an
error) is closed first and handed over as the thread's call returns: the loop is woken once per
request, not twice. The thread is free for the next request as soon as the answer is sent: that
request runs on it once the close is done (a thread's requests never overlap), which costs less than
waking another thread. A streamed answer (e.g. a static file) is closed after it has
been sent, or once its client went away before, on the thread that made it.
Code in the request that calls async code (`async_to_sync`, e.g. the channel layer) runs it on the
server's event loop, as before.

**A quick, bounded read runs on the loop's own thread when no other answer is under way.** The trip to a
thread is the largest fixed cost left: the thread wakes on another core, where the request's Python runs
with cold caches (docs/PERFORMANCE.md, "Sixth round"). A GET or HEAD runs on the loop's thread, as a sync
worker runs every request, only when all of these hold:
- no other request of the worker is still to be answered, on a thread or on the loop's thread (one still
  sending its answer counts, so two requests never overlap on one thread; one on a thread whose answer has
  been sent and is only being closed does not: what is left of it holds up no one's answer);
- its kind (the method, the path with ids made `*`, the query's parameter names) gave its last answers
  (`_Kinds.STREAK` of them) each within one switch interval of the interpreter
  (`sys.getswitchinterval()`, 5 ms: the longest a thread runs before another may take the GIL, so such a
  request would have held the interpreter as long on a thread), and each from a view that said its answer
  was bounded (common/answer_cost.py: one event, a page of the calendar, `me`; never a whole calendar, a
  window, a history, a diff). What makes a run and what ends it: `_Kinds.record`.
The loop is told it is not running for the while (Django's async-safety check asks that), the answer is
sent, then it is closed there. Anything else — a write, an unbounded read, a new or slow kind, a request
while another is being answered — goes to a thread as above, so no answer waits behind it.

What the loop can still wait on: one bounded read that is slower than its kind's last ones (a cache miss
rather than a hit, a garbage collection), or one whose database or Redis stalls — up to the Redis client's
timeout (1 s), SQLite's lock timeout (20 s; reads wait only behind another process's commit) or PostgreSQL's
statement time limit (`DB_STATEMENT_TIMEOUT`, 30 s; then a 503). A cut network to PostgreSQL, which no limit on
the server's side ends, is given up after `DB_NETWORK_TIMEOUT` (10 s; config/settings/base.py). Each slow answer on the
loop's thread doubles the run of quick answers its kind needs before it comes back (`_Kinds.record`).
A read sends nothing to the channel layer (`async_to_sync`, which needs the loop free). Should one ever try
on the loop's thread, it fails at once (`AsyncCallOnTheLoop`: an error answer, logged) rather than run the
coroutine on another loop than the server's. (`async_to_sync(force_new_loop=True)` and `asyncio.run` are not
guarded: nothing here calls either.)
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import SyncToAsync, sync_to_async
from django.core import signals
from django.core.exceptions import RequestAborted
from django.core.handlers import base
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.http import FileResponse
from django.urls import set_script_prefix

from . import after_answer, answer_cost

logger = logging.getLogger(__name__)


class _Threads:
    """Single-thread executors kept for reuse: one per request in flight, never more made than were busy at once."""

    def __init__(self) -> None:
        self._idle: list[ThreadPoolExecutor] = []
        self._made = 0

    def take(self) -> ThreadPoolExecutor:
        if self._idle:
            return self._idle.pop()
        self._made += 1
        return ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"http-{self._made}")

    def give_back(self, executor: ThreadPoolExecutor) -> None:
        self._idle.append(executor)


_SAFE_METHODS = frozenset({"GET", "HEAD"})


class _Kinds:
    """What this worker has lately seen of each kind of request (method, path with ids made `*`, the query's
    parameter names): how many of its latest answers in a row were quick, and how many it needs. At most LIMIT
    kinds' runs are remembered (one more and they start over; what a kind needs is kept). Used on the loop's
    thread only."""

    LIMIT = 512
    STREAK = 8  # quick answers in a row that make a kind quick, at first
    LONGEST_STREAK = 1024  # what a kind that keeps being slow on the loop's thread needs at most

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._quick_in_a_row: dict[str, int] = {}
        self._needed: dict[str, int] = {}  # a kind's run, once it was slow on the loop's thread

    @staticmethod
    def kind(scope) -> str:
        path = "/".join("*" if any(c.isdigit() for c in part) else part for part in scope["path"].split("/"))
        kind = f"{scope['method']} {path}"
        query = scope.get("query_string") or b""
        if not query:
            return kind
        names = sorted({pair.split(b"=", 1)[0] for pair in query.split(b"&")})
        return f"{kind}?{b'&'.join(names).decode('latin-1')}"

    def quick(self, kind: str) -> bool:
        return self._quick_in_a_row.get(kind, 0) >= self._needed.get(kind, self.STREAK)

    def record(self, kind: str, seconds: float, response, *, on_the_loop: bool) -> None:
        """One answer of `kind` (`response` None if the request raised), which held its thread for `seconds`.

        Quick: within `seconds`, said bounded by its view (common/answer_cost.py), neither an error (5xx) nor
        streamed; a refusal of a bounded view counts as any of its answers. A quick answer lengthens the kind's
        run; any other ends it, and if it held the loop's thread, the kind needs a run twice as long."""
        quick = (
            response is not None
            and seconds <= self.seconds
            and getattr(response, "answer_is_bounded", False)
            and response.status_code < 500
            and not response.streaming
        )
        in_a_row = self._quick_in_a_row.get(kind)
        if in_a_row is None and len(self._quick_in_a_row) >= self.LIMIT:
            self._quick_in_a_row.clear()  # e.g. paths of random names: start over rather than grow
        self._quick_in_a_row[kind] = (in_a_row or 0) + 1 if quick else 0
        if on_the_loop and not quick:
            # Kept when the runs start over: only a kind that held the loop is here, so random paths cannot
            # wipe what it needs. At most LIMIT of them too: the one longest here goes first.
            needed = self._needed.pop(kind, self.STREAK)
            if len(self._needed) >= self.LIMIT:
                del self._needed[next(iter(self._needed))]
            self._needed[kind] = min(2 * needed, self.LONGEST_STREAK)


class AsyncCallOnTheLoop(Exception):
    """Async code (`async_to_sync`) called by a request running on the event loop's thread, which that code would
    need free: such a request must run on a thread."""


class _LoopSetAside:
    """Stands for the server's loop, to asgiref's `async_to_sync`, while a request runs on the loop's thread."""

    def create_task(self, awaitable):  # named by asgiref, never called: call_soon_threadsafe refuses first
        raise AsyncCallOnTheLoop

    def call_soon_threadsafe(self, callback, awaitable, *args):
        called = (awaitable.cr_frame.f_locals.get("awaitable") if awaitable.cr_frame else None, awaitable)
        for coroutine in called:  # the code called, and asgiref's wrapper around it: never to be run
            if hasattr(coroutine, "close"):
                coroutine.close()
        raise AsyncCallOnTheLoop(
            "async_to_sync was called in a request running on the event loop's thread; such a request must run on "
            "a thread (common/asgi_handler.py)"
        )


_LOOP_SET_ASIDE = _LoopSetAside()


def _loop_set_aside(function: Callable, *args):
    """`function(*args)` on the event loop's thread, with no loop running there for the while: sync Django code,
    which refuses to run where a loop is running (the loop is blocked until it returns, as it knows). Async code
    called from it fails (`AsyncCallOnTheLoop`) rather than start another loop in another thread."""
    loop = asyncio._get_running_loop()
    here = SyncToAsync.threadlocal
    before = here.__dict__.copy()
    here.main_event_loop, here.main_event_loop_pid = _LOOP_SET_ASIDE, os.getpid()
    asyncio._set_running_loop(None)
    try:
        return function(*args)
    finally:
        asyncio._set_running_loop(loop)
        here.__dict__.clear()
        here.__dict__.update(before)


class OneTripASGIHandler(ASGIHandler):
    def __init__(self, *, inline_seconds: float | None = None) -> None:
        """`inline_seconds`: how long each of a kind's latest answers may have taken for a read of that kind to run
        on the loop's thread (default: the interpreter's switch interval; 0: never)."""
        base.BaseHandler.__init__(self)
        self.load_middleware(is_async=False)  # the sync stack, resolving and calling the view inside it
        self._threads = _Threads()
        # Requests whose answer is not sent yet, on threads or on the loop's thread (there: until it is closed too).
        self._unanswered = 0
        self._kinds = _Kinds(sys.getswitchinterval() if inline_seconds is None else inline_seconds)

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        set_script_prefix(get_script_prefix(scope))
        kind = self._kinds.kind(scope)
        inline = scope["method"] in _SAFE_METHODS and not self._unanswered and self._kinds.quick(kind)
        self._unanswered += 1
        unsent = True

        def sent() -> None:
            nonlocal unsent
            if unsent:
                unsent = False
                self._unanswered -= 1

        try:
            if inline:
                await self._answer_inline(scope, body_file, send, kind)
            else:
                await self._answer_on_a_thread(scope, body_file, send, kind, sent)
        finally:
            sent()

    async def _answer_inline(self, scope, body_file, send, kind: str) -> None:
        """The request on the loop's thread: answered, sent, then closed (its work left for after the answer)."""
        response, held, closed = None, 0.0, False  # held: how long the loop was, making the answer then closing it
        try:
            began = time.perf_counter()
            try:
                response = _loop_set_aside(self._answer, scope, body_file)
            finally:
                held = time.perf_counter() - began
            try:
                await self.send_response(response, send)
            finally:
                began = time.perf_counter()
                try:
                    _loop_set_aside(response.close)
                    closed = True
                finally:
                    held += time.perf_counter() - began
        finally:
            body_file.close()
            self._kinds.record(kind, held, response if closed else None, on_the_loop=True)

    async def _answer_on_a_thread(self, scope, body_file, send, kind: str, sent: Callable[[], None]) -> None:
        executor = self._threads.take()
        loop = asyncio.get_running_loop()
        made: asyncio.Future = loop.create_future()

        def answered(response) -> None:  # on the request's thread: the answer (None if none was made) to the loop
            loop.call_soon_threadsafe(_settle, made, response)

        took = []  # how long the request held its thread (recorded here, on the loop's thread, once it is done)

        def respond():
            began = time.perf_counter()
            try:
                return self._respond(scope, body_file, answered)
            except BaseException:
                answered(None)  # the loop never waits on an answer no one will hand over (no-op if handed over)
                raise
            finally:
                took.append(time.perf_counter() - began)

        work = asyncio.ensure_future(sync_to_async(respond, thread_sensitive=False, executor=executor)())
        given_back = False
        interrupted = True  # until the answer is sent: cancelled (the client went away) or the send failed
        try:
            response = await made
            if response is not None:
                await self.send_response(response, send)
                sent()  # what is left (the close, work left for after the answer) holds no one up
                if not response.streaming:
                    # Sent: the thread is only closing it. The next request takes this thread and waits
                    # for that short close, rather than waking another thread, whose own database
                    # connection (SQLite's page cache) would have to read again what this one wrote.
                    self._threads.give_back(executor)
                    given_back = True
            interrupted = False
        finally:
            # Whatever happened to the send (the client went away and the server cancelled it, however many times
            # it does so meanwhile), the thread finishes first, and a streamed answer, sent or not, is then closed
            # on it; the request stays unanswered and its thread busy until both are done. Neither wait is ever
            # cancelled itself (`_wait_out`): a cancellation cannot leave the thread running or the answer open.
            cancelled = await _wait_out(work)
            done = work.result() if not work.cancelled() and work.exception() is None else None
            close_error = None
            if done is not None and done.streaming:
                closing = asyncio.ensure_future(sync_to_async(done.close, thread_sensitive=False, executor=executor)())
                cancelled = await _wait_out(closing) or cancelled
                close_error = closing.exception()
                if close_error is not None and (interrupted or cancelled is not None):
                    # The cancellation (or the send's error) is what reaches the server: the close's is logged.
                    logger.error("Closing the answer of a cancelled request failed", exc_info=close_error)
            body_file.close()
            if not given_back:
                self._threads.give_back(executor)
            self._kinds.record(kind, took[0] if took else 0.0, done, on_the_loop=False)
            if cancelled is not None:
                raise cancelled
        work.result()  # raises what the request raised
        if close_error is not None:
            raise close_error

    def _respond(self, scope, body_file, answered: Callable[[object], None] | None = None):
        """The whole request on this thread: the answer, made and rendered, then closed unless it is streamed.

        `answered(response)` hands the answer to the loop: as soon as it is rendered when work was left for after
        it, so that it is sent while this thread does that work and closes it; else once it is closed (the caller
        hands over None if this raises before)."""
        response = self._answer(scope, body_file)
        # With work left for after the answer (a cache fill), the answer leaves first and is closed while it is
        # sent. Without, it is closed first (request_finished: this thread's database connection released) and
        # handed over as this call returns: the loop is woken once, for both, rather than twice.
        if answered is not None and (response.streaming or after_answer.pending()):
            answered(response)
            answered = None  # handed over
        try:
            if not response.streaming:
                response.close()
        finally:  # a close that raised (a request_finished receiver) still hands the rendered answer over
            if answered is not None:
                answered(response)
        return response

    def _answer(self, scope, body_file):
        """The request's answer, made and rendered (not closed): `request_started`, the middleware, the view."""
        signals.request_started.send(sender=self.__class__, scope=scope)
        request, response = self.create_request(scope, body_file)
        if request is not None:
            response = self.get_response(request)  # exceptions are answered inside (500 problem)
            if answer_cost.is_bounded(request):
                response.answer_is_bounded = True
        response._handler_class = self.__class__
        if isinstance(response, FileResponse):
            response.block_size = self.chunk_size
        if not response.streaming:
            response.content  # noqa: B018  (rendered here, before it is sent)
        return response


async def _wait_out(future: asyncio.Future) -> asyncio.CancelledError | None:
    """Waits until `future` is done however many times this task is cancelled meanwhile; the last cancellation is
    returned, for the caller to raise once it has finished."""
    cancelled = None
    while not future.done():
        try:
            await asyncio.wait([future])
        except asyncio.CancelledError as error:
            cancelled = error
    return cancelled


def _settle(future: asyncio.Future, response) -> None:
    if not future.done():
        future.set_result(response)
