"""iCalendar endpoints: one event as .ics, the import, subscription feeds and the feed URL itself."""

from __future__ import annotations

from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.parsers import BaseParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from common.conditional import etag, matches_none
from common.fields import parse_id
from common.schema import problem_responses
from common.throttling import FeedThrottle
from common.views import ThrottleRefusalsMixin
from events import selectors as event_selectors
from events.request_options import ID_PARAMETER, IF_NONE_MATCH
from events.serializers import EventDetailSerializer
from history import selectors as history_selectors
from history.serializers import AS_OF_PARAMETER, parse_as_of

from . import feeds, selectors, services
from .export import calendar_bytes
from .models import Feed
from .parse import MAX_BYTES, MAX_COMPONENTS, ICalendarSyntaxError, parse_calendar
from .serializers import (
    FeedCreatedSerializer,
    FeedInputSerializer,
    FeedSerializer,
    ImportQuerySerializer,
    ImportResultSerializer,
    import_plan,
)

CALENDAR_TYPE = "text/calendar"
ETAG_HEADER = OpenApiParameter(
    "ETag",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    response=[200],
    required=True,
    pattern=r'^(W/)?"[0-9]+-[0-9a-f]*"$',
    description="For an event: its own ETag (version and digest); for a feed: the number of events and a digest "
    "of their versions. Send it back in If-None-Match.",
)
ICS_RESPONSE = OpenApiResponse(
    response={"type": "string", "format": "binary"}, description="An iCalendar (RFC 5545) VCALENDAR."
)


