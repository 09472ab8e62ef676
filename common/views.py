"""Django-level error views (outside DRF) answering with problem details, and the shared API view base."""

import logging

from django.http import HttpRequest, HttpResponse
from rest_framework import exceptions

from .exceptions import problem_response

logger = logging.getLogger(__name__)


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return problem_response(404, "not-found", "Not found.", "No such resource.")


def server_error(request: HttpRequest) -> HttpResponse:
    return problem_response(500, "server-error", "Internal server error.", "Something went wrong on our side.")


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return problem_response(400, "bad-request", "Bad request.", "The request could not be understood.")


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return problem_response(403, "forbidden", "Not allowed.", "You may not do this.")


class ThrottleRefusalsMixin:
    """Count refused requests (401/403 before the view runs) against the rate limits too.

    DRF checks throttles after authentication and permissions, so a flood of requests with bad
    tokens would never be throttled and those answers would carry no RateLimit headers.
    """

    def initial(self, request, *args, **kwargs):
        try:
            super().initial(request, *args, **kwargs)
        except (exceptions.NotAuthenticated, exceptions.AuthenticationFailed, exceptions.PermissionDenied):
            self.check_throttles(request)
            raise
