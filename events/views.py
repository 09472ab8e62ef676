"""Event endpoints: find through a selector (unseen → 404), check the role (→ 403), validate, call one service."""

from __future__ import annotations

from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from common.conditional import etag, expected_version, matches_none
from common.exceptions import BatchValidationError
from common.fields import StrictCharField
from common.schema import problem_responses
from common.views import ThrottleRefusalsMixin
from sharing.permissions import require_role
from sharing.roles import Role

from . import selectors, services
from .filters import EventFilter
from .models import Event
from .occurrences import event_occurrences
from .serializers import (
    CONFLICT_STRATEGIES,
    REASON_MAX,
    ConflictSerializer,
    EventDetailSerializer,
    EventInputSerializer,
    EventSerializer,
    EventWriteResultSerializer,
    OccurrenceListSerializer,
    OccurrenceQuerySerializer,
    OccurrenceSerializer,
)

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
IF_NONE_MATCH = OpenApiParameter(
    "If-None-Match", OpenApiTypes.STR, OpenApiParameter.HEADER, description="An ETag; 304 if it is still current."
)


class BatchInputSerializer(serializers.Serializer):
    events = serializers.ListField(child=serializers.DictField(), min_length=1, max_length=services.MAX_BATCH)
    conflict_strategy = serializers.ChoiceField(choices=CONFLICT_STRATEGIES, required=False)
    change_reason = StrictCharField(max_length=REASON_MAX, required=False, allow_blank=True)


def _flag(value: str | None) -> bool:
    if value is None:
        return False
    if value.lower() in {"true", "1", "yes"}:
        return True
    if value.lower() in {"false", "0", "no", ""}:
        return False
    raise ValidationError({"expand": ["Must be true or false."]})


def _reason(request, validated: dict) -> str | None:
    reason = validated.get("change_reason") or request.headers.get("X-Change-Reason", "")
    if len(reason) > REASON_MAX:
        raise ValidationError({"change_reason": [f"Ensure this field has no more than {REASON_MAX} characters."]})
    return reason or None


def _strategy(request, validated: dict) -> str:
    value = request.query_params.get("conflict_strategy") or validated.get("conflict_strategy") or "reject"
    if value not in CONFLICT_STRATEGIES:
        raise ValidationError({"conflict_strategy": [f"Must be one of {', '.join(CONFLICT_STRATEGIES)}."]})
    return value


def _expected_version(request, validated: dict) -> int | None:
    header = expected_version(request.headers.get("If-Match"))
    return header if header is not None else validated.get("base_version")


def event_response(event, *, status_code: int = 200, conflicts: list | None = None, serializer=EventDetailSerializer):
    if conflicts is not None:
        event.conflicts = conflicts
    data = serializer(event).data
    return Response(data, status=status_code, headers={"ETag": etag(event.version, data)})


