"""Domain exceptions and the one handler that turns every error into RFC 9457 problem details.

Services raise the exceptions below; viewsets never build error responses by hand. Each problem
has a `type` (a relative URI naming the kind of problem, stable for clients to switch on), a
`title` (the same for every problem of that type), the `status` and a `detail` for this
occurrence; validation problems add `errors`, others add their own members (`conflicts`,
`current_version`, ...).
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error

from .refusals import Refusal, refusal_response, renderer_for

OUT_OF_RANGE = "A date or number is out of range."

logger = logging.getLogger(__name__)

# type slug and title for the HTTP errors DRF raises.
_TYPES: dict[type[exceptions.APIException], tuple[str, str]] = {
    exceptions.ValidationError: ("validation-error", "Invalid input."),
    exceptions.ParseError: ("malformed-request", "Malformed request body."),
    exceptions.AuthenticationFailed: ("not-authenticated", "Authentication failed."),
    exceptions.NotAuthenticated: ("not-authenticated", "Authentication required."),
    exceptions.PermissionDenied: ("forbidden", "Not allowed."),
    exceptions.NotFound: ("not-found", "Not found."),
    exceptions.MethodNotAllowed: ("method-not-allowed", "Method not allowed."),
    exceptions.NotAcceptable: ("not-acceptable", "Not acceptable."),
    exceptions.UnsupportedMediaType: ("unsupported-media-type", "Unsupported media type."),
    exceptions.Throttled: ("rate-limited", "Too many requests."),
}


class DomainError(exceptions.APIException):
    """A rule of the domain was broken; `extra` members are added to the problem body."""

    status_code = status.HTTP_400_BAD_REQUEST
    slug = "bad-request"
    title = "Bad request."
    default_detail = "The request breaks a rule of the API."

    def __init__(self, detail: str | None = None, **extra: Any) -> None:
        super().__init__(detail or self.default_detail)
        self.extra = extra


class Conflict(DomainError):
    status_code = status.HTTP_409_CONFLICT
    slug = "conflict"
    title = "Conflict with the current state."
    default_detail = "The request conflicts with the current state of the resource."


class LastOwner(Conflict):
    slug = "last-owner"
    title = "An event must keep an owner."
    default_detail = "This would leave the event without an owner."


class SchedulingConflict(Conflict):
    slug = "scheduling-conflict"
    title = "Scheduling conflict."
    default_detail = "The event overlaps other events on your calendar."


class PreconditionFailed(DomainError):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    slug = "precondition-failed"
    title = "The resource has changed."
    default_detail = "The event was changed since the version you sent; fetch it again."


class Gone(DomainError):
    status_code = status.HTTP_410_GONE
    slug = "gone"
    title = "Gone."


class BatchValidationError(DomainError):
    """A batch with bad items: `errors` is a list of {index, errors}; nothing was written."""

    slug = "validation-error"
    title = "Invalid input."
    default_detail = "Some items of the batch are invalid; nothing was created."


class RetryableConflict(Conflict):
    slug = "retry"
    title = "Concurrent change; retry."
    default_detail = "Another request changed the same data at the same moment; nothing was written. Retry."
    wait = 1  # seconds: sent as Retry-After


class ServiceUnavailable(DomainError):
    """The database cannot be reached (down, restarting, out of connections): retry later. Usually nothing was written;
    a connection lost after a write committed and before its answer was read leaves the write, which only an
    Idempotency-Key makes safe to retry."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    slug = "unavailable"
    title = "Service temporarily unavailable."
    default_detail = (
        "The database cannot be reached right now. Retry later; a write retried with the same Idempotency-Key is "
        "applied at most once."
    )
    wait = 2  # seconds: sent as Retry-After


class DatabaseTimedOut(ServiceUnavailable):
    """A statement ran past the database's time limit (DB_STATEMENT_TIMEOUT) and was cancelled. Its transaction was
    rolled back; a write committed before it (the answer is read after the write) was not, which only an
    Idempotency-Key makes safe to retry."""

    default_detail = (
        "The database did not answer within its time limit. Retry later; a write retried with the same "
        "Idempotency-Key is applied at most once."
    )
    wait = 5  # seconds: a stall (a migration's lock) outlasts a lost connection's reconnect


# deadlock_detected, serialization_failure
RETRYABLE_SQLSTATES = {"40P01", "40001"}
# admin_shutdown, crash_shutdown, cannot_connect_now (starting up or shutting down), too_many_connections
UNAVAILABLE_SQLSTATES = {"57P01", "57P02", "57P03", "53300"}
# query_canceled (a statement past DB_STATEMENT_TIMEOUT, or cancelled by an operator), lock_not_available (past a
# lock_timeout). A retry may succeed (the statement waited on a lock a migration held, or on a server overloaded
# for the while); it may also be a query too slow for its data, so it is logged as an error, not a warning.
TIMED_OUT_SQLSTATES = {"57014", "55P03"}


def _sqlstate(exc: DatabaseError) -> str | None:
    return getattr(exc.__cause__, "sqlstate", None)


def _timed_out(exc: BaseException | None) -> bool:
    """A statement the database cancelled for its time limit (TIMED_OUT_SQLSTATES)."""
    return isinstance(exc, OperationalError) and _sqlstate(exc) in TIMED_OUT_SQLSTATES


