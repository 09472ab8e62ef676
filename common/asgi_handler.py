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
database connection, which Django keeps per thread, stays with it (`CONN_MAX_AGE`). Only a streamed
answer (e.g. a static file) is closed after it has been sent, on the thread that made it.
Code in the request that calls async code (`async_to_sync`, e.g. the channel layer) runs it on the
server's event loop, as before.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import sync_to_async
from django.core import signals
from django.core.exceptions import RequestAborted
from django.core.handlers import base
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.http import FileResponse
from django.urls import set_script_prefix


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
        try:
            response = await sync_to_async(self._respond, thread_sensitive=False, executor=executor)(scope, body_file)
            try:
                await self.send_response(response, send)
            finally:
                if response.streaming:
                    await sync_to_async(response.close, thread_sensitive=False, executor=executor)()
        finally:
            body_file.close()
            self._threads.give_back(executor)

    def _respond(self, scope, body_file):
        """The whole request on this thread: its answer, closed already unless it is streamed."""
        signals.request_started.send(sender=self.__class__, scope=scope)
        request, response = self.create_request(scope, body_file)
        if request is not None:
            response = self.get_response(request)  # exceptions are answered inside (500 problem)
        response._handler_class = self.__class__
        if isinstance(response, FileResponse):
            response.block_size = self.chunk_size
        if not response.streaming:
            response.content  # noqa: B018  (rendered before the close below)
            response.close()  # request_finished: this thread's database connection is released here
        return response
