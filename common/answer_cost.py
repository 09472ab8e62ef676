"""Which answers cost about the same whatever the data behind them and whatever the request asks: a row, a
page of at most 100 rows near the front of a list (a deep page is read past every row before it), a cache hit,
a refusal. A view says so of its request (`bounded(request)`, or
`BoundedAnswers` for a view all of whose reads are), before it does the work.

Only such reads may be answered on the event loop's own thread (common/asgi_handler.py), where a slow one
would hold every connection of the worker, WebSockets included. Never say it of a read whose cost grows with a
calendar, a window of occurrences, a history, a filter over every event, or a text to diff: those always run
on a thread of their own. Saying nothing is always safe; it only costs such a read the trip to a thread.
"""

from __future__ import annotations


def bounded(request) -> None:
    """Say that this request's answer is bounded (a DRF request or the Django request it wraps)."""
    getattr(request, "_request", request).answer_is_bounded = True


def is_bounded(request) -> bool:
    """Whether the view said this (Django) request's answer is bounded."""
    return getattr(request, "answer_is_bounded", False)


class BoundedAnswers:
    """A DRF view every read of which is bounded. Said before authentication, so its refusals are too."""

    def initial(self, request, *args, **kwargs):
        bounded(request)
        super().initial(request, *args, **kwargs)
