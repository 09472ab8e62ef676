"""Notification and sync endpoints: each reads through a selector or calls one service."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from common.fields import query_data
from common.schema import PAGE_PARAMETERS, problem_responses
from common.views import ThrottleRefusalsMixin
from events.selectors import parse_id

from . import cursors, mark_read, retention, selectors
from .serializers import (
    MarkAllReadSerializer,
    NotificationListQuerySerializer,
    NotificationSerializer,
    SyncPageSerializer,
    SyncQuerySerializer,
)

RETENTION_NOTE = (
    f"Changes are kept {retention.retention_days()} days (`manage.py prune_notifications`, run daily); "
    "a cursor older than what is kept answers 410."
)


class NotificationListView(ThrottleRefusalsMixin, GenericAPIView):
    serializer_class = NotificationSerializer

    def get_queryset(self):
        query = NotificationListQuerySerializer(data=query_data(self.request.query_params))
        query.is_valid(raise_exception=True)
        return selectors.notifications_for(user=self.request.user, unread=query.validated_data["unread"])

    @extend_schema(
        tags=["notifications"],
        operation_id="notifications_list",
        summary="Your notifications, newest first",
        parameters=[NotificationListQuerySerializer, *PAGE_PARAMETERS],
        responses={200: NotificationSerializer(many=True), **problem_responses(400)},
        description=(
            "What others changed on events you have (or had) access to: one notification per change, "
            "linking the event and its version. Paginated (`page`, `page_size`). " + RETENTION_NOTE
        ),
    )
    def get(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(NotificationSerializer(page, many=True).data)


class NotificationReadView(ThrottleRefusalsMixin, APIView):
    @extend_schema(
        tags=["notifications"],
        operation_id="notifications_read",
        summary="Mark one notification read",
        parameters=[OpenApiParameter("id", OpenApiTypes.STR, OpenApiParameter.PATH, description="Its id.")],
        request=None,
        responses={200: NotificationSerializer},
        description="Marking a read notification again changes nothing. Other users' notifications answer 404.",
    )
    def post(self, request, id):
        notification = mark_read.notification_mark_read(user=request.user, notification_id=parse_id(id))
        return Response(NotificationSerializer(notification).data)


class NotificationReadAllView(ThrottleRefusalsMixin, APIView):
    @extend_schema(
        tags=["notifications"],
        operation_id="notifications_read_all",
        summary="Mark all your notifications read",
        request=None,
        responses={200: MarkAllReadSerializer},
    )
    def post(self, request):
        return Response({"count": mark_read.notifications_mark_all_read(user=request.user)})


class SyncView(ThrottleRefusalsMixin, APIView):
    @extend_schema(
        tags=["sync"],
        operation_id="sync",
        summary="What changed for you since a cursor",
        parameters=[SyncQuerySerializer],
        responses={200: SyncPageSerializer, **problem_responses(400, 410)},
        description=(
            "Without `cursor`: your current events (as `created` changes), paged by `limit`, then a cursor. "
            "With one: everything that changed for you since, oldest first — events created or updated (in "
            "their current state), deleted, or no longer shared with you — one entry per event per page. "
            "Call again with the returned `cursor` while `has_more` is true. Nothing is missed and nothing "
            "comes twice, also across concurrent writes. Every WebSocket message carries the cursor of its "
            "change: resume from the last one you received. Changes you made yourself are included "
            "(your other devices need them), although the WebSocket never sends them to you. "
            + RETENTION_NOTE
            + " An invalid, foreign or too old cursor answers 410: call again without one."
        ),
    )
    def get(self, request):
        query = SyncQuerySerializer(data=query_data(request.query_params))
        query.is_valid(raise_exception=True)
        valid = query.validated_data
        limit = valid.get("limit") or valid.get("page_size") or selectors.DEFAULT_LIMIT
        cursor = None
        if "cursor" in valid:
            try:
                cursor = cursors.decode(valid["cursor"], user_id=request.user.pk)
            except cursors.InvalidCursor:
                raise cursors.CursorGone() from None
        page = selectors.sync_page(user=request.user, cursor=cursor, limit=limit)  # CursorGone → 410
        return Response({"changes": page.changes, "cursor": cursors.encode(page.cursor), "has_more": page.has_more})
