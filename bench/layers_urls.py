"""The no-op's layers one at a time, for `bench/bench_layers.py`: each view adds one layer to the one before,
the last is the API's own `GET /api/auth/me`. Every one says its answer is bounded (common/answer_cost.py), as
`me` does, so each runs on the event loop's thread as `me` does."""

from django.http import HttpResponse
from django.urls import include, path
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from bench.floor_app import BODY
from common import answer_cost
from common.answer_cost import BoundedAnswers


def middleware(request):
    """A plain Django view behind the API's middleware."""
    answer_cost.bounded(request)
    return HttpResponse(BODY, content_type="application/json")


class Drf(BoundedAnswers, APIView):
    """DRF's request, content negotiation and JSON rendering; no authentication, permission or rate limit."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = []
    schema = None  # not part of the API

    def get(self, request):
        return Response({"hello": "world"})


class Authenticated(Drf):
    """The API's authentication (the token and its revocation check) and permission."""

    authentication_classes = APIView.authentication_classes
    permission_classes = APIView.permission_classes


class RateLimited(Authenticated):
    """The API's rate limits too."""

    throttle_classes = APIView.throttle_classes


urlpatterns = [
    path("bench/layers/middleware", middleware),
    path("bench/layers/drf", Drf.as_view()),
    path("bench/layers/authenticated", Authenticated.as_view()),
    path("bench/layers/rate-limited", RateLimited.as_view()),
    path("", include("config.urls")),
]
