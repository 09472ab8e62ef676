from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerView

from accounts.session_views import BrowserLoginView, BrowserLogoutView
from common.schema_view import CachedSpectacularAPIView
from common.views import ApiNotFoundView

handler400 = "common.views.bad_request"
handler403 = "common.views.permission_denied"
handler404 = "common.views.not_found"
handler500 = "common.views.server_error"

urlpatterns = [
    path("admin/", admin.site.urls),
    # A browser's way in (the browsable API and the history pages); the names the browsable API links to.
    path(
        "session/",
        include(
            (
                [
                    re_path(r"^login/?$", BrowserLoginView.as_view(), name="login"),
                    re_path(r"^logout/?$", BrowserLogoutView.as_view(), name="logout"),
                ],
                "rest_framework",
            )
        ),
    ),
    path("", include("dav.urls")),  # CalDAV (/dav/) and its discovery (/.well-known/caldav)
    path("api/", include("accounts.urls")),
    path("", include("history.urls")),  # before events.urls: it routes /api/events/deleted
    path("api/", include("ical.urls")),  # before events.urls: its router would take "import" for an event id
    path("api/", include("scheduling.urls")),  # before events.urls: it routes /api/events/conflicts
    path("api/", include("events.urls")),
    path("api/", include("sharing.urls")),
    path("api/", include("notifications.urls")),
    path("", include("transactions.urls")),
    re_path(r"^api/schema/?$", CachedSpectacularAPIView.as_view(), name="schema"),
    re_path(r"^api/schema/swagger-ui/?$", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    re_path(r"^api/schema/redoc/?$", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
    # Last: any other path under /api/ is a 404 problem that went through the throttles (RateLimit headers).
    re_path(r"^api/.*$", ApiNotFoundView.as_view(), name="api-not-found"),
]