@extend_schema_view(
    list=extend_schema(
        summary="Events the caller can see (owned or shared)",
        parameters=[
            OpenApiParameter(
                "expand",
                OpenApiTypes.BOOL,
                description=(
                    "With start and end: list occurrences (OccurrenceSerializer items, in start order, paginated, "
                    f"at most {selectors.MAX_EXPANDED} in all; the answer adds `truncated`) instead of events."
                ),
            )
        ],
    )
)
@extend_schema(tags=["events"])
class EventViewSet(ThrottleRefusalsMixin, viewsets.GenericViewSet):
    serializer_class = EventSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = EventFilter
    lookup_value_regex = "[^/]+"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return Event.objects.none()
        return selectors.events_visible(user=self.request.user)

    def list(self, request):
        queryset = self.filter_queryset(self.get_queryset())
        if _flag(request.query_params.get("expand")):
            return self._list_occurrences(request, queryset)
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(EventSerializer(page, many=True).data)

    def _list_occurrences(self, request, queryset):
        start, end = request.query_params.get("start"), request.query_params.get("end")
        if not start or not end:
            raise ValidationError({"expand": ["expand=true needs both start and end."]})
        window = OccurrenceQuerySerializer(data={"start": start, "end": end})
        window.is_valid(raise_exception=True)
        occurrences, truncated = selectors.calendar_occurrences(
            queryset, start=window.validated_data["start"], end=window.validated_data["end"]
        )
        page = self.paginate_queryset([OccurrenceSerializer.build(event, o) for event, o in occurrences])
        response = self.get_paginated_response(page)
        response.data["truncated"] = truncated
        return response

    @extend_schema(
        summary="Occurrences of one event in a window",
        parameters=[ID_PARAMETER, OccurrenceQuerySerializer],
        responses={200: OccurrenceListSerializer},
        description=(
            "Occurrences overlapping [start, end) in start order, expanded in the event's time zone (RFC 5545). "
            "At most `limit` (default 250, max 2500); `truncated` says whether more exist."
        ),
    )
    @action(detail=True, methods=["get"], url_path="occurrences")
    def occurrences(self, request, pk=None):
        event = selectors.event_get(user=request.user, event_id=pk, detail=False)
        query = OccurrenceQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        window = query.validated_data
        found, truncated = event_occurrences(
            event,
            window_start=window.get("start") or event.start_time,
            window_end=window.get("end"),
            limit=window["limit"],
        )
        return Response({"results": [OccurrenceSerializer.build(event, o) for o in found], "truncated": truncated})

    @extend_schema(
        summary="Create an event",
        request=EventInputSerializer,
        parameters=WRITE_PARAMETERS,
        responses={
            201: EventWriteResultSerializer,
            **problem_responses(409),
        },
    )
    def create(self, request):
        data = EventInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        valid = data.validated_data
        event, conflicts = services.event_create(
            actor=request.user,
            changes=valid["changes"],
            reason=_reason(request, valid),
            conflict_strategy=_strategy(request, valid),
        )
        event = selectors.event_get(user=request.user, event_id=event.pk)
        response = event_response(
            event, status_code=status.HTTP_201_CREATED, conflicts=conflicts, serializer=EventWriteResultSerializer
        )
        response["Location"] = f"/api/events/{event.pk}"
        return response

    @extend_schema(
        summary="One event", parameters=[ID_PARAMETER, IF_NONE_MATCH], responses={200: EventDetailSerializer, 304: None}
    )
    def retrieve(self, request, pk=None):
        event = selectors.event_get(user=request.user, event_id=pk)
        response = event_response(event)
        if matches_none(request.headers.get("If-None-Match"), response["ETag"]):
            return Response(status=status.HTTP_304_NOT_MODIFIED, headers={"ETag": response["ETag"]})
        return response

    def _update(self, request, pk):
        event = selectors.event_get(user=request.user, event_id=pk, detail=False)
        require_role(event, Role.EDITOR)
        data = EventInputSerializer(instance=event, data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        valid = data.validated_data
        event, conflicts = services.event_update(
            event=event,
            actor=request.user,
            changes=valid["changes"],
            reason=_reason(request, valid),
            conflict_strategy=_strategy(request, valid),
            expected_version=_expected_version(request, valid),
        )
        event = selectors.event_get(user=request.user, event_id=event.pk)
        return event_response(event, conflicts=conflicts, serializer=EventWriteResultSerializer)

    @extend_schema(
        summary="Update an event (any subset of fields)",
        request=EventInputSerializer,
        parameters=[ID_PARAMETER, IF_MATCH, *WRITE_PARAMETERS],
        responses={200: EventWriteResultSerializer, **problem_responses(403, 409, 412)},
    )
    def update(self, request, pk=None):
        return self._update(request, pk)

    @extend_schema(
        summary="Update some fields of an event",
        request=EventInputSerializer,
        parameters=[ID_PARAMETER, IF_MATCH, *WRITE_PARAMETERS],
        responses={200: EventWriteResultSerializer, **problem_responses(403, 409, 412)},
    )
    def partial_update(self, request, pk=None):
        return self._update(request, pk)

    @extend_schema(
        summary="Delete an event (owners)",
        parameters=[ID_PARAMETER, IF_MATCH, WRITE_PARAMETERS[1]],
        responses={204: OpenApiResponse(description="Deleted."), **problem_responses(403, 412)},
    )
    def destroy(self, request, pk=None):
        event = selectors.event_get(user=request.user, event_id=pk, detail=False)
        require_role(event, Role.OWNER)
        services.event_delete(
            event=event,
            actor=request.user,
            reason=_reason(request, {}),
            expected_version=_expected_version(request, {}),
        )
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Create many events, all or nothing",
        request=BatchInputSerializer,
        parameters=WRITE_PARAMETERS,
        responses={
            201: inline_serializer(
                "BatchResult",
                {
                    "results": EventSerializer(many=True),
                    "conflicts": ConflictSerializer(many=True, required=False),
                },
            ),
            **problem_responses(409),
        },
        description=(
            f"`{{events: [...]}}` or a bare list, at most {services.MAX_BATCH} events. Every item is validated "
            "before anything is written; one bad item answers 400 with `errors: [{index, errors}]` "
            "and creates nothing. "
            "Items are checked for conflicts with the calendar and with each other (`batch_index`)."
        ),
    )
    @action(detail=False, methods=["post"], url_path="batch")
    def batch(self, request):
        body = {"events": request.data} if isinstance(request.data, list) else request.data
        envelope = BatchInputSerializer(data=body)
        envelope.is_valid(raise_exception=True)
        items, errors = [], []
        for index, item in enumerate(envelope.validated_data["events"]):
            data = EventInputSerializer(data=item)
            if data.is_valid():
                items.append(data.validated_data["changes"])
            else:
                errors.append({"index": index, "errors": data.errors})
        if errors:
            raise BatchValidationError(
                f"{len(errors)} of {len(items) + len(errors)} items are invalid; nothing was created.", errors=errors
            )
        valid = envelope.validated_data
        created, conflicts = services.event_create_batch(
            actor=request.user, items=items, reason=_reason(request, valid), conflict_strategy=_strategy(request, valid)
        )
        for event in created:
            event.my_role = Role.OWNER
            event.owner = request.user
        body = {"results": EventSerializer(created, many=True).data}
        if conflicts:
            body["conflicts"] = conflicts
        return Response(body, status=status.HTTP_201_CREATED)
