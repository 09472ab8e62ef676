"""History endpoints (JSON): versions, changelog, diff, rollback, delete/restore, audit. The HTML pages: pages.py.

`versionId` in URLs is the version NUMBER (1, 2, 3 ... per event), as in the event's `version` field.
Reads are open to every role on the event (viewers included); rollback needs editor, restore owner.
A deleted event's history stays readable by its owners (so they can choose to restore it).
"""

from __future__ import annotations

from urllib.parse import urlencode

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import generics, status
from rest_framework.exceptions import NotFound
from rest_framework.permissions import IsAdminUser
from rest_framework.response import Response
from rest_framework.views import APIView

from common.fields import parse_positive_int, query_data
from common.schema import PAGE_PARAMETERS, problem_responses
from common.views import ThrottleRefusalsMixin
from events import services as event_services
from events.request_options import (
    ID_PARAMETER,
    IF_MATCH,
    ON_CONFLICT_PARAMETER,
    WRITE_PARAMETERS,
    change_reason,
    conflict_strategy,
    expected_version_of,
    on_conflict,
    written_response,
)
from events.rollback import event_rollback
from events.serializers import EventWriteResultSerializer
from sharing.permissions import require_role
from sharing.roles import Role

from . import diff, links, selectors
from .models import HistoryLink
from .serializers import (
    AuditEntrySerializer,
    AuditQuerySerializer,
    ChangelogEntrySerializer,
    DeletedEventSerializer,
    DiffSerializer,
    HistoryLinkCreatedSerializer,
    HistoryLinkInputSerializer,
    HistoryLinkSerializer,
    HistoryOrderSerializer,
    RollbackInputSerializer,
    VersionDetailSerializer,
    VersionSerializer,
)

VERSION_PARAMETER = OpenApiParameter(
    "version", OpenApiTypes.INT, OpenApiParameter.PATH, description="A version number (1, 2, 3 ... per event)."
)
ORDER_PARAMETER = OpenApiParameter(
    "order", OpenApiTypes.STR, enum=["asc", "desc"], description="asc (oldest first, default) or desc."
)


def _order(request) -> bool:
    query = HistoryOrderSerializer(data=query_data(request.query_params))
    query.is_valid(raise_exception=True)
    return query.validated_data["order"] == "desc"


class HistoryView(ThrottleRefusalsMixin, generics.GenericAPIView):
    """Base: paginated like every collection (?page=, ?page_size=)."""

    def get_queryset(self):  # pragma: no cover - schema generation only
        return selectors.HistoricalEvent.objects.none()


@extend_schema(tags=["history"])
class EventHistoryView(HistoryView):
    @extend_schema(
        operation_id="events_history_list",
        summary="The event's versions (every role)",
        parameters=[ID_PARAMETER, ORDER_PARAMETER],
        responses={200: VersionSerializer(many=True)},
        description=(
            "One row per version (1, 2, 3 ...), oldest first (`order=desc`: newest first), paginated, each "
            "with who, when, the action, the reason and what it changed from the version before. "
            "A deleted event's history stays readable by its owners."
        ),
    )
    def get(self, request, id):
        event = selectors.event_for_history(user=request.user, event_id=id)
        page = self.paginate_queryset(selectors.versions(event=event, descending=_order(request)))
        described = selectors.describe_versions(event=event, rows=list(page))
        return self.get_paginated_response(
            VersionSerializer([VersionSerializer.build(i) for i in described], many=True).data
        )


@extend_schema(tags=["history"])
class EventVersionView(HistoryView):
    @extend_schema(
        operation_id="events_history_retrieve",
        summary="One version of the event with its full snapshot (every role)",
        parameters=[ID_PARAMETER, VERSION_PARAMETER],
        responses={200: VersionDetailSerializer},
    )
    def get(self, request, id, version):
        event = selectors.event_for_history(user=request.user, event_id=id)
        row = selectors.version_get(event=event, version=version)
        info = selectors.describe_versions(event=event, rows=[row])[0]
        body = VersionSerializer.build(info)
        body["data"] = row
        return Response(VersionDetailSerializer(body).data)


