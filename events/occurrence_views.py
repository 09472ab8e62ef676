"""One occurrence of a series: PATCH (change, move, restore) and DELETE (cancel)
/api/events/{id}/occurrences/{original_start}."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from django.db import transaction
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
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
    WRITE_PARAMETERS,
    change_reason,
    conflict_strategy,
    event_response,
    expected_version_of,
)
from .serializers import (
    DeleteInputSerializer,
    OccurrenceChangeSerializer,
    OccurrenceSerializer,
    OccurrenceWriteResultSerializer,
    SchedulingConflictProblemSerializer,
)

ORIGINAL_START = OpenApiParameter(
    "original_start",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    description="Where the rule puts the occurrence (its `original_start_time`): RFC 3339, e.g. "
    "2030-01-07T09:00:00Z or 2030-01-07T10:00:00%2B01:00; without an offset read in the event's zone; a date "
    "alone for all-day events.",
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


class OccurrenceDetailView(ThrottleRefusalsMixin, APIView):
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
        parameters=[ID_PARAMETER, ORIGINAL_START, IF_MATCH, *WRITE_PARAMETERS],
        request=OccurrenceChangeSerializer,
        responses={
            200: OccurrenceWriteResultSerializer,
            **problem_responses(403, 412),
            **{(409, "application/problem+json"): SchedulingConflictProblemSerializer},
        },
        description=(
            "Stores an exception of the series (a new version of the series, action `occurrence_changed`) that "
            "every expansion shows: the occurrences endpoint, `expand=true`, the window filter, conflicts and "
            "free/busy. Send any of title, description, location, start_time, end_time (null: the series' "
            "own again). A moved occurrence follows conflict_strategy against your calendar and the series' "
            "other occurrences. A cancelled occurrence answers 409 `/problems/occurrence-cancelled` unless "
            "the body has `cancelled: false`, which restores it. 404 when the series has no occurrence there."
        ),
    )
    def patch(self, request, id, original_start):
        event, occurrence = self._find(request, id, original_start)
        data = OccurrenceChangeSerializer(
            data=request.data,
            context={"event": event, "occurrence": occurrence, "current": effective_occurrence(event, occurrence)},
        )
        data.is_valid(raise_exception=True)
        valid = data.validated_data
        with transaction.atomic():  # the answer (and its ETag) shows the version this write made
            event, conflicts = services.event_occurrence_change(
                event=event,
                actor=request.user,
                original_start=occurrence.start,
                changes=valid["changes"],
                reason=change_reason(request, valid),
                conflict_strategy=conflict_strategy(request, valid),
                expected_version=expected_version_of(request, valid),
            )
            event = selectors.event_get(user=request.user, event_id=event.pk)
        changed = effective_occurrence(event, occurrence)
        event.changed_occurrence = OccurrenceSerializer.build(event, changed) if changed else None
        return event_response(event, conflicts=conflicts, serializer=OccurrenceWriteResultSerializer)

    @extend_schema(
        tags=["events"],
        operation_id="events_occurrence_cancel",
        summary="Cancel one occurrence of a series (editors)",
        parameters=[ID_PARAMETER, ORIGINAL_START, IF_MATCH, WRITE_PARAMETERS[1]],
        responses={
            204: OpenApiResponse(description="Cancelled (or already was)."),
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
        services.event_occurrence_change(
            event=event,
            actor=request.user,
            original_start=occurrence.start,
            changes={"cancelled": True},
            reason=change_reason(request, valid),
            expected_version=expected_version_of(request, valid),
        )
        return Response(status=status.HTTP_204_NO_CONTENT)
