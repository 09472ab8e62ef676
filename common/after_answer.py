"""Work a request leaves for after its answer has been sent: filling caches that the answer did not need.

The ASGI handler sends an answer as soon as it is made and closes it afterwards, on the request's
thread (common/asgi_handler.py); Django sends `request_finished` when an answer is closed, whichever
handler serves it (ours, WSGI, the test client). Work given to `after_answer` during a request runs
then, in the order given: storing a read's answer in the cache, a feed's body, an event's rendered
iCalendar. The client does not wait for it. Outside a request (a management command, a test calling a
selector) it runs at once.

Only for work that the answer does not depend on and whose loss is harmless: a request that dies before
its answer is closed drops what it left, and a failure is logged, not raised, as the answer is gone.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextvars import ContextVar

from django.core import signals

log = logging.getLogger(__name__)

_pending: ContextVar[list[Callable[[], object]] | None] = ContextVar("after_answer", default=None)


def after_answer(action: Callable[[], object]) -> None:
    """Run `action` once this request's answer is sent (at once outside a request)."""
    actions = _pending.get()
    if actions is None:
        action()
    else:
        actions.append(action)


def pending() -> bool:
    """Whether this request has left work for after its answer (the ASGI handler then sends the answer first)."""
    return bool(_pending.get())


def _request_started(**kwargs) -> None:
    _pending.set([])


def _request_finished(**kwargs) -> None:
    actions = _pending.get()
    _pending.set(None)
    for action in actions or ():
        try:
            action()
        except Exception:
            log.exception("work left for after the answer failed")


signals.request_started.connect(_request_started, dispatch_uid="after_answer_started")
signals.request_finished.connect(_request_finished, dispatch_uid="after_answer_finished")
