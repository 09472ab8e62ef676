"""Calendar-wide reads on the caller's calendar (owned and shared events): the overlapping pairs
(GET /api/events/conflicts) and free/busy (GET /api/freebusy).

Both read the busy occurrences of a window of at most MAX_CALENDAR_WINDOW (all-day events are transparent,
exceptions applied), in start order, at most MAX_SCANNED of them (`truncated` says when there were more).
"""

from __future__ import annotations

from datetime import UTC

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from common.fields import query_data
from common.pagination import PageNumberPagination
from common.schema import PAGE_PARAMETERS
from common.views import ThrottleRefusalsMixin
from events import selectors
from events.serializers import (
    CalendarWindowSerializer,
    ConflictPairSerializer,
    FreeBusyQuerySerializer,
    FreeBusySerializer,
    OccurrenceSerializer,
)
from recurrence import timezones

from . import intervals

MAX_SCANNED = 50_000  # busy occurrences read for one answer
MAX_PAIRS = 10_000  # overlapping pairs listed for one window


class ConflictListView(ThrottleRefusalsMixin, APIView):
    @extend_schema(
        tags=["events"],
        operation_id="events_conflicts_list",
        summary="Overlapping occurrences on your calendar in a window",
        parameters=[CalendarWindowSerializer, *PAGE_PARAMETERS],
        responses={
            200: inline_serializer(
                "ConflictPairList",
                {
                    "count": serializers.IntegerField(),
                    "next": serializers.URLField(allow_null=True),
                    "previous": serializers.URLField(allow_null=True),
                    "results": ConflictPairSerializer(many=True),
                    "truncated": serializers.BooleanField(
                        help_text=f"True when more than {MAX_PAIRS} pairs or {MAX_SCANNED} occurrences were found."
                    ),
                },
            )
        },
        description=(
            "Every pair of occurrences on your calendar (events you own or that are shared with you) that overlap "
            "within [start, end), the earlier first, ordered by the later one's start; paginated. Occurrences of "
            "one series that overlap each other count too. All-day events are transparent; cancelled "
            f"occurrences are gone and moved ones are where they were moved. The window spans at most "
            f"366 days; at most {MAX_SCANNED} occurrences and {MAX_PAIRS} pairs are read."
        ),
    )
    def get(self, request):
        window = CalendarWindowSerializer(data=query_data(request.query_params))
        window.is_valid(raise_exception=True)
        start, end = window.validated_data["start"], window.validated_data["end"]
        timeline, scanned_all = _busy(request.user, start, end)
        pairs, more = intervals.calendar_pairs(timeline, MAX_PAIRS)
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(pairs, request, view=self)
        response = paginator.get_paginated_response([_pair(first, second) for first, second in page])
        response.data["truncated"] = more or not scanned_all
        return response


class FreeBusyView(ThrottleRefusalsMixin, APIView):
    @extend_schema(
        tags=["events"],
        operation_id="freebusy",
        summary="When you are busy in a window",
        parameters=[FreeBusyQuerySerializer],
        responses={200: FreeBusySerializer},
        description=(
            "Your busy intervals in [start, end), merged and clipped to the window: the occurrences of events you "
            "own or that are shared with you. All-day events are transparent, cancelled occurrences are free "
            "and moved ones are busy where they were moved; zero-length events make no one busy. The window "
            f"spans at most 366 days; at most {MAX_SCANNED} occurrences are read (`truncated`)."
        ),
    )
    def get(self, request):
        query = FreeBusyQuerySerializer(data=query_data(request.query_params))
        query.is_valid(raise_exception=True)
        start, end = query.validated_data["start"], query.validated_data["end"]
        tz = query.validated_data.get("timezone", "UTC")
        zone = timezones.get(tz)
        timeline, scanned_all = _busy(request.user, start, end)
        busy = [
            {
                "start_time": max(s, start).astimezone(zone).isoformat(),
                "end_time": min(e, end).astimezone(zone).isoformat(),
            }
            for s, e in intervals.merged_busy(timeline)
        ]
        return Response(
            {
                "start": start.astimezone(zone).isoformat(),
                "end": end.astimezone(zone).isoformat(),
                "timezone": tz,
                "results": busy,
                "truncated": not scanned_all,
            }
        )


def _busy(user, start, end):
    """(the busy occurrences of the window in start order, whether that is all of them)."""
    timeline, truncated = selectors.calendar_busy_occurrences(
        user=user, start=start.astimezone(UTC), end=end.astimezone(UTC), limit=MAX_SCANNED
    )
    return timeline, not truncated


def _pair(first, second) -> dict:
    (a_event, a), (b_event, b) = first, second
    return {
        "first": OccurrenceSerializer.build(a_event, a),
        "second": OccurrenceSerializer.build(b_event, b),
        "overlap_start": max(a.start, b.start),
        "overlap_end": min(a.end, b.end) if a.end != a.start and b.end != b.start else max(a.start, b.start),
    }