@extend_schema(tags=["history"])
class EventChangelogView(HistoryView):
    @extend_schema(
        operation_id="events_changelog",
        summary="What happened to the event, in words (every role)",
        parameters=[ID_PARAMETER, ORDER_PARAMETER],
        responses={200: ChangelogEntrySerializer(many=True)},
        description=(
            "One entry per change, oldest first (`order=desc`: newest first), paginated: versions (kind "
            "`version`) and sharing changes (kind `sharing`: `permission_granted`, `permission_changed`, "
            "`permission_revoked`) on one timeline, each with actor, time, action, changed fields, a readable "
            "summary and, for versions, the size change of the text fields."
        ),
    )
    def get(self, request, id):
        event = selectors.event_for_history(user=request.user, event_id=id)
        page = self.paginate_queryset(selectors.changelog_timeline(event=event, descending=_order(request)))
        entries = selectors.changelog_entries(event=event, page=list(page))
        return self.get_paginated_response(ChangelogEntrySerializer(entries, many=True).data)


def _diff_body(event, first, second) -> dict:
    return {
        "from_version": first.version,
        "to_version": second.version,
        "changes": diff.field_changes(diff.snapshot(first), diff.snapshot(second)),
    }


@extend_schema(tags=["history"])
class EventDiffView(HistoryView):
    @extend_schema(
        operation_id="events_diff",
        summary="What differs between two versions (every role)",
        parameters=[
            ID_PARAMETER,
            OpenApiParameter("v1", OpenApiTypes.INT, OpenApiParameter.PATH, description="The version to diff from."),
            OpenApiParameter("v2", OpenApiTypes.INT, OpenApiParameter.PATH, description="The version to diff to."),
        ],
        responses={200: DiffSerializer},
        description=(
            "`old` is the value at v1, `new` at v2, in either order (v2 older than v1 shows what going back "
            "would change); unchanged fields are absent. Text fields add a word-level `diff`, times and the "
            "recurrence readable forms, the recurrence the exdates/rdates added and removed."
        ),
    )
    def get(self, request, id, v1, v2):
        event = selectors.event_for_history(user=request.user, event_id=id)
        first, second = selectors.versions_pair(event=event, first=v1, second=v2)
        return Response(DiffSerializer(_diff_body(event, first, second)).data)


@extend_schema(tags=["history"])
class EventRollbackView(ThrottleRefusalsMixin, APIView):
    @extend_schema(
        operation_id="events_rollback",
        summary="Roll the event back to a version (owners and editors)",
        parameters=[ID_PARAMETER, VERSION_PARAMETER, IF_MATCH, ON_CONFLICT_PARAMETER, *WRITE_PARAMETERS],
        request=RollbackInputSerializer,
        responses={200: EventWriteResultSerializer, **problem_responses(403, 409, 412)},
        description=(
            "The event gets a NEW version (action `rolled_back`) whose fields equal those of `version`; history "
            "is never rewritten. Scheduling conflicts follow `conflict_strategy`; `If-Match`/`base_version` "
            "answer 412 when stale. Rolling back to what the event already is makes no version. A deleted event "
            "answers 409 (`/problems/event-deleted`): restore it first."
        ),
    )
    def post(self, request, id, version):
        event = selectors.event_for_history(user=request.user, event_id=id)
        require_role(event, Role.EDITOR)
        data = RollbackInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        valid = data.validated_data
        target = selectors.version_get(event=event, version=version)
        written = event_rollback(
            event=event,
            actor=request.user,
            version=target.version,
            reason=change_reason(request, valid),
            conflict_strategy=conflict_strategy(request, valid),
            expected_version=expected_version_of(request, valid),
            on_conflict=on_conflict(request, valid),
        )
        return written_response(request, written)


@extend_schema(tags=["history"])
class EventRestoreView(ThrottleRefusalsMixin, APIView):
    @extend_schema(
        operation_id="events_restore",
        summary="Restore a deleted event (owners, within 30 days)",
        parameters=[ID_PARAMETER, IF_MATCH, *WRITE_PARAMETERS],
        request=RollbackInputSerializer,
        responses={200: EventWriteResultSerializer, **problem_responses(403, 409, 410, 412)},
        description=(
            "A new version (action `restored`) brings the event back for everyone who had a role on it. "
            "409 if it is not deleted, 410 once 30 days have passed since the deletion; scheduling "
            "conflicts with your calendar follow `conflict_strategy`. Deleted events are visible to their "
            "owners only (others get 404)."
        ),
    )
    def post(self, request, id):
        event = selectors.event_for_history(user=request.user, event_id=id)
        require_role(event, Role.OWNER)
        data = RollbackInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        valid = data.validated_data
        written = event_services.event_restore(
            event=event,
            actor=request.user,
            reason=change_reason(request, valid),
            conflict_strategy=conflict_strategy(request, valid),
            expected_version=expected_version_of(request, valid),
        )
        return written_response(request, written)


