"""Sharing endpoints under /api/events/{id}/."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from common.fields import parse_id
from common.schema import problem_responses
from common.views import ThrottleRefusalsMixin
from events.selectors import event_get

from . import services
from .permissions import require_role
from .roles import Role
from .selectors import permissions_for_event
from .serializers import PermissionListSerializer, PermissionSerializer, RoleInputSerializer, ShareInputSerializer

ID = OpenApiParameter("id", OpenApiTypes.STR, OpenApiParameter.PATH, description="The event's id.")
USER_ID = OpenApiParameter(
    "user_id", OpenApiTypes.STR, OpenApiParameter.PATH, description="The collaborator's user id."
)


def _permissions_answer(event) -> Response:
    return Response({"results": PermissionSerializer(permissions_for_event(event=event), many=True).data})


class ShareView(ThrottleRefusalsMixin, APIView):
    @extend_schema(
        tags=["sharing"],
        operation_id="events_share",
        summary="Share an event (owners)",
        parameters=[ID],
        request=ShareInputSerializer,
        responses={200: PermissionListSerializer, **problem_responses(403, 409)},
        description=(
            "Grants each user their role (changing a role they already hold). Answers the whole permissions list."
        ),
    )
    def post(self, request, id):
        event = event_get(user=request.user, event_id=id, detail=False)
        require_role(event, Role.OWNER)
        data = ShareInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.event_share(event=event, actor=request.user, targets=data.validated_data["users"])
        return _permissions_answer(event)


class PermissionListView(ThrottleRefusalsMixin, APIView):
    @extend_schema(
        tags=["sharing"],
        operation_id="events_permissions_list",
        summary="Who has which role (every collaborator may look)",
        parameters=[ID],
        responses={200: PermissionListSerializer},
    )
    def get(self, request, id):
        event = event_get(user=request.user, event_id=id, detail=False)
        return _permissions_answer(event)


class PermissionDetailView(ThrottleRefusalsMixin, APIView):
    @extend_schema(
        tags=["sharing"],
        operation_id="events_permissions_update",
        summary="Change a collaborator's role (owners)",
        parameters=[ID, USER_ID],
        request=RoleInputSerializer,
        responses={200: PermissionSerializer, **problem_responses(403, 409)},
    )
    def put(self, request, id, user_id):
        event = event_get(user=request.user, event_id=id, detail=False)
        require_role(event, Role.OWNER)
        data = RoleInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        permission = services.permission_set_role(
            event=event, actor=request.user, user_id=parse_id(user_id), role=data.validated_data["role"]
        )
        return Response(PermissionSerializer(permission).data)

    @extend_schema(
        tags=["sharing"],
        operation_id="events_permissions_destroy",
        summary="Remove a collaborator (owners; anyone may remove themselves)",
        parameters=[ID, USER_ID],
        responses={204: OpenApiResponse(description="Removed."), **problem_responses(403, 409)},
    )
    def delete(self, request, id, user_id):
        event = event_get(user=request.user, event_id=id, detail=False)
        target = parse_id(user_id)
        if target != request.user.pk:  # leaving an event needs no special role
            require_role(event, Role.OWNER)
        services.permission_revoke(event=event, actor=request.user, user_id=target)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        tags=["sharing"],
        operation_id="events_permissions_partial_update",
        summary="Change a collaborator's role (owners); the same as PUT",
        parameters=[ID, USER_ID],
        request=RoleInputSerializer,
        responses={200: PermissionSerializer, **problem_responses(403, 409)},
    )
    def patch(self, request, id, user_id):
        return self.put(request, id, user_id)
