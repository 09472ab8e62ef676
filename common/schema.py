"""OpenAPI: the problem-details schema, error responses on every operation, the bearer scheme."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers

from .exceptions import PROBLEM_CONTENT_TYPE

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
}


class ProblemSerializer(serializers.Serializer):
    """RFC 9457 problem details."""

    type = serializers.CharField(help_text="A relative URI naming the kind of problem, e.g. /problems/not-found.")
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="Validation errors by field.",
    )
    conflicts = serializers.ListField(child=serializers.DictField(), required=False)
    current_version = serializers.IntegerField(required=False)


PAGE_PARAMETERS = [
    OpenApiParameter("page", OpenApiTypes.INT, description="Page number, from 1 (404 past the last page)."),
    OpenApiParameter("page_size", OpenApiTypes.INT, description="Items per page: default 20, at most 100."),
]


def problem_responses(*codes: int) -> dict:
    """`responses=` entries for the given statuses, as application/problem+json."""
    return {(code, PROBLEM_CONTENT_TYPE): ProblemSerializer for code in codes}


class AutoSchema(SpectacularAutoSchema):
    """Adds the error answers every operation can give, so no endpoint documents only its happy path."""

    def _get_response_bodies(self, direction: str = "response") -> dict:
        responses = super()._get_response_bodies(direction)
        codes = [406, 429]
        if self.get_auth():
            codes.append(401)
        if self.method in {"POST", "PUT", "PATCH"}:
            codes += [400, 413, 415]
        if "{" in self.path:
            codes.append(404)
        for code in codes:
            if str(code) not in responses:
                responses[str(code)] = self._get_response_for_code(
                    ProblemSerializer, str(code), media_types=[PROBLEM_CONTENT_TYPE], direction=direction
                )
        for code, response in responses.items():
            if code.isdigit() and int(code) in _DESCRIPTIONS and int(code) >= 400:
                response["description"] = _DESCRIPTIONS[int(code)]
        return responses


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