@extend_schema(tags=["history"])
class DeletedEventsView(ThrottleRefusalsMixin, generics.GenericAPIView):
    serializer_class = DeletedEventSerializer

    def get_queryset(self):  # pragma: no cover - schema generation only
        return selectors.Event.objects.none()

    @extend_schema(
        operation_id="events_deleted_list",
        summary="Your deleted events that can still be restored",
        responses={200: DeletedEventSerializer(many=True)},
        description="Events you own that were deleted in the last 30 days, most recently deleted first.",
    )
    def get(self, request):
        page = self.paginate_queryset(selectors.events_deleted(user=request.user))
        return self.get_paginated_response(DeletedEventSerializer(page, many=True).data)


@extend_schema(tags=["history"])
class HistoryLinkListView(ThrottleRefusalsMixin, APIView):
    @extend_schema(
        operation_id="events_history_links_list",
        summary="Your links to the event's history pages (every role)",
        parameters=[ID_PARAMETER],
        responses={200: inline_serializer("HistoryLinkList", {"results": HistoryLinkSerializer(many=True)})},
        description="The links you made to this event's history pages, oldest first, without their secrets.",
    )
    def get(self, request, id):
        event = selectors.event_for_history(user=request.user, event_id=id)
        rows = HistoryLink.objects.filter(event=event, creator=request.user)
        return Response({"results": HistoryLinkSerializer(rows, many=True).data})

    @extend_schema(
        operation_id="events_history_links_create",
        summary="A read-only link to the event's history pages (every role)",
        parameters=[ID_PARAMETER],
        request=HistoryLinkInputSerializer,
        responses={201: HistoryLinkCreatedSerializer, **problem_responses(400)},
        description=(
            "A URL of the event's history page that a browser opens with no other credential: it reads the history, "
            "diff, compare and version pages of this event as you would now (if you lose access to the event or "
            "your account is deactivated, the link stops working), and never restores a version (that takes a "
            f"session or a token). It holds a secret of {links.SECRET_BYTES * 8} random bits, of which only a "
            "digest is kept, so `url` is shown only in this answer; keep it like a password. "
            "`DELETE /api/events/{id}/history-links/{link_id}` revokes it at once."
        ),
    )
    def post(self, request, id):
        event = selectors.event_for_history(user=request.user, event_id=id)
        data = HistoryLinkInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        link, secret = links.history_link_create(
            event=event, creator=request.user, expires_at=data.validated_data.get("expires_at")
        )
        link.url = request.build_absolute_uri(f"/events/{event.pk}/history?{urlencode({'link': secret})}")
        return Response(HistoryLinkCreatedSerializer(link).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["history"])
class HistoryLinkDetailView(ThrottleRefusalsMixin, APIView):
    @extend_schema(
        operation_id="events_history_links_revoke",
        summary="Revoke one of your links to the event's history pages",
        parameters=[ID_PARAMETER, OpenApiParameter("link_id", OpenApiTypes.STR, OpenApiParameter.PATH)],
        responses={204: None, **problem_responses(404)},
        description="The link stops working at once. Only its creator revokes it; anyone else's is 404.",
    )
    def delete(self, request, id, link_id):
        event = selectors.event_for_history(user=request.user, event_id=id)
        pk = parse_positive_int(link_id)
        link = HistoryLink.objects.filter(event=event, creator=request.user, pk=pk).first() if pk else None
        if link is None:
            raise NotFound("No such history link.")
        links.history_link_revoke(link=link, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class IsStaff(IsAdminUser):
    message = "The audit trail is for staff."


@extend_schema(tags=["audit"])
class AuditListView(ThrottleRefusalsMixin, generics.GenericAPIView):
    permission_classes = [IsStaff]
    serializer_class = AuditEntrySerializer

    def get_queryset(self):  # pragma: no cover - schema generation only
        return selectors.AuditEntry.objects.none()

    @extend_schema(
        operation_id="audit_list",
        summary="The audit trail (staff)",
        parameters=[AuditQuerySerializer, *PAGE_PARAMETERS],
        responses={200: AuditEntrySerializer(many=True), **problem_responses(403)},
        description=(
            "Every operation, newest first, paginated: register, login (successes and failures), refresh, logout, "
            "event writes, sharing, rollback, delete and restore, batch calls; with actor, time, IP, user agent, "
            "request id and target. Append-only."
        ),
    )
    def get(self, request):
        query = AuditQuerySerializer(data=query_data(request.query_params))
        query.is_valid(raise_exception=True)
        page = self.paginate_queryset(selectors.audit_entries(filters=query.validated_data))
        return self.get_paginated_response(AuditEntrySerializer(page, many=True).data)
