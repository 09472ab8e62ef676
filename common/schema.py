"""OpenAPI: the problem-details schema, error responses on every operation, the bearer scheme."""

from __future__ import annotations

from contextlib import contextmanager

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema_field
from rest_framework import serializers

from .idempotency import HEADER, KEY_MAX, KEY_PATTERN, TOKEN_PATHS
from .pagination import MAX_PAGE_SIZE, PAGE_SIZE_DESCRIPTION
from .refusals import PROBLEM_CONTENT_TYPE

_DESCRIPTIONS = {
    400: "Invalid input: `errors` maps each field to its messages.",
    401: "Missing, invalid, expired or revoked token (with `WWW-Authenticate`).",
    403: "Your role on this resource does not allow this.",
    404: "Not found, or not visible to you (the same answer either way).",
    406: "None of the media types in Accept can be produced.",
    409: "Conflicts with the current state (see `type` and the extension members).",
    410: "Gone.",
    412: "The resource changed since the version you sent (`current_version`).",
    413: "The request body is larger than 1 MB.",
    415: "Unsupported Content-Type.",
    422: "Unprocessable request.",
    429: "Rate limit exceeded; see `Retry-After`.",
    503: (
        "The database cannot be reached right now, or did not answer within its time limit. Retry after "
        "`Retry-After` seconds; a write retried with the same `Idempotency-Key` is applied at most once."
    ),
}

# Response headers (common/middleware.py, common/exceptions.py, common/idempotency.py, events/request_options.py).
# Only the ETag is declared required: the others are absent from some answers (a 406 is given before
# the throttles run, a 429 of a spent throttle may have no wait to tell).
_SECONDS = {"type": "integer", "minimum": 0}
RATELIMIT_HEADERS = {
    "RateLimit-Limit": {"schema": _SECONDS, "description": "Requests allowed in the current window."},
    "RateLimit-Remaining": {"schema": _SECONDS, "description": "Requests left in the current window."},
    "RateLimit-Reset": {"schema": _SECONDS, "description": "Seconds until the window starts over."},
}
RETRY_AFTER_HEADER = {"schema": {"type": "integer", "minimum": 1}, "description": "Seconds to wait before retrying."}
_ETAG = {
    "schema": {"type": "string", "pattern": r'^(W/)?"[0-9]+-[0-9a-f]*"$'},
    "required": True,
    "description": "The event's version and a digest of this representation: `If-Match` on writes, "
    "`If-None-Match` on reads.",
}
_REPLAYED = {
    "schema": {"type": "string", "enum": ["true"]},
    "description": "This is the stored answer of an earlier request with the same Idempotency-Key.",
}
# Answers about one event (its ETag names its version): the components of their bodies.
_ETAG_BODIES = {
    "EventDetail",
    "EventWriteResult",
    "EventUpdateResult",
    "OccurrenceWriteResult",
    "OccurrenceUpdateResult",
    "OccurrenceList",
}
# Answers without a body that still carry the event's new ETag (cancelling an occurrence changes the series).
_ETAG_NO_BODY = {("DELETE", "/api/events/{id}/occurrences/{original_start}/", "204")}


_BY_FIELD = {
    "type": "object",
    "additionalProperties": {"oneOf": [{"type": "array", "items": {"type": "string"}}, {"type": "object"}]},
    "description": "Validation errors by field: its messages, or for a nested input (a list item, an object) "
    "the same structure below it, keyed by field or index.",
}


@extend_schema_field(_BY_FIELD)
class ValidationErrorsField(serializers.JSONField):
    pass


@extend_schema_field(
    {
        "oneOf": [
            _BY_FIELD,
            {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"index": {"type": "integer"}, "errors": {"type": "object"}},
                    "required": ["index", "errors"],
                },
            },
        ],
        "description": "For bad items, `{index, errors}` per item; for a bad request body, by field.",
    }
)
class BatchErrorsField(serializers.JSONField):
    pass


class ProblemSerializer(serializers.Serializer):
    """RFC 9457 problem details."""

    type = serializers.CharField(help_text="A relative URI naming the kind of problem, e.g. /problems/not-found.")
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    errors = ValidationErrorsField(required=False)
    conflicts = serializers.ListField(child=serializers.DictField(), required=False)
    current_version = serializers.IntegerField(required=False)


class BatchProblemSerializer(ProblemSerializer):
    """A refused batch: nothing was created."""

    errors = BatchErrorsField(required=False)


PAGE_PARAMETERS = [
    OpenApiParameter("page", OpenApiTypes.INT, description="Page number, from 1 (404 past the last page)."),
    OpenApiParameter(
        "page_size",
        {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE},
        description=PAGE_SIZE_DESCRIPTION,
    ),
]


def problem_responses(*codes: int) -> dict:
    """`responses=` entries for the given statuses, as application/problem+json."""
    return {(code, PROBLEM_CONTENT_TYPE): ProblemSerializer for code in codes}


# Query parameters of the HTML pages that never make a 400: `page` (404 past the end), a history `link` (404
# when it no longer works). Every /api/ operation can answer 400: an undeclared parameter (declared_input.py).
_LENIENT_QUERY = {"format", "page", "link"}


