"""Event endpoints: find through a selector (unseen → 404), check the role (→ 403), validate, call one service."""

from __future__ import annotations

from datetime import UTC, datetime

from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from common import answer_cost
from common.conditional import etag
from common.declared_input import NOT_A_MEMBER, undeclared_members
from common.exceptions import BatchValidationError
from common.fields import parse_positive_int, query_data, query_flag
from common.refusals import PROBLEM_CONTENT_TYPE
from common.schema import BatchProblemSerializer, problem_responses
from common.views import ThrottleRefusalsMixin
from history import selectors as history_selectors
from history.serializers import AS_OF_PARAMETER, parse_as_of
from recurrence import timezones
from sharing.permissions import require_role
from sharing.roles import Role

from . import cache as event_cache
from . import selectors, services
from .filters import EventFilter
from .models import Event
from .occurrences import event_occurrences
from .request_options import (
    ID_PARAMETER,
    IF_MATCH,
    IF_NONE_MATCH,
    ON_CONFLICT_PARAMETER,
    WRITE_PARAMETERS,
    change_reason,
    conflict_strategy,
    event_response,
    expected_version_of,
    not_modified_or,
    update_answer,
    written_response,
)
from .serializers import (
    BatchItemSerializer,
    BatchItemsField,
    ConflictSerializer,
    DeleteInputSerializer,
    EventDetailSerializer,
    EventInputSerializer,
    EventSerializer,
    EventWriteResultSerializer,
    OccurrenceListSerializer,
    OccurrenceQuerySerializer,
    OccurrenceSerializer,
    SchedulingConflictProblemSerializer,
    SplitResultSerializer,
    UpdateScopeSerializer,
    WriteConflictProblemSerializer,
    WriteOptionsMixin,
)

SCOPE_PARAMETERS = [
    OpenApiParameter(
        "scope",
        OpenApiTypes.STR,
        enum=["all", "following"],
        description=(
            "For a recurring event: all (default) changes the whole series; following changes it from the "
            "occurrence `occurrence` on: atomically, the series ends before that occurrence (its earlier occurrences "
            "unchanged) and a new series with the body's changes starts there (times in the body are those of that "
            "occurrence), with the same permissions and the exceptions from there on. Answers "
            "{updated: old series, created: new series}, with the ETag of the old series (the URL's). Also "
            "accepted as body fields."
        ),
    ),
    OpenApiParameter(
        "occurrence",
        OpenApiTypes.DATETIME,
        description="With scope=following: the original start of the occurrence to split at (RFC 3339).",
    ),
]
UPDATE_RESULT = PolymorphicProxySerializer(
    component_name="EventUpdateResult",
    serializers=[EventWriteResultSerializer, SplitResultSerializer],
    resource_type_field_name=None,
)


class BatchInputSerializer(WriteOptionsMixin, serializers.Serializer):
    # Each item is checked in the per-item loop, so errors keep the [{index, errors}] shape.
    events = BatchItemsField(min_length=1, max_length=services.MAX_BATCH)
    write_options = ("conflict_strategy", "change_reason")


_NOT_AN_OBJECT = "Expected an object with the event's fields."
BATCH_ITEM_COMPONENT = "BatchItemRequest"  # BatchItemSerializer's request schema


