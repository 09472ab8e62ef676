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
been sent, on the thread that made it.
Code in the request that calls async code (`async_to_sync`, e.g. the channel layer) runs it on the
server's event loop, as before.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import sync_to_async
from django.core import signals
from django.core.exceptions import RequestAborted
from django.core.handlers import base
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.http import FileResponse
from django.urls import set_script_prefix

from . import after_answer


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


class OneTripASGIHandler(ASGIHandler):
    def __init__(self) -> None:
        base.BaseHandler.__init__(self)
        self.load_middleware(is_async=False)  # the sync stack, resolving and calling the view inside it
        self._threads = _Threads()

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        set_script_prefix(get_script_prefix(scope))
        executor = self._threads.take()
        loop = asyncio.get_running_loop()
        made: asyncio.Future = loop.create_future()

        def answered(response) -> None:  # on the request's thread: the answer (None if none was made) to the loop
            loop.call_soon_threadsafe(_settle, made, response)

        work = asyncio.ensure_future(
            sync_to_async(self._respond, thread_sensitive=False, executor=executor)(scope, body_file, answered)
        )
        given_back = False
        try:
            response = await made
            try:
                if response is not None:
                    await self.send_response(response, send)
                    if not response.streaming:
                        # Sent: the thread is only closing it. The next request takes this thread and waits
                        # for that short close, rather than waking another thread, whose own database
                        # connection (SQLite's page cache) would have to read again what this one wrote.
                        self._threads.give_back(executor)
                        given_back = True
            finally:
                response = await work  # closed by now unless streamed; raises what the request raised
                if response.streaming:
                    await sync_to_async(response.close, thread_sensitive=False, executor=executor)()
        finally:
            if not work.done():  # the client went away (the send was cancelled): the thread finishes first
                await asyncio.wait([work])
            body_file.close()
            if not given_back:
                self._threads.give_back(executor)

    def _respond(self, scope, body_file, answered: Callable[[object], None] | None = None):
        """The whole request on this thread: the answer, made and rendered, then closed unless it is streamed.

        `answered(response)` hands the answer to the loop (None if the request raised before any): as soon as it
        is rendered when work was left for after it, so that it is sent while this thread does that work and
        closes it; else once it is closed."""
        try:
            signals.request_started.send(sender=self.__class__, scope=scope)
            request, response = self.create_request(scope, body_file)
            if request is not None:
                response = self.get_response(request)  # exceptions are answered inside (500 problem)
            response._handler_class = self.__class__
            if isinstance(response, FileResponse):
                response.block_size = self.chunk_size
            if not response.streaming:
                response.content  # noqa: B018  (rendered here, on this thread, before it is sent)
        except BaseException:
            if answered is not None:
                answered(None)
            raise
        # With work left for after the answer (a cache fill), the answer leaves first and is closed while it is
        # sent. Without, it is closed first (request_finished: this thread's database connection released) and
        # handed over as this call returns: the loop is woken once, for both, rather than twice.
        if answered is not None and (response.streaming or after_answer.pending()):
            answered(response)
            answered = None  # handed over
        if not response.streaming:
            response.close()
        if answered is not None:
            answered(response)
        return response


def _settle(future: asyncio.Future, response) -> None:
    if not future.done():
        future.set_result(response)