def is_unavailable(exc: BaseException | None) -> bool:
    """A database error that says the server cannot be reached or did not answer in time, not that the request is
    wrong.

    The pool timing out for a connection, a refused or dropped connection, a server shutting down or
    starting up, a statement past the time limit: the request may succeed as it is once the database is back.
    """
    if isinstance(exc, InterfaceError):  # the connection was already closed
        return True
    if not isinstance(exc, OperationalError):
        return False
    state = _sqlstate(exc)
    # No SQLSTATE: the client library's own failure (pool timeout, refused or lost connection).
    return state is None or state.startswith("08") or state in UNAVAILABLE_SQLSTATES or _timed_out(exc)


def unavailable_response(exc: BaseException, request: HttpRequest | None = None) -> HttpResponse:
    """The 503 for a database that cannot be reached (logged as a warning, not a server error) or that did not answer
    in time (logged as an error), in the format of the request's path (common/refusals.py)."""
    if _timed_out(exc):
        logger.error("database statement timed out, answered 503: %s: %s", type(exc).__name__, exc)
        return refusal_response(request, refusal_of(DatabaseTimedOut()))
    logger.warning("database unavailable, answered 503: %s: %s", type(exc).__name__, exc)
    return refusal_response(request, refusal_of(ServiceUnavailable()))


def _first_message(errors: Any, path: str = "") -> str:
    """The first leaf message of a nested error structure, prefixed by its field path."""
    if isinstance(errors, dict):
        for key, value in errors.items():
            return _first_message(value, f"{path}.{key}" if path else str(key))
    if isinstance(errors, list) and errors:
        first = errors[0]
        if isinstance(first, (dict, list)):
            return _first_message(first, f"{path}[0]" if path else "[0]")
        return f"{path}: {first}" if path and path != "non_field_errors" else str(first)
    return str(errors)


def validation_errors(detail: Any) -> dict:
    """DRF's error detail as the contract's `{field: [messages]}` (non-field errors under `non_field_errors`)."""
    if isinstance(detail, dict):
        return detail
    if isinstance(detail, list):
        return {"non_field_errors": detail}
    return {"non_field_errors": [detail]}


def as_api_exception(exc: Exception) -> Exception:
    """Django's and the database's errors as the API exception they answer as; anything else unchanged."""
    if isinstance(exc, Http404):
        return exceptions.NotFound()
    if isinstance(exc, DjangoPermissionDenied):
        return exceptions.PermissionDenied()
    if isinstance(exc, DjangoValidationError):
        return exceptions.ValidationError(as_serializer_error(exc))
    if isinstance(exc, DatabaseError) and _sqlstate(exc) in RETRYABLE_SQLSTATES:
        # PostgreSQL broke a lock cycle (e.g. two transactions calls touching two events in opposite
        # orders) or a serialization conflict: nothing was written, and the same request may succeed now.
        return RetryableConflict()
    if isinstance(exc, OverflowError):
        # A backstop: inputs are bounded (common.fields), so this is an input that was missed; log it to bound it too.
        logger.warning("OverflowError answered as a 400", exc_info=exc)
        return exceptions.ValidationError({"non_field_errors": [OUT_OF_RANGE]})
    return exc


def problem_of(exc: exceptions.APIException) -> tuple[str, str, str, dict[str, Any]]:
    """(slug, title, detail, extra members) of the problem an API exception answers with."""
    extra: dict[str, Any] = {}
    if isinstance(exc, DomainError):
        return exc.slug, exc.title, str(exc.detail), dict(exc.extra)
    slug, title = next((value for cls, value in _TYPES.items() if isinstance(exc, cls)), ("error", "Error."))
    if isinstance(exc, exceptions.ValidationError):
        extra["errors"] = validation_errors(exc.detail)
        detail = _first_message(extra["errors"])
    elif isinstance(exc.detail, dict):  # simplejwt's {"detail", "code", "messages"}
        detail = str(exc.detail.get("detail", title))
    else:
        detail = str(exc.detail)
    return slug, title, detail, extra


def refusal_of(exc: exceptions.APIException) -> Refusal:
    """What an API exception refuses: its problem, and the headers that go with it in any format."""
    headers: dict[str, str] = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    elif exc.status_code == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="api"'
    if getattr(exc, "wait", None) is not None:
        headers["Retry-After"] = str(max(1, int(exc.wait)))
    slug, title, detail, extra = problem_of(exc)
    return Refusal(exc.status_code, slug, title, detail, extra, headers)


def problem_exception_handler(exc: Exception, context: dict) -> HttpResponse | None:
    """DRF's EXCEPTION_HANDLER: every API error as application/problem+json (or in the format its path
    registered, common/refusals.py: a DRF view can refuse a request under /dav/ before any DAV view runs)."""
    request = context.get("request")
    converted = as_api_exception(exc)
    if converted is exc and is_unavailable(exc):
        return unavailable_response(exc, request)
    exc = converted
    if not isinstance(exc, exceptions.APIException):
        return None  # a bug: Django's handler500 answers with a problem and logs it

    refusal = refusal_of(exc)
    if (
        getattr(getattr(request, "accepted_renderer", None), "format", None) in ("api", "html")
        and renderer_for(request.path) is None
    ):
        # A person in a browser: the problem on the browsable API's page (with its log in link) or the history
        # pages' error page, from the same body.
        return Response(refusal.problem(), status=refusal.status, headers=refusal.headers)
    return refusal_response(request, refusal)
