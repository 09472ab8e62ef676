from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from common.answer_cost import BoundedAnswers
from common.fields import parse_id
from common.schema import PAGE_PARAMETERS, problem_responses
from common.throttling import AUTH_THROTTLES, REGISTER_THROTTLES
from common.views import ThrottleRefusalsMixin

from . import services
from .models import AppPassword
from .serializers import (
    AppPasswordInputSerializer,
    AppPasswordSerializer,
    LoginInputSerializer,
    LogoutInputSerializer,
    NewAppPasswordSerializer,
    RefreshInputSerializer,
    RegisterInputSerializer,
    SessionSerializer,
    TokenPairSerializer,
    UserSerializer,
)


class AuthView(ThrottleRefusalsMixin, APIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []  # a stale token must not stop anyone from logging in again
    throttle_classes = AUTH_THROTTLES

    def get_authenticate_header(self, request) -> str:
        # Without authenticators DRF would turn a failed login's 401 into a 403.
        return 'Bearer realm="api"'


class RegisterView(AuthView):
    throttle_classes = REGISTER_THROTTLES

    @extend_schema(
        tags=["auth"],
        operation_id="auth_register",
        request=RegisterInputSerializer,
        responses={201: SessionSerializer, **problem_responses(400, 429)},
        auth=[],
    )
    def post(self, request):
        data = RegisterInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user, pair = services.user_register(**data.validated_data)
        return Response({"user": UserSerializer(user).data, **pair}, status=status.HTTP_201_CREATED)


class LoginView(AuthView):
    @extend_schema(
        tags=["auth"],
        operation_id="auth_login",
        request=LoginInputSerializer,
        responses={200: SessionSerializer, **problem_responses(400, 401, 429)},
        auth=[],
    )
    def post(self, request):
        data = LoginInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user, pair = services.user_login(
            request=request,
            username=data.validated_data.get("username"),
            email=data.validated_data.get("email"),
            password=data.validated_data["password"],
        )
        return Response({**pair, "user": UserSerializer(user).data})


class RefreshView(AuthView):
    @extend_schema(
        tags=["auth"],
        operation_id="auth_refresh",
        request=RefreshInputSerializer,
        responses={200: TokenPairSerializer, **problem_responses(400, 401, 429)},
        auth=[],
        description="A new access and refresh token; the refresh token sent is dead from now on.",
    )
    def post(self, request):
        data = RefreshInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(services.token_refresh(refresh=data.validated_data["refresh"]))


class LogoutView(ThrottleRefusalsMixin, APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        tags=["auth"],
        operation_id="auth_logout",
        request=LogoutInputSerializer,
        responses={
            204: OpenApiResponse(description="Logged out."),
            **problem_responses(400, 401, 429),
        },
        description=(
            "The calling access token and its session's refresh token (and `refresh`, if sent) answer 401 from "
            "now on. A `refresh` that is no longer usable (expired, already rotated or logged out, malformed) is "
            "dead already: it is ignored and the logout still succeeds. A valid `refresh` of another account → "
            "400 (`errors.refresh`) and nothing is revoked."
        ),
    )
    def post(self, request):
        data = LogoutInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if request.auth is None:  # a browser's session (the browsable API): end it
            services.browser_logout(request=request._request)
            return Response(status=status.HTTP_204_NO_CONTENT)
        services.user_logout(user=request.user, access=request.auth, refresh=data.validated_data.get("refresh"))
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeView(BoundedAnswers, ThrottleRefusalsMixin, APIView):
    @extend_schema(tags=["auth"], operation_id="auth_me", responses={200: UserSerializer, **problem_responses(401)})
    def get(self, request):
        return Response(UserSerializer(request.user).data)


class AppPasswordListView(ThrottleRefusalsMixin, GenericAPIView):
    serializer_class = AppPasswordSerializer

    def get_queryset(self):
        return AppPassword.objects.filter(user=self.request.user).order_by("created_at", "id")

    @extend_schema(
        tags=["auth"],
        operation_id="auth_app_passwords_list",
        summary="Your app passwords (never their secrets)",
        parameters=PAGE_PARAMETERS,
        responses={200: AppPasswordSerializer(many=True), **problem_responses(401)},
        description="Oldest first, with when each was last used (to the hour). Paginated (`page`, `page_size`).",
    )
    def get(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(AppPasswordSerializer(page, many=True).data)

    @extend_schema(
        tags=["auth"],
        operation_id="auth_app_passwords_create",
        summary="A new app password, for a calendar app (CalDAV)",
        request=AppPasswordInputSerializer,
        responses={201: NewAppPasswordSerializer, **problem_responses(400, 401, 409)},
        description=(
            "The `password` is in this answer only: it is stored hashed and cannot be shown again. An app signs "
            "in to CalDAV with your username (or email) and this password; your account password is refused "
            f"there. At most {AppPassword.PER_USER_MAX} per account (409 above). Logging out of a session "
            "leaves app passwords working; revoke them one by one, or deactivate the account."
        ),
    )
    def post(self, request):
        data = AppPasswordInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        row, secret = services.app_password_create(user=request.user, name=data.validated_data["name"])
        return Response({**AppPasswordSerializer(row).data, "password": secret}, status=status.HTTP_201_CREATED)


class AppPasswordDetailView(ThrottleRefusalsMixin, APIView):
    @extend_schema(
        tags=["auth"],
        operation_id="auth_app_passwords_revoke",
        summary="Revoke an app password",
        parameters=[OpenApiParameter("id", OpenApiTypes.STR, OpenApiParameter.PATH, description="Its id.")],
        responses={204: OpenApiResponse(description="Revoked."), **problem_responses(401, 404)},
        description="The next request made with it is refused. Another user's app password answers 404.",
    )
    def delete(self, request, id):
        row = get_object_or_404(AppPassword, pk=parse_id(id), user=request.user)
        services.app_password_revoke(user=request.user, app_password=row)
        return Response(status=status.HTTP_204_NO_CONTENT)