def _calendar_response(body: bytes, tag: str, *, filename: str | None = None) -> HttpResponse:
    response = HttpResponse(body, content_type=f"{CALENDAR_TYPE}; charset=utf-8")
    response["ETag"] = tag
    if filename:
        response["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


def _not_modified(tag: str) -> HttpResponse:
    response = HttpResponse(status=304)
    response["ETag"] = tag
    return response


class EventIcsView(ThrottleRefusalsMixin, APIView):
    @extend_schema(
        tags=["ical"],
        summary="One event as iCalendar",
        parameters=[ID_PARAMETER, IF_NONE_MATCH, AS_OF_PARAMETER, ETAG_HEADER],
        responses={(200, CALENDAR_TYPE): ICS_RESPONSE, 304: None, **problem_responses(400)},
        description=(
            "A VCALENDAR with the event: UID, DTSTAMP, SEQUENCE (version − 1), DTSTART/DTEND with TZID (VALUE=DATE "
            "for all-day), SUMMARY, DESCRIPTION, LOCATION, RRULE/RDATE/EXDATE (cancelled occurrences are EXDATEs), "
            "one VEVENT with RECURRENCE-ID per changed occurrence, what an import brought that no field models, and a "
            "VTIMEZONE per zone. The same access and ETag as GET /api/events/{id}; `as_of` gives a past version."
        ),
    )
    def get(self, request, id=None):
        as_of = parse_as_of(request)
        if as_of is not None:
            event = history_selectors.event_as_of(user=request.user, event_id=id, as_of=as_of)
        else:
            event = event_selectors.event_get(user=request.user, event_id=id)
        tag = etag(event.version, EventDetailSerializer(event).data)  # the event's own ETag
        if matches_none(request.headers.get("If-None-Match"), tag):
            return _not_modified(tag)
        return _calendar_response(calendar_bytes([event]), tag, filename=f"event-{event.pk}.ics")


class CalendarParser(BaseParser):
    media_type = CALENDAR_TYPE

    def parse(self, stream, media_type=None, parser_context=None) -> bytes:
        return stream.read() if stream is not None else b""


class EventImportView(ThrottleRefusalsMixin, APIView):
    parser_classes = [CalendarParser]

    @extend_schema(
        tags=["ical"],
        summary="Import an iCalendar file",
        request={CALENDAR_TYPE: {"type": "string", "format": "binary"}},
        parameters=[
            ImportQuerySerializer,
            OpenApiParameter("X-Change-Reason", OpenApiTypes.STR, OpenApiParameter.HEADER),
        ],
        responses={200: ImportResultSerializer, **problem_responses(400, 409)},
        description=(
            f"A `text/calendar` body of at most {MAX_BYTES // (1024 * 1024)} MB and {MAX_COMPONENTS} components (the "
            "one exception to the 1 MB body limit). Each VEVENT (with its RECURRENCE-ID overrides) becomes an event: "
            "its UID finds an event you can edit, which is updated (a new version only if something changed), or a "
            "new event is created; a UID of an event you may only view is an error. All or nothing: any object that "
            "cannot be imported → 400 with `errors: [{index, uid, errors}]` and nothing changes; a body that is not "
            "iCalendar → 400 saying what and where. VTODO/VJOURNAL are skipped and counted. Floating times and "
            "all-day events are read in `timezone`. A VEVENT (or override) that takes no time — a DTSTART with a time "
            "and no DTEND or DURATION, a DTEND equal to DTSTART, or DURATION:PT0S (RFC 5545 §3.6.1) — is imported as "
            "lasting one minute, and written back in its own form by every iCalendar answer while it lasts a minute. "
            "Versions record action `imported` (new events: `created`) and a reason starting 'iCalendar import'."
        ),
    )
    def post(self, request):
        query = ImportQuerySerializer(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        options = query.validated_data
        body = request.data
        if not isinstance(body, bytes):
            raise ValidationError({"body": ["Send the calendar as text/calendar."]})
        reason = options.get("change_reason") or request.headers.get("X-Change-Reason") or None
        if reason and len(reason) > 500:
            raise ValidationError({"change_reason": ["Ensure this field has no more than 500 characters."]})
        try:
            parsed = parse_calendar(body, options["timezone"])
        except ICalendarSyntaxError as exc:
            raise ValidationError({"body": [str(exc)]}) from None
        result = services.calendar_import(
            actor=request.user,
            planned=import_plan(actor=request.user, parsed=parsed),
            skipped=parsed.skipped,
            conflict_strategy=options["conflict_strategy"],
            reason=reason,
            dry_run=options["dry_run"],
        )
        return Response(ImportResultSerializer(result).data)


class FeedListView(ThrottleRefusalsMixin, APIView):
    @extend_schema(
        tags=["ical"],
        summary="Your subscription feeds",
        responses={
            200: inline_serializer("FeedList", {"results": FeedSerializer(many=True)}),
            **problem_responses(400),
        },
    )
    def get(self, request):
        feeds_ = Feed.objects.filter(owner=request.user)
        return Response({"results": FeedSerializer(feeds_, many=True).data})

    @extend_schema(
        tags=["ical"],
        summary="Create a subscription feed",
        request=FeedInputSerializer,
        responses={201: FeedCreatedSerializer},
        description=(
            "A secret URL (256 random bits; only its hash is stored, so it is shown only in this answer) that "
            "answers your calendar as iCalendar to calendar apps, with no other credential: subscribe to it from "
            "Google Calendar, Outlook or Apple Calendar. DELETE /api/feeds/{id} revokes it."
        ),
    )
    def post(self, request):
        data = FeedInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        feed, secret = services.feed_create(owner=request.user, name=data.validated_data["name"])
        url = request.build_absolute_uri(f"/api/feed/{secret}.ics")
        feed.url = url
        feed.webcal_url = "webcal://" + url.split("://", 1)[1]
        return Response(FeedCreatedSerializer(feed).data, status=status.HTTP_201_CREATED)


class FeedDetailView(ThrottleRefusalsMixin, APIView):
    @extend_schema(
        tags=["ical"],
        summary="Revoke a subscription feed",
        parameters=[OpenApiParameter("id", OpenApiTypes.STR, OpenApiParameter.PATH)],
        responses={204: None, **problem_responses(400, 404)},
    )
    def delete(self, request, id=None):
        feed = Feed.objects.filter(owner=request.user, pk=parse_id(id)).first()
        if feed is None:
            raise NotFound("No such feed.")
        services.feed_revoke(feed=feed, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class FeedCalendarView(ThrottleRefusalsMixin, APIView):
    authentication_classes: list = []  # the secret in the URL is the credential
    permission_classes = [AllowAny]
    throttle_classes = [FeedThrottle]

    @extend_schema(
        tags=["ical"],
        summary="A subscription feed (the URL's secret is the credential)",
        auth=[],
        parameters=[
            OpenApiParameter("secret", OpenApiTypes.STR, OpenApiParameter.PATH, description="The feed's secret."),
            IF_NONE_MATCH,
            ETAG_HEADER,
        ],
        responses={(200, CALENDAR_TYPE): ICS_RESPONSE, 304: None, **problem_responses(400, 404)},
        description=(
            "Every event the feed's owner can see now (series in full; one-off events from a year back on; at most "
            f"{feeds.MAX_EVENTS}), with REFRESH-INTERVAL and X-PUBLISHED-TTL of one hour. ETag/If-None-Match → 304. "
            "A revoked or unknown feed, or one whose owner was deactivated → 404. Rate limited per feed."
        ),
    )
    def get(self, request, secret=None):
        feed = selectors.feed_find(secret or "")
        if feed is None:
            raise NotFound("No such feed.")
        now = timezone.now()
        services.feed_touch(feed, now)
        tag, ids = feeds.feed_etag(feed, now)
        if matches_none(request.headers.get("If-None-Match"), tag):
            return _not_modified(tag)
        return _calendar_response(feeds.feed_body(feed, tag, ids), tag, filename="calendar.ics")