class AutoSchema(SpectacularAutoSchema):
    """Adds the error answers every operation can give, so no endpoint documents only its happy path."""

    def _query_parameters(self) -> set[str]:
        return {p["name"] for p in self._get_parameters() if p.get("in") == "query"}

    def _map_serializer(self, serializer, direction, bypass_extensions=False):
        schema = super()._map_serializer(serializer, direction, bypass_extensions)
        representation = getattr(serializer, "representation", None)
        if direction == "request" and representation is not None and "properties" in schema:
            # Members a client may send back from what it read: accepted and ignored (common/declared_input.py).
            shown = super()._map_serializer(representation, "response", bypass_extensions)["properties"]
            for name, member in shown.items():
                if name not in schema["properties"]:
                    schema["properties"][name] = {**member, "readOnly": True}
        return schema

    def _get_request_body(self, direction: str = "request"):
        """drf-spectacular documents the bodies of POST, PUT and PATCH only. A view whose DELETE takes a body names
        its serializer in `delete_body` (OpenAPI permits a DELETE body): the schema shows it as a POST's would be,
        and common/declared_input.py checks its members like any other body's."""
        serializer = getattr(self.view, "delete_body", None)
        if self.method != "DELETE" or serializer is None:
            return super()._get_request_body(direction)
        self.method = "POST"
        try:
            with _requesting(self, serializer):
                return super()._get_request_body(direction)
        finally:
            self.method = "DELETE"

    def _get_response_bodies(self, direction: str = "response") -> dict:
        responses = super()._get_response_bodies(direction)
        query = self._query_parameters()
        codes = [406, 429, 503]
        if self.get_auth():
            codes.append(401)
        if self.method in {"POST", "PUT", "PATCH"} or query - _LENIENT_QUERY or self.path.startswith("/api/"):
            codes += [400]  # the query parameters are validated too, and undeclared ones refused
        if self.method in {"POST", "PUT", "PATCH"}:
            codes += [413, 415]
        if "{" in self.path or "page" in query:
            codes.append(404)  # no such object, or a page past the last
        for code in codes:
            if str(code) not in responses:
                responses[str(code)] = self._get_response_for_code(
                    ProblemSerializer, str(code), media_types=[PROBLEM_CONTENT_TYPE], direction=direction
                )
        if _html_only(self.view):
            # The pages for people answer their errors as HTML pages (history/pages.py); what is refused before
            # the page runs (a body too large, an Idempotency-Key still running) stays a problem.
            for code, response in responses.items():
                if code.isdigit() and int(code) >= 400 and PROBLEM_CONTENT_TYPE in response.get("content", {}):
                    response["content"]["text/html"] = {"schema": {"type": "string"}}
        for code, response in responses.items():
            if code.isdigit() and int(code) in _DESCRIPTIONS and int(code) >= 400:
                response["description"] = _DESCRIPTIONS[int(code)]
            etag = (
                code == "304"
                or (self.method, self.path, code) in _ETAG_NO_BODY  # (the path as the schema has it, before any hook)
                or bool(_ETAG_BODIES & _body_components(response))
            )
            self._add_headers(code, response, etag=etag)
        return responses

    def _add_headers(self, code: str, response: dict, *, etag: bool) -> None:
        headers = response.setdefault("headers", {})
        if etag:
            headers["ETag"] = _ETAG
        headers.update(RATELIMIT_HEADERS)
        if code in {"409", "429", "503"}:  # 409: a concurrent change to retry, or a key still running
            headers["Retry-After"] = RETRY_AFTER_HEADER
        if self.method == "POST" and code.isdigit() and int(code) < 500 and self.path.rstrip("/") not in TOKEN_PATHS:
            headers["Idempotent-Replayed"] = _REPLAYED


@contextmanager
def _requesting(schema: AutoSchema, serializer):
    """`schema` taking `serializer` as its operation's request, for the duration."""
    schema.get_request_serializer = lambda: serializer
    try:
        yield
    finally:
        del schema.get_request_serializer


def _html_only(view) -> bool:
    renderers = getattr(view, "renderer_classes", None) or []
    return bool(renderers) and all(renderer.media_type == "text/html" for renderer in renderers)


def _body_components(response: dict) -> set[str]:
    return {
        media.get("schema", {}).get("$ref", "").rsplit("/", 1)[-1] for media in response.get("content", {}).values()
    }


class JWTScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.JWTAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "An access token from /api/auth/login or /api/auth/register (15 minutes).",
        }


def idempotency_schema_hook(result: dict, generator, request, public) -> dict:
    """drf-spectacular postprocessing: document Idempotency-Key and its 409/422 on every POST."""
    parameter = {
        "in": "header",
        "name": HEADER,
        "required": False,
        "schema": {"type": "string", "minLength": 1, "maxLength": KEY_MAX, "pattern": KEY_PATTERN.pattern},
        "description": (
            "Makes a retry safe: the same key with the same request (method, path, body) within 24 hours "
            "replays the first answer (status and body, with `Idempotent-Replayed: true`) without doing anything "
            "again; the same key with another request → 422; while the first is still running → 409. Keys are "
            "per user (per client address when anonymous)."
        ),
    }
    ignored = {
        **parameter,
        "schema": {"type": "string"},
        "description": (
            "Accepted and ignored: this answer carries live tokens, which are never stored, so every request "
            "does its work (a lost answer: log in again)."
        ),
    }
    problem = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for path, operations in result.get("paths", {}).items():
        operation = operations.get("post")
        if operation is None:
            continue
        if path.rstrip("/") in TOKEN_PATHS:
            operation.setdefault("parameters", []).append(ignored)
            continue
        operation.setdefault("parameters", []).append(parameter)
        responses = operation.setdefault("responses", {})
        if "409" in responses:
            responses["409"]["description"] += " Also: a request with this Idempotency-Key is still running."
        else:
            responses["409"] = {
                "description": "A request with this Idempotency-Key is still running.",
                "content": problem,
                "headers": {**RATELIMIT_HEADERS, "Retry-After": RETRY_AFTER_HEADER},
            }
        responses.setdefault(
            "422",
            {
                "description": "This Idempotency-Key was used for another request.",
                "content": problem,
                "headers": RATELIMIT_HEADERS,
            },
        )
    return result
