"""ASGI entry point: HTTP through Django, WebSockets through Channels."""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
# Django must be set up before the routing imports models.
django.setup(set_prefix=False)

from common.asgi_handler import OneTripASGIHandler  # noqa: E402

# Each request in one trip to a worker thread (Django's own handler makes six), a quick read with nothing else in
# flight on the loop's own thread: common/asgi_handler.py.
django_asgi_app = OneTripASGIHandler()

from common.declared_input import operations  # noqa: E402

# What each operation takes is read from the OpenAPI schema (common/declared_input.py); build it now, at
# start-up, rather than in the first request each worker serves.
operations()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from notifications.auth import BrowserOriginValidator, JWTAuthMiddleware  # noqa: E402
from notifications.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": BrowserOriginValidator(JWTAuthMiddleware(URLRouter(websocket_urlpatterns))),
    }
)
