"""One occurrence of a series: PATCH (change, move, restore) and DELETE (cancel)
/api/events/{id}/occurrences/{original_start}."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, PolymorphicProxySerializer, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from common.schema import problem_responses
from common.views import ThrottleRefusalsMixin
from recurrence import timezones
from sharing.permissions import require_role
from sharing.roles import Role

from . import selectors, services
from . import split as series_split
from .models import Event
from .occurrences import effective_occurrence
from .request_options import (
    ID_PARAMETER,
    IF_MATCH,
    ON_CONFLICT_PARAMETER,
    WRITE_PARAMETERS,
    change_reason,
    conflict_strategy,
    event_response,
    expected_version_of,
    refuse_not_taken,
    update_answer,
    written_event,
)
from .serializers import (
    OCCURRENCE_SCOPES,
    DeleteInputSerializer,
    EventInputSerializer,
    OccurrenceChangeSerializer,
    OccurrenceScopeSerializer,
    OccurrenceSerializer,
    OccurrenceWriteResultSerializer,
    SchedulingConflictProblemSerializer,
    SplitResultSerializer,
)

ORIGINAL_START = OpenApiParameter(
    "original_start",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    description="Where the rule puts the occurrence (its `original_start_time`): RFC 3339, e.g. "
    "2030-01-07T09:00:00Z or 2030-01-07T10:00:00%2B01:00; without an offset read in the event's zone; a date "
    "alone for all-day events.",
)
SCOPE = OpenApiParameter(
    "scope",
    OpenApiTypes.STR,
    enum=OCCURRENCE_SCOPES,
    description="this (default): the occurrence alone; following: it and the later ones as a new series; all: "
    "the whole series. Also accepted as a body field.",
)
# A "+01:00" offset whose "+" a client left unencoded (and something turned into a space).
_SPACED_OFFSET = re.compile(r"(\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?) (\d{2}:\d{2})$")


def parse_original_start(text: str, event: Event) -> datetime:
    """The instant an occurrence URL names; anything unreadable names no occurrence (404), like a bad id."""
    try:
        value = datetime.fromisoformat(_SPACED_OFFSET.sub(r"\1+\2", text.strip()))
    except ValueError:
        raise NotFound("No such occurrence.") from None
    try:
        return timezones.localize(value, event.timezone).astimezone(UTC)
    except OverflowError:
        raise NotFound("No such occurrence.") from None


def _scope(request) -> str:
    """this (default), following or all: from the query, else the body (as on the series); anything else is a 400."""
    body = request.data if isinstance(request.data, dict) else {}
    raw = request.query_params.get("scope", body.get("scope"))
    scope = OccurrenceScopeSerializer(data={} if raw is None else {"scope": raw})
    scope.is_valid(raise_exception=True)
    return scope.validated_data["scope"]


class OccurrenceDetailView(ThrottleRefusalsMixin, APIView):
    delete_body = DeleteInputSerializer  # DELETE's optional body (common/schema.py documents it)

    def _find(self, request, id, original_start):
        event = selectors.event_get(user=request.user, event_id=id, detail=False)
        require_role(event, Role.EDITOR)
        if not event.recurrence:
            raise ValidationError({"original_start": ["The event does not recur; change the event itself."]})
        return event, series_split.occurrence_at(event, parse_original_start(original_start, event))

    @extend_schema(
        tags=["events"],
        operation_id="events_occurrence_update",
        summary="Change, move or restore one occurrence of a series (editors)",
        parameters=[ID_PARAMETER, ORIGINAL_START, IF_MATCH, *WRITE_PARAMETERS, SCOPE, ON_CONFLICT_PARAMETER],
        request=OccurrenceChangeSerializer,
        responses={
            200: PolymorphicProxySerializer(
                component_name="OccurrenceUpdateResult",
                serializers=[OccurrenceWriteResultSerializer, SplitResultSerializer],
                resource_type_field_name=None,
            ),
            **problem_responses(403, 412),
            **{(409, "application/problem+json"): SchedulingConflictProblemSerializer},
        },
        description=(
            "Stores an exception of the series (a new version of the series, action `occurrence_changed`) that "
            "every expansion shows: the occurrences endpoint, `expand=true`, the window filter, conflicts and "
            "free/busy. Send any of title, description, location, start_time, end_time (null: the series' "
            "own again). A moved occurrence follows conflict_strategy against your calendar and the series' "
            "other occurrences. A cancelled occurrence answers 409 `/problems/occurrence-cancelled` unless "
            "the body has `cancelled: false`, which restores it. 404 when the series has no occurrence there. "
            "`scope` (query parameter or body field): `this` (default) the occurrence alone; `following` splits "
            "the series there exactly as `PATCH /api/events/{id}?scope=following&occurrence=` does (the body "
            "is an event update; answers `{updated, created}`); `all` applies the body to the whole series as "
            "`PATCH /api/events/{id}` does (answers the series; `on_conflict` only with `all`). A query "
            "parameter or body member this endpoint does not take (with that scope) is a 400."
        ),
    )
    def patch(self, request, id, original_start):
        event, occurrence = self._find(request, id, original_start)
        scope = _scope(request)
        if scope != "this":
            refuse_not_taken(
                request,
                query={"scope", "conflict_strategy", *(["on_conflict"] if scope == "all" else [])},
                body={"scope", *EventInputSerializer().fields},
            )
            return update_answer(request, event, split_at=occurrence.start if scope == "following" else None)
        refuse_not_taken(
            request, query={"scope", "conflict_strategy"}, body={"scope", *OccurrenceChangeSerializer().fields}
        )
        data = OccurrenceChangeSerializer(
            data=request.data,
            context={"event": event, "occurrence": occurrence, "current": effective_occurrence(event, occurrence)},
        )
        data.is_valid(raise_exception=True)
        valid = data.validated_data
        written = services.event_occurrence_change(
            event=event,
            actor=request.user,
            original_start=occurrence.start,
            changes=valid["changes"],
            reason=change_reason(request, valid),
            conflict_strategy=conflict_strategy(request, valid),
            expected_version=expected_version_of(request, valid),
        )
        event = written_event(request, written)  # the version this write made
        changed = effective_occurrence(event, occurrence)
        event.changed_occurrence = OccurrenceSerializer.build(event, changed) if changed else None
        return event_response(event, serializer=OccurrenceWriteResultSerializer)

    @extend_schema(
        tags=["events"],
        operation_id="events_occurrence_cancel",
        summary="Cancel one occurrence of a series (editors)",
        parameters=[ID_PARAMETER, ORIGINAL_START, IF_MATCH, WRITE_PARAMETERS[1]],
        responses={
            204: OpenApiResponse(description="Cancelled (or already was); `ETag` is the series' new one."),
            **problem_responses(400, 403, 412),
        },
        description=(
            "The occurrence disappears from every expansion; the series gets a new version (action "
            "`occurrence_changed`). PATCH with `cancelled: false` restores it. 404 when the series has no "
            "occurrence there. " + DeleteInputSerializer.BODY_HELP
        ),
    )
    def delete(self, request, id, original_start):
        event, occurrence = self._find(request, id, original_start)
        valid = DeleteInputSerializer.from_body(request)
        written = services.event_occurrence_change(
            event=event,
            actor=request.user,
            original_start=occurrence.start,
            changes={"cancelled": True},
            reason=change_reason(request, valid),
            expected_version=expected_version_of(request, valid),
        )
        event = selectors.event_as_written(written.event, user=request.user)  # the version this write made
        # No body, but the series' new ETag: the client's next If-Match, or If-None-Match on the series.
        return Response(status=status.HTTP_204_NO_CONTENT, headers={"ETag": event_response(event)["ETag"]})
