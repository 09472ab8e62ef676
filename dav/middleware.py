"""CalDAV answers its refusals as DAV error bodies, including the ones given before a DAV view runs."""

from __future__ import annotations

import json
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from .answers import DAV_HEADER, DavError
from .calendars import ROOT
from .xml import CALDAV, tag

_PROBLEM = "application/problem+json"


class DavRefusalMiddleware:
    """A refusal of a request under /dav/ made by the middleware it sits outside of (the body size limit's 413,
    its 400 for a bad Content-Length, the 429 of the rate limits it counts against), rewritten from problem+json
    to RFC 4918 §16's `DAV:error`: calendar apps read that, not JSON. The status, the message and the headers
    (Retry-After, RateLimit-*) stay. A PUT over the limit fails CalDAV's `max-resource-size` precondition
    (RFC 4791 §5.3.2.1), the size every calendar advertises in its `max-resource-size` property."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not request.path.startswith(ROOT) or not response.get("Content-Type", "").startswith(_PROBLEM):
            return response
        try:
            message = json.loads(response.content).get("detail") or "The request was refused."
        except (ValueError, AttributeError):
            message = "The request was refused."
        too_large = response.status_code == 413 and request.method == "PUT"
        condition = tag(CALDAV, "max-resource-size") if too_large else None
        kept = {
            name: value
            for name, value in response.items()
            if name.lower() not in ("content-type", "content-length", "allow", "vary", "content-language")
        }
        answer = DavError(response.status_code, str(message), condition, headers=kept).response()
        answer["DAV"] = DAV_HEADER
        return answer