def _split_point(request, event) -> datetime | None:
    """The occurrence a scope=following update splits the series at (UTC); None for scope=all."""
    body = request.data if isinstance(request.data, dict) else {}
    raw = {key: request.query_params.get(key, body.get(key)) for key in ("scope", "occurrence")}
    scope = UpdateScopeSerializer(data={key: value for key, value in raw.items() if value is not None})
    scope.is_valid(raise_exception=True)
    if scope.validated_data["scope"] == "all":
        return None
    if not event.recurrence:
        raise ValidationError({"scope": ["scope=following is for recurring events."]})
    return timezones.localize(scope.validated_data["occurrence"], event.timezone).astimezone(UTC)


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
            ),
            AS_OF_PARAMETER,
        ],
    )
)
@extend_schema(tags=["events"])
class EventViewSet(ThrottleRefusalsMixin, viewsets.GenericViewSet):
    serializer_class = EventSerializer
    delete_body = DeleteInputSerializer  # DELETE's optional body (common/schema.py documents it)

    @property
    def checks_its_items(self) -> bool:
        """A batch answers which of its items has members it does not take (common/declared_input.py)."""
        return self.action == "batch"

    filter_backends = [DjangoFilterBackend]
    filterset_class = EventFilter
    lookup_value_regex = "[^/]+"

    # The actions whose answers are cached (events/cache.py), by the kind they are kept under.
    _CACHED_READS = {"list": "list", "retrieve": "detail", "occurrences": "occurrences"}
    # The parameters with which each of them costs about the same whatever the calendar (common/answer_cost.py):
    # a page near the calendar's front, one event, at most the default number of an event's occurrences. A filter, a
    # window, `expand`, `as_of` or a larger `limit` make the work grow with the data.
    _BOUNDED_WITH = {
        "list": frozenset({"page", "page_size", "format"}),
        "retrieve": frozenset({"format"}),
        "occurrences": frozenset({"start", "end", "format"}),
    }

    # A page is read past every row before it (OFFSET): only the pages near the front are bounded.
    BOUNDED_OFFSET = 500

    def initial(self, request, *args, **kwargs):
        parameters = self._BOUNDED_WITH.get(self.action)
        if parameters is not None and request.query_params.keys() <= parameters and self._near_the_front(request):
            answer_cost.bounded(request)
        super().initial(request, *args, **kwargs)

    def _near_the_front(self, request) -> bool:
        if self.action != "list":
            return True
        page = parse_positive_int(request.query_params.get("page", "1"))  # `last` is counted first: not bounded
        size = parse_positive_int(request.query_params.get("page_size", self.paginator.page_size))
        return page is not None and size is not None and (page - 1) * size <= self.BOUNDED_OFFSET

    def check_throttles(self, request):
        """On Redis, a cached read's lookup goes in the round trip that counts the request (events/cache.py)."""
        kind = self._CACHED_READS.get(self.action)
        if kind is not None and "as_of" not in request.query_params:  # time travel is not cached
            pk = self.kwargs.get("pk")
            event_id = None if pk is None else parse_positive_int(pk)  # as selectors.parse_id reads it
            if pk is None or event_id is not None:  # a malformed id is a 404 without a lookup
                event_cache.look_up_early(kind, request=request, event_id=event_id)
        super().check_throttles(request)

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return Event.objects.none()
        return selectors.events_visible(user=self.request.user)

    def list(self, request):
        if parse_as_of(request) is not None:  # time travel answers are not cached
            return self._list(request)
        return event_cache.cached_response(
            self._CACHED_READS[self.action], request=request, build=lambda: self._list(request)
        )

    def _list(self, request):
        as_of = parse_as_of(request)
        if as_of is not None:  # time travel: the versions in force at `as_of` (history/selectors.py)
            queryset = history_selectors.events_as_of_filtered(user=request.user, as_of=as_of, params=request.GET)
        elif EventFilter.base_filters.keys() & request.query_params.keys():
            queryset = self.filter_queryset(self.get_queryset())
        else:  # nothing to filter (nor a window to expand): the calendar in the filter's default order, prepared, each
            # event read as its representation (EventSerializer's, which adds no field to it), remembered per row
            queryset = selectors.CalendarPages(request.user, shown=True)
        if query_flag(request.query_params, "expand"):
            return self._list_occurrences(
                request, queryset if as_of is None else history_selectors.AsOfEvents(queryset)
            )
        page = self.paginate_queryset(queryset)
        if getattr(queryset, "shown", False):  # the calendar's events, each already its representation
            return self.get_paginated_response(page)
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
        parameters=[ID_PARAMETER, OccurrenceQuerySerializer, IF_NONE_MATCH, AS_OF_PARAMETER],
        responses={200: OccurrenceListSerializer, 304: None},
        description=(
            "Occurrences overlapping [start, end) in start order, expanded in the event's time zone (RFC 5545). "
            "At most `limit` (default 250, max 2500); `truncated` says whether more exist. The ETag starts with "
            "the event's version, like the event's own; If-None-Match with it answers 304 while it is current."
        ),
    )
    @action(detail=True, methods=["get"], url_path="occurrences")
    def occurrences(self, request, pk=None):
        if parse_as_of(request) is not None:  # time travel answers are not cached
            return not_modified_or(request, self._occurrences(request, pk))
        event_id = selectors.parse_id(pk)
        response = event_cache.cached_response(
            self._CACHED_READS[self.action],
            request=request,
            event_id=event_id,
            build=lambda: self._occurrences(request, event_id),
        )
        return not_modified_or(request, response)

    def _occurrences(self, request, pk):
        as_of = parse_as_of(request)
        if as_of is not None:
            event = history_selectors.event_as_of(user=request.user, event_id=pk, as_of=as_of, detail=False)
        else:
            event = selectors.event_get(user=request.user, event_id=pk, detail=False)
        query = OccurrenceQuerySerializer(data=query_data(request.query_params))
        query.is_valid(raise_exception=True)
        window = query.validated_data
        found, truncated = event_occurrences(
            event,
            window_start=window.get("start") or event.start_time,
            window_end=window.get("end"),
            limit=window["limit"],
        )
        data = {"results": [OccurrenceSerializer.build(event, o) for o in found], "truncated": truncated}
        return Response(data, headers={"ETag": etag(event.version, data)})

    @extend_schema(
        summary="Create an event",
        request=EventInputSerializer,
        parameters=WRITE_PARAMETERS,
        responses={
            201: EventWriteResultSerializer,
            (409, PROBLEM_CONTENT_TYPE): SchedulingConflictProblemSerializer,
        },
    )
    def create(self, request):
        data = EventInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        valid = data.validated_data
        written = services.event_create(
            actor=request.user,
            changes=valid["changes"],
            reason=change_reason(request, valid),
            conflict_strategy=conflict_strategy(request, valid),
        )
        response = written_response(request, written, status_code=status.HTTP_201_CREATED)
        response["Location"] = f"/api/events/{written.event.pk}"
        return response

    @extend_schema(
        summary="One event",
        parameters=[ID_PARAMETER, IF_NONE_MATCH, AS_OF_PARAMETER],
        responses={200: EventDetailSerializer, 304: None},
    )
    def retrieve(self, request, pk=None):
        as_of = parse_as_of(request)
        if as_of is not None:
            event = history_selectors.event_as_of(user=request.user, event_id=pk, as_of=as_of)
            response = event_response(event)
        else:
            event_id = selectors.parse_id(pk)
            response = event_cache.cached_response(
                self._CACHED_READS[self.action],
                request=request,
                event_id=event_id,
                build=lambda: event_response(selectors.event_get(user=request.user, event_id=event_id)),
            )
        return not_modified_or(request, response)

    def _update(self, request, pk):
        event = selectors.event_get(user=request.user, event_id=pk, detail=False)
        require_role(event, Role.EDITOR)
        return update_answer(request, event, split_at=_split_point(request, event))

    @extend_schema(
        summary="Update an event (any subset of fields)",
        request=EventInputSerializer,
        parameters=[ID_PARAMETER, IF_MATCH, ON_CONFLICT_PARAMETER, *WRITE_PARAMETERS, *SCOPE_PARAMETERS],
        responses={
            200: UPDATE_RESULT,
            **problem_responses(403, 412),
            (409, PROBLEM_CONTENT_TYPE): WriteConflictProblemSerializer,
        },
    )
    def update(self, request, pk=None):
        return self._update(request, pk)

    @extend_schema(
        summary="Update some fields of an event",
        request=EventInputSerializer,
        parameters=[ID_PARAMETER, IF_MATCH, ON_CONFLICT_PARAMETER, *WRITE_PARAMETERS, *SCOPE_PARAMETERS],
        responses={
            200: UPDATE_RESULT,
            **problem_responses(403, 412),
            (409, PROBLEM_CONTENT_TYPE): WriteConflictProblemSerializer,
        },
    )
    def partial_update(self, request, pk=None):
        return self._update(request, pk)

    @extend_schema(
        summary="Delete an event (owners)",
        parameters=[ID_PARAMETER, IF_MATCH, WRITE_PARAMETERS[1]],
        responses={204: OpenApiResponse(description="Deleted."), **problem_responses(400, 403, 412)},
        description=DeleteInputSerializer.BODY_HELP,
    )
    def destroy(self, request, pk=None):
        event = selectors.event_get(user=request.user, event_id=pk, detail=False)
        require_role(event, Role.OWNER)
        valid = DeleteInputSerializer.from_body(request)
        services.event_delete(
            event=event,
            actor=request.user,
            reason=change_reason(request, valid),
            expected_version=expected_version_of(request, valid),
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
            (400, PROBLEM_CONTENT_TYPE): BatchProblemSerializer,
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
        # One serializer validates every item (what is_valid() does, without building its fields 500 times).
        validator = BatchItemSerializer()
        for index, item in enumerate(envelope.validated_data["events"]):
            if not isinstance(item, dict):
                errors.append({"index": index, "errors": {"non_field_errors": [_NOT_AN_OBJECT]}})
                continue
            if unknown := undeclared_members(item, BATCH_ITEM_COMPONENT):  # as POST /api/events would refuse them
                errors.append({"index": index, "errors": {name: [NOT_A_MEMBER] for name in unknown}})
                continue
            try:
                items.append(validator.run_validation(item)["changes"])
            except ValidationError as exc:
                errors.append({"index": index, "errors": exc.detail})
        if errors:
            raise BatchValidationError(
                f"{len(errors)} of {len(items) + len(errors)} items are invalid; nothing was created.", errors=errors
            )
        valid = envelope.validated_data
        created = services.event_create_batch(
            actor=request.user,
            items=items,
            reason=change_reason(request, valid),
            conflict_strategy=conflict_strategy(request, valid),
        )
        for event in created.events:
            event.my_role = Role.OWNER
            event.owner = request.user
        body = {"results": EventSerializer(created.events, many=True).data}
        if created.conflicts:
            body["conflicts"] = created.conflicts
        return Response(body, status=status.HTTP_201_CREATED)
