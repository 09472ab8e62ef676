"""History endpoints: versions, changelog, diff (JSON and HTML), rollback, delete/restore, time travel, audit.

`versionId` in URLs is the version NUMBER (1, 2, 3 ... per event), as in the event's `version` field.
Reads are open to every role on the event (viewers included); rollback needs editor, restore owner.
A deleted event's history stays readable by its owners (so they can choose to restore it).
"""

from __future__ import annotations

import re
from urllib.parse import urlencode

from django.db import transaction
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import IsAdminUser
from rest_framework.renderers import JSONRenderer, TemplateHTMLRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.authentication import JWTAuthentication
from common.fields import query_data
from common.schema import PAGE_PARAMETERS, problem_responses
from common.views import ThrottleRefusalsMixin
from events import services as event_services
from events.api import (
    ID_PARAMETER,
    IF_MATCH,
    ON_CONFLICT_PARAMETER,
    WRITE_PARAMETERS,
    change_reason,
    conflict_strategy,
    event_response,
    expected_version_of,
    on_conflict,
)
from events.selectors import event_get
from events.serializers import EventWriteResultSerializer
from sharing.permissions import require_role
from sharing.roles import Role

from . import diff, selectors, services
from .models import Action
from .serializers import (
    AuditEntrySerializer,
    AuditQuerySerializer,
    ChangelogEntrySerializer,
    DeletedEventSerializer,
    DiffSerializer,
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
HTML_TOKEN_PARAMETER = OpenApiParameter(
    "token",
    OpenApiTypes.STR,
    description="An access token, for opening the page in a browser (which cannot send an Authorization header).",
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
        # One transaction, so the answer (and its ETag) shows the version this rollback made, not a later one.
        with transaction.atomic():
            event, conflicts = services.event_rollback(
                event=event,
                actor=request.user,
                version=target.version,
                reason=change_reason(request, valid),
                conflict_strategy=conflict_strategy(request, valid),
                expected_version=expected_version_of(request, valid),
                on_conflict=on_conflict(request, valid),
            )
            merged = event.merged
            event = event_get(user=request.user, event_id=event.pk)
        event.merged = merged
        return event_response(event, conflicts=conflicts, serializer=EventWriteResultSerializer)


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
        with transaction.atomic():  # the answer shows the version this restore made
            event, conflicts = event_services.event_restore(
                event=event,
                actor=request.user,
                reason=change_reason(request, valid),
                conflict_strategy=conflict_strategy(request, valid),
                expected_version=expected_version_of(request, valid),
            )
            event = event_get(user=request.user, event_id=event.pk)
        return event_response(event, conflicts=conflicts, serializer=EventWriteResultSerializer)


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


# --- HTML pages ----------------------------------------------------------------------------------


class QueryTokenAuthentication(JWTAuthentication):
    """`?token=<access>` for the HTML pages only: a browser following a link cannot send a header."""

    def authenticate(self, request):
        raw = request.query_params.get("token")
        if not raw:
            return None
        token = self.get_validated_token(raw.encode())
        return self.get_user(token), token


class QueryTokenScheme(OpenApiAuthenticationExtension):
    target_class = QueryTokenAuthentication
    name = "tokenQuery"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "query",
            "name": "token",
            "description": "An access token in the URL, for the HTML pages only (a browser cannot send a header).",
        }


PAGE_HEADERS = {
    # Nothing on these pages runs or loads from elsewhere, even if escaping ever failed; the token in the
    # URL (if one was used) is neither cached nor sent on as a referrer.
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "private, no-store",
}
HTML_PAGE_SIZE = 50
_PAGE = re.compile(r"[1-9][0-9]{0,29}")


class HtmlPageView(ThrottleRefusalsMixin, APIView):
    renderer_classes = [TemplateHTMLRenderer]
    authentication_classes = [JWTAuthentication, QueryTokenAuthentication, SessionAuthentication]

    def get_renderers(self):
        # OPTIONS answers the view's metadata, as on every API view; there is no template for it.
        if self.request.method == "OPTIONS":
            return [JSONRenderer()]
        return super().get_renderers()

    def page(self, template: str, context: dict) -> Response:
        by_query = isinstance(self.request.successful_authenticator, QueryTokenAuthentication)
        # Links between the pages carry the token on when it came in the URL (a browser has no other way).
        context["query"] = "?" + urlencode({"token": self.request.query_params["token"]}) if by_query else ""
        return Response(context, template_name=template, headers=PAGE_HEADERS)


def _html_version(info: selectors.VersionInfo) -> dict:
    return {
        **VersionSerializer.build(info),
        "size_total": info.size_change.get("total", 0),
        "action_label": Action(info.row.history_action).label.lower(),
    }


@extend_schema(tags=["history"])
class HistoryPageView(HtmlPageView):
    @extend_schema(
        operation_id="events_history_page",
        summary="The event's history as an HTML page (every role)",
        parameters=[ID_PARAMETER, HTML_TOKEN_PARAMETER, OpenApiParameter("page", OpenApiTypes.INT)],
        responses={
            (200, "text/html"): OpenApiResponse(OpenApiTypes.STR, description="An HTML page."),
            **problem_responses(400),  # a page that is not a number from 1
        },
        description=(
            f"Versions newest first, {HTML_PAGE_SIZE} per page, each with links to its diff against the previous "
            "and the current version. Authenticate with a Bearer header, `?token=<access>`, or a Django session."
        ),
    )
    def get(self, request, id):
        event = selectors.event_for_history(user=request.user, event_id=id)
        raw = request.query_params.get("page", "1")
        if not _PAGE.fullmatch(raw):
            raise ValidationError({"page": ["A page number (1, 2, ...)."]})
        pages = (event.version + HTML_PAGE_SIZE - 1) // HTML_PAGE_SIZE
        number = min(int(raw), max(pages, 1))  # past the last page (however far): the last page
        rows = list(
            selectors.versions(event=event, descending=True)[(number - 1) * HTML_PAGE_SIZE : number * HTML_PAGE_SIZE]
        )
        described = selectors.describe_versions(event=event, rows=rows)
        return self.page(
            "history/history.html",
            {
                "event": event,
                "current": event.version,
                "versions": [_html_version(info) for info in described],
                "page_number": number,
                "newer_page": number - 1 if number > 1 else None,
                "older_page": number + 1 if number < pages else None,
            },
        )


@extend_schema(tags=["history"])
class DiffPageView(HtmlPageView):
    @extend_schema(
        operation_id="events_diff_page",
        summary="A side-by-side diff of two versions as an HTML page (every role)",
        parameters=[
            ID_PARAMETER,
            HTML_TOKEN_PARAMETER,
            OpenApiParameter("v1", OpenApiTypes.INT, OpenApiParameter.PATH),
            OpenApiParameter("v2", OpenApiTypes.INT, OpenApiParameter.PATH),
        ],
        responses={(200, "text/html"): OpenApiResponse(OpenApiTypes.STR, description="An HTML page.")},
        description="The older version on the left, the newer on the right, changed words highlighted.",
    )
    def get(self, request, id, v1, v2):
        event = selectors.event_for_history(user=request.user, event_id=id)
        first, second = selectors.versions_pair(event=event, first=v1, second=v2)
        if first.version > second.version:
            first, second = second, first
        old, new = diff.snapshot(first), diff.snapshot(second)
        changes = diff.field_changes(old, new)
        described = {info.row.version: info for info in selectors.describe_versions(event=event, rows=[first, second])}
        rows = []
        for field in diff.FIELDS:
            change = changes.get(field)
            rows.append(
                {
                    "field": field.replace("_", " "),
                    "changed": change is not None,
                    "runs": change.get("diff") if change else None,
                    "old": _display(field, old, change, "old"),
                    "new": _display(field, new, change, "new"),
                }
            )
        return self.page(
            "history/diff.html",
            {
                "event": event,
                "current": event.version,
                "left": _html_version(described[first.version]),
                "right": _html_version(described[second.version]),
                "rows": rows,
                "same": not changes,
                "previous_diff": (first.version - 1, first.version) if first.version > 1 else None,
                "next_diff": (second.version, second.version + 1) if second.version < event.version else None,
            },
        )


def _display(field: str, snap: dict, change: dict | None, side: str) -> str:
    """A field's value as the page shows it."""
    value = snap[field]
    if field in diff.TIME_FIELDS:
        return diff.readable_time(value, snap["timezone"], is_all_day=snap["is_all_day"], is_end=field == "end_time")
    if field == "recurrence_pattern":
        if not value:
            return "does not repeat"
        text = diff.readable_rule(value.get("rrule", ""))
        if value.get("exdates"):
            text += f"; except {len(value['exdates'])} date(s)"
        if value.get("rdates"):
            text += f"; plus {len(value['rdates'])} date(s)"
        return text
    if field == "is_all_day":
        return "yes" if value else "no"
    if field == "exceptions":
        return f"{len(value)} occurrence(s) changed or cancelled" if value else "none"
    return value
