"""What every endpoint that writes or answers with one event shares: its request options (change
reason, conflict strategy, stale-write resolution, If-Match) and its answer (with an ETag).

Used by the event, occurrence, history and transaction views, so the options mean the same everywhere.
"""

from __future__ import annotations

from datetime import datetime

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from common.conditional import etag, expected_version, matches_none

from . import selectors, services
from . import split as series_split
from .merge import ON_CONFLICT
from .serializers import (
    CONFLICT_STRATEGIES,
    REASON_MAX,
    EventDetailSerializer,
    EventInputSerializer,
    EventWriteResultSerializer,
)

ID_PARAMETER = OpenApiParameter("id", OpenApiTypes.STR, OpenApiParameter.PATH, description="The event's id.")
WRITE_PARAMETERS = [
    OpenApiParameter(
        "conflict_strategy", OpenApiTypes.STR, enum=CONFLICT_STRATEGIES, description="reject (default), warn or allow."
    ),
    OpenApiParameter(
        "X-Change-Reason", {"type": "string", "maxLength": REASON_MAX}, OpenApiParameter.HEADER, description="Why."
    ),
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


NOT_TAKEN = "Not a parameter of this endpoint (or not with this scope)."
# Query parameters every endpoint takes: `format` picks the renderer (406 when unknown).
ANY_ENDPOINT = frozenset({"format"})


def refuse_not_taken(request, *, query: set[str], body: set[str]) -> None:
    """400 naming every query parameter or body member the endpoint does not take: a client's change must
    never be silently dropped (e.g. `scope=all` sent where only one occurrence would change)."""
    given = set(request.query_params) - ANY_ENDPOINT - query
    if isinstance(request.data, dict):
        given |= set(request.data) - body
    if given:
        raise ValidationError({name: [NOT_TAKEN] for name in sorted(given)})


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


# The members of an event's representation (what GET /api/events/{id} answers). A write's answer adds members
# about the write (`conflicts`, `merged`, the changed `occurrence`) that are not part of the event: they stay out
# of its ETag, so a client that keeps the write's ETag gets a 304 from the next GET of the same version.
REPRESENTATION = frozenset(EventDetailSerializer.Meta.fields)


def representation_etag(version: int, data: dict) -> str:
    """The ETag of the event whose answer (of a read or a write) is `data`: that of its representation."""
    return etag(version, {key: value for key, value in data.items() if key in REPRESENTATION})


def event_response(event, *, status_code: int = 200, serializer=EventDetailSerializer):
    data = serializer(event).data
    return Response(data, status=status_code, headers={"ETag": representation_etag(event.version, data)})


def written_event(request, written: services.EventWritten):
    """The event a write of the caller's made, as its answer shows it (with the write's conflicts and whether
    it was merged): the version the write made, not a later one."""
    event = selectors.event_as_written(written.event, user=request.user)
    event.conflicts = written.conflicts
    event.merged = written.merged
    return event


def written_response(request, written: services.EventWritten, *, status_code: int = 200):
    """The answer to a write: the event it made (EventWriteResultSerializer), with its ETag."""
    return event_response(
        written_event(request, written), status_code=status_code, serializer=EventWriteResultSerializer
    )


def not_modified_or(request, response):
    """304 (with the ETag, no body) when If-None-Match names the answer's ETag, else the answer itself."""
    if response.has_header("ETag") and matches_none(request.headers.get("If-None-Match"), response["ETag"]):
        return Response(status=status.HTTP_304_NOT_MODIFIED, headers={"ETag": response["ETag"]})
    return response


def update_answer(request, event, *, split_at: datetime | None) -> Response:
    """Apply the request's body to the series `event` (found, role checked): to all of it (`split_at` None or
    its first occurrence), or from the occurrence that starts at `split_at` on, as a new series (scope=following).

    One answer for `PUT/PATCH /api/events/{id}` and for `PATCH /api/events/{id}/occurrences/{original_start}`
    with `scope=all|following`, so both doors make the same change.
    """
    if split_at is not None and split_at != event.start_time:
        return _split_answer(request, event, split_at)
    data = EventInputSerializer(instance=event, data=request.data, partial=True)
    data.is_valid(raise_exception=True)
    valid = data.validated_data
    written = services.event_update(
        event=event,
        actor=request.user,
        changes=valid["changes"],
        reason=change_reason(request, valid),
        conflict_strategy=conflict_strategy(request, valid),
        expected_version=expected_version_of(request, valid),
        on_conflict=on_conflict(request, valid),
    )
    response = written_response(request, written)
    if split_at is not None:  # scope=following at the first occurrence: the whole series changed
        return Response({"updated": response.data, "created": None}, headers={"ETag": response["ETag"]})
    return response


def _split_answer(request, event, split_at: datetime) -> Response:
    """scope=following: the body applies to the new series that starts at the occurrence `split_at`."""
    plan = series_split.plan(event, split_at)
    data = EventInputSerializer(instance=plan.tail, data=request.data, partial=True)
    data.is_valid(raise_exception=True)
    valid = data.validated_data
    if on_conflict(request, valid) != "reject":
        raise ValidationError({"on_conflict": ["scope=following does not merge or overwrite: a stale write is a 412."]})
    split = services.event_split(
        event=event,
        actor=request.user,
        split=plan,
        changes=valid["changes"],
        reason=change_reason(request, valid),
        conflict_strategy=conflict_strategy(request, valid),
        expected_version=expected_version_of(request, valid),
    )
    # The versions this write made (not later ones): the old series' answer has no `conflicts`, the new one's has.
    old = selectors.event_as_written(split.old, user=request.user)
    new = written_event(request, services.EventWritten(split.new, split.conflicts))
    updated = EventWriteResultSerializer(old).data
    # The ETag is the target's (the series named in the URL, now ending before the split), as for scope=all.
    return Response(
        {"updated": updated, "created": EventWriteResultSerializer(new).data},
        headers={"ETag": representation_etag(old.version, updated)},
    )
