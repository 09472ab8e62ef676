from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from common.schema import problem_responses
from common.throttling import AUTH_THROTTLES, REGISTER_THROTTLES
from common.views import ThrottleRefusalsMixin

from . import services
from .serializers import (
    LoginInputSerializer,
    LogoutInputSerializer,
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


class MeView(ThrottleRefusalsMixin, APIView):
    @extend_schema(tags=["auth"], operation_id="auth_me", responses={200: UserSerializer, **problem_responses(401)})
    def get(self, request):
        return Response(UserSerializer(request.user).data)
