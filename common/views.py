"""Django-level error views (outside DRF) answering with problem details, and the shared API view base."""

import contextlib

from django.http import HttpRequest, HttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions
from rest_framework.permissions import AllowAny
from rest_framework.views import APIView

from .exceptions import problem_response


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return problem_response(404, "not-found", "Not found.", "No such resource.")


def server_error(request: HttpRequest) -> HttpResponse:
    return problem_response(500, "server-error", "Internal server error.", "Something went wrong on our side.")


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return problem_response(400, "bad-request", "Bad request.", "The request could not be understood.")


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return problem_response(403, "forbidden", "Not allowed.", "You may not do this.")


# Counts refused requests (401/403 before the view runs) against the rate limits too: DRF checks
# throttles after authentication and permissions, so a flood of requests with bad tokens would never
# be throttled and those answers would carry no RateLimit headers.
# (A comment, not a docstring: drf-spectacular would publish a docstring as every operation's description.)
class ThrottleRefusalsMixin:
    def initial(self, request, *args, **kwargs):
        try:
            super().initial(request, *args, **kwargs)
        except (exceptions.NotAuthenticated, exceptions.AuthenticationFailed, exceptions.PermissionDenied):
            self.check_throttles(request)
            raise


@extend_schema(exclude=True)
class ApiNotFoundView(APIView):
    """The last URL pattern under /api/: any method on an unknown path is a 404 problem.

    A DRF view rather than Django's handler404, so the request goes through the throttles like any
    other and the answer carries the RateLimit headers. A bad token does not turn it into a 401:
    there is nothing here to authenticate for.
    """

    permission_classes = [AllowAny]

    def perform_authentication(self, request):
        # Authenticates (the user throttle counts callers by user); on a bad token DRF falls back to anonymous.
        with contextlib.suppress(exceptions.AuthenticationFailed):
            request.user  # noqa: B018

    def http_method_not_allowed(self, request, *args, **kwargs):
        raise exceptions.NotFound("No such resource.")

    options = http_method_not_allowed
