"""Request id, body size limit, RateLimit headers, and Django's messages made only when used."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

from django.conf import settings
from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.messages.storage import default_storage
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from django.utils.functional import SimpleLazyObject, empty
from rest_framework.throttling import BaseThrottle

from . import request_context
from .refusals import Refusal
from .views import RefusedBodyView

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class RequestIdMiddleware:
    """Takes a sane `X-Request-ID` from the client (or a proxy) or makes one, and echoes it back."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        request.request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        response = self.get_response(request)
        response["X-Request-ID"] = request.request_id
        return response


class BodySizeLimitMiddleware:
    """413 for bodies over DATA_UPLOAD_MAX_MEMORY_SIZE, before any parser sees them.

    DRF parsers read the raw stream and so bypass Django's own limit; checking here covers
    every endpoint, chunked bodies (no Content-Length) included.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        # The documented exceptions (settings.LARGE_BODY_PATHS): e.g. a calendar import of up to 10 MB.
        larger = next((size for path, size in settings.LARGE_BODY_PATHS.items() if re.match(path, request.path)), None)
        if request.method in {"POST", "PUT", "PATCH", "DELETE"} and limit is not None:
            try:
                declared = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                return _refuse(request, Refusal(400, "bad-request", "Bad request.", "Content-Length is not a number."))
            if larger is not None:
                limit = larger
                if declared <= limit:
                    # Read it here: Django's request.body would refuse anything above its global limit.
                    request._body = request.read(limit + 1)
            try:
                if declared > limit or len(request.body) > limit:
                    raise RequestDataTooBig
            except RequestDataTooBig:
                return _refuse(
                    request,
                    Refusal(
                        413,
                        "payload-too-large",
                        "Request body too large.",
                        f"The body is larger than the limit of {limit} bytes.",
                        {"max_bytes": limit},
                    ),
                )
        return self.get_response(request)


def _refuse(request: HttpRequest, refusal: Refusal) -> HttpResponse:
    """`refusal` after the throttles (a 429 instead once they are spent), in the format of the request's path
    (common/refusals.py), with the RateLimit headers: answered here, the request never reaches the views nor
    RateLimitHeadersMiddleware."""
    response = RefusedBodyView.as_view()(request, refusal=refusal)
    if callable(getattr(response, "render", None)):
        response = response.render()  # a DRF answer (the 429) that no view handler will render now
    return add_ratelimit_headers(request, response)


class RateLimitHeadersMiddleware:
    """Adds RateLimit-Limit/-Remaining/-Reset from the most restrictive throttle that applied."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return add_ratelimit_headers(request, self.get_response(request))


def add_ratelimit_headers(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    state = getattr(request, "ratelimit", None)
    if state is not None:
        limit, remaining, reset = state
        response["RateLimit-Limit"] = str(limit)
        response["RateLimit-Remaining"] = str(remaining)
        response["RateLimit-Reset"] = str(reset)
    return response


class RequestContextMiddleware:
    """Publishes the client's IP, user agent and the request id to `common.request_context` (for the audit).

    The IP is found like the throttles find it: X-Forwarded-For is believed only behind NUM_PROXIES proxies.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = request_context.set_current(
            request_context.RequestContext(
                ip=request_context.valid_ip(BaseThrottle().get_ident(request)),
                user_agent=request.headers.get("User-Agent", "")[: request_context.USER_AGENT_MAX],
                request_id=getattr(request, "request_id", ""),
            )
        )
        try:
            return self.get_response(request)
        finally:
            request_context.reset(token)


class LazyMessageMiddleware(MessageMiddleware):
    """Django's messages (the admin's "saved" notes), with their storage made only by a request that uses it.

    Django's middleware builds the storage (a cookie store and a session store) for every request and
    asks it to save itself after; the API never uses it, and that was 2% of an authenticated no-op.
    """

    def process_request(self, request: HttpRequest) -> None:
        request._messages = SimpleLazyObject(lambda: default_storage(request))

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        messages = getattr(request, "_messages", None)
        if isinstance(messages, SimpleLazyObject) and messages._wrapped is empty:
            return response  # never read nor written: nothing to store
        return super().process_response(request, response)
