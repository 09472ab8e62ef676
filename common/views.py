"""Django-level error views (outside DRF) answering in the format of the request's path (common/refusals.py:
problem details, or a DAV:error body under /dav/), and the shared API view base."""

import contextlib
import sys

from django.http import HttpRequest, HttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions
from rest_framework.permissions import AllowAny
from rest_framework.views import APIView

from .answer_cost import BoundedAnswers
from .declared_input import refuse_undeclared
from .exceptions import is_unavailable, unavailable_response
from .refusals import Refusal, refusal_response, renderer_for


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return refusal_response(request, Refusal(404, "not-found", "Not found.", "No such resource."))


def server_error(request: HttpRequest) -> HttpResponse:
    # Django calls this while handling the exception: a database that cannot be reached (raised by a
    # middleware, outside DRF's handler) is a 503 to retry, not a bug.
    if is_unavailable(sys.exc_info()[1]):
        return unavailable_response(sys.exc_info()[1], request)
    return refusal_response(
        request, Refusal(500, "server-error", "Internal server error.", "Something went wrong on our side.")
    )


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return refusal_response(
        request, Refusal(400, "bad-request", "Bad request.", "The request could not be understood.")
    )


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return refusal_response(request, Refusal(403, "forbidden", "Not allowed.", "You may not do this."))


# Counts refused requests (406, 401, 403 before the view runs) against the rate limits too: DRF checks
# throttles after content negotiation, authentication and permissions, so a flood of requests with bad
# tokens or an Accept nothing matches would never be throttled and those answers would carry no
# RateLimit headers. A 406 comes before authentication: the caller is authenticated here to be counted
# as who they are (a bad token counts as anonymous; the answer stays the 406). Once the caller is in, a
# query parameter or body member the operation does not declare is refused (common/declared_input.py).
# (A comment, not a docstring: drf-spectacular would publish a docstring as every operation's description.)
class ThrottleRefusalsMixin:
    def initial(self, request, *args, **kwargs):
        try:
            super().initial(request, *args, **kwargs)
        except (
            exceptions.NotAcceptable,
            exceptions.NotAuthenticated,
            exceptions.AuthenticationFailed,
            exceptions.PermissionDenied,
        ):
            with contextlib.suppress(exceptions.AuthenticationFailed):
                request.user  # noqa: B018
            self.check_throttles(request)
            raise
        refuse_undeclared(request, self)


@extend_schema(exclude=True)
class ApiNotFoundView(BoundedAnswers, APIView):
    """The last URL pattern under /api/: any method on an unknown path is a 404 problem.

    A DRF view rather than Django's handler404, so the request goes through the throttles like any
    other and the answer carries the RateLimit headers. A bad token does not turn it into a 401:
    there is nothing here to authenticate for.
    """

    permission_classes = [AllowAny]

    def perform_content_negotiation(self, request, force=False):
        # There is nothing here to negotiate: the 404 is problem+json whatever the Accept header or
        # ?format= say, never a 406 (which came before the throttles, so without RateLimit headers).
        return super().perform_content_negotiation(request, force=True)

    def perform_authentication(self, request):
        # Authenticates (the user throttle counts callers by user); on a bad token DRF falls back to anonymous.
        with contextlib.suppress(exceptions.AuthenticationFailed):
            request.user  # noqa: B018

    def http_method_not_allowed(self, request, *args, **kwargs):
        raise exceptions.NotFound("No such resource.")

    options = http_method_not_allowed


@extend_schema(exclude=True)
class RefusedBodyView(ApiNotFoundView):
    """What BodySizeLimitMiddleware answers (413, or 400 for a bad Content-Length), passed as `refusal`:
    given after the throttles like an unknown path's 404, so the refusal counts against the rate
    limits (a 429 once they are spent) and the middleware can add the RateLimit headers. Nothing
    here reads the body; like the 404, the refusal is problem+json whatever the Accept header says."""

    # The refusal, and the 429 in its place, are rendered in the format of the request's path
    # (common/refusals.py): problem+json under /api/, a DAV:error body under /dav/. (A comment: the
    # browsable API shows the docstring on a browser's 429 page.)

    @property
    def default_response_headers(self):
        headers = {key: value for key, value in super().default_response_headers.items() if key != "Allow"}
        if renderer_for(self.request.path) is not None:
            headers.pop("Vary", None)  # a format of the path's own: the Accept header had no say in it
        return headers

    def http_method_not_allowed(self, request, *args, refusal: Refusal, **kwargs):
        return refusal_response(request, refusal)

    post = put = patch = delete = options = http_method_not_allowed
