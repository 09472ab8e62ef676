"""What every endpoint that writes or answers with one event shares: its request options (change
reason, conflict strategy, stale-write resolution, If-Match) and its answer (with an ETag).

Used by the event, occurrence, history and transaction views, so the options mean the same everywhere.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from common.conditional import etag, expected_version, matches_none

from .merge import ON_CONFLICT
from .serializers import CONFLICT_STRATEGIES, REASON_MAX, EventDetailSerializer

ID_PARAMETER = OpenApiParameter("id", OpenApiTypes.STR, OpenApiParameter.PATH, description="The event's id.")
WRITE_PARAMETERS = [
    OpenApiParameter(
        "conflict_strategy", OpenApiTypes.STR, enum=CONFLICT_STRATEGIES, description="reject (default), warn or allow."
    ),
    OpenApiParameter("X-Change-Reason", OpenApiTypes.STR, OpenApiParameter.HEADER, description="Why (≤500 chars)."),
]
IF_MATCH = OpenApiParameter(
    "If-Match", OpenApiTypes.STR, OpenApiParameter.HEADER, description="An ETag; 412 if the event has changed since."
)
ON_CONFLICT_PARAMETER = OpenApiParameter(
    "on_conflict",
    OpenApiTypes.STR,
    enum=ON_CONFLICT,
    description=(
        "What a stale If-Match/base_version does: reject (default) → 412; merge → a three-way merge with the "
        "base version: 200 with merged=true when the changed fields do not overlap, else 409 "
        "/problems/merge-conflict with conflicts {field: {base, current, yours}} (the schedule fields merge as "
        "one unit); overwrite → last writer wins. Merged and overwriting versions are marked in their history "
        "row's change reason ([merge base=vN], [overwrite base=vN])."
    ),
)
IF_NONE_MATCH = OpenApiParameter(
    "If-None-Match", OpenApiTypes.STR, OpenApiParameter.HEADER, description="An ETag; 304 if it is still current."
)


def change_reason(request, validated: dict) -> str | None:
    reason = validated.get("change_reason") or request.headers.get("X-Change-Reason", "")
    if len(reason) > REASON_MAX:
        raise ValidationError({"change_reason": [f"Ensure this field has no more than {REASON_MAX} characters."]})
    return reason or None


def conflict_strategy(request, validated: dict) -> str:
    value = request.query_params.get("conflict_strategy") or validated.get("conflict_strategy") or "reject"
    if value not in CONFLICT_STRATEGIES:
        raise ValidationError({"conflict_strategy": [f"Must be one of {', '.join(CONFLICT_STRATEGIES)}."]})
    return value


def on_conflict(request, validated: dict) -> str:
    value = request.query_params.get("on_conflict") or validated.get("on_conflict") or "reject"
    if value not in ON_CONFLICT:
        raise ValidationError({"on_conflict": [f"Must be one of {', '.join(ON_CONFLICT)}."]})
    return value


def expected_version_of(request, validated: dict) -> int | None:
    header = expected_version(request.headers.get("If-Match"))
    return header if header is not None else validated.get("base_version")


def event_response(event, *, status_code: int = 200, conflicts: list | None = None, serializer=EventDetailSerializer):
    if conflicts is not None:
        event.conflicts = conflicts
    data = serializer(event).data
    return Response(data, status=status_code, headers={"ETag": etag(event.version, data)})


def not_modified_or(request, response):
    """304 (with the ETag, no body) when If-None-Match names the answer's ETag, else the answer itself."""
    if response.has_header("ETag") and matches_none(request.headers.get("If-None-Match"), response["ETag"]):
        return Response(status=status.HTTP_304_NOT_MODIFIED, headers={"ETag": response["ETag"]})
    return response
