"""How a refusal is answered: as RFC 9457 problem details, unless the part of the site it refuses has its own format.

Some refusals are made before any view of the path runs: the body limit's 413 and its 400 for a bad
Content-Length, the 429 of the rate limits they count against (common/middleware.py), Django's error
handlers (common/views.py). Whoever refuses keeps what the refusal says as data (a `Refusal`) and has it
rendered once, by the renderer registered for the request's path: an app whose clients read another format
registers one for its prefix when it is ready (CalDAV's `DAV:error` bodies under /dav/). Where none is
registered, the refusal is problem+json.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.http import HttpRequest, HttpResponse
from rest_framework.utils.encoders import JSONEncoder

PROBLEM_CONTENT_TYPE = "application/problem+json"


def problem_type(slug: str) -> str:
    return f"/problems/{slug}"


@dataclass(frozen=True)
class Refusal:
    """What a refusal says, whatever format it is answered in."""

    status: int
    slug: str  # the problem's type is /problems/<slug>
    title: str  # the same for every refusal of its type
    detail: str  # this occurrence
    extra: dict[str, Any] = field(default_factory=dict)  # the problem's other members (max_bytes, errors, ...)
    headers: dict[str, str] = field(default_factory=dict)  # kept in every format (Retry-After, WWW-Authenticate)

    @property
    def type(self) -> str:
        return problem_type(self.slug)

    def problem(self) -> dict[str, Any]:
        """The problem details object."""
        return {"type": self.type, "title": self.title, "status": self.status, "detail": self.detail, **self.extra}


# Takes the request (Django's, or DRF's around it; None when there is none) and the refusal.
Render = Callable[[Any, Refusal], HttpResponse]

_renderers: dict[str, Render] = {}


def register(prefix: str, render: Render) -> None:
    """Refusals of requests whose path starts with `prefix` are answered by `render` (from an AppConfig.ready())."""
    _renderers[prefix] = render


def renderer_for(path: str) -> Render | None:
    """The renderer registered for the longest prefix of `path`; None where refusals are problem+json."""
    prefix = max((prefix for prefix in _renderers if path.startswith(prefix)), key=len, default=None)
    return None if prefix is None else _renderers[prefix]


def refusal_response(request: HttpRequest | None, refusal: Refusal) -> HttpResponse:
    """`refusal` in the format of the request's path."""
    render = renderer_for(request.path) if request is not None else None
    return (render or as_problem)(request, refusal)


def as_problem(request: HttpRequest | None, refusal: Refusal) -> HttpResponse:
    """The default: application/problem+json."""
    response = HttpResponse(
        json.dumps(refusal.problem(), cls=JSONEncoder, ensure_ascii=False),
        status=refusal.status,
        content_type=PROBLEM_CONTENT_TYPE,
    )
    for name, value in refusal.headers.items():
        response[name] = value
    return response


def problem_response(status_code: int, slug: str, title: str, detail: str, **extra: Any) -> HttpResponse:
    """A problem+json answer, whatever the path (for answers only the API gives)."""
    return as_problem(None, Refusal(status_code, slug, title, detail, extra))
