"""Django's own floor: the answer of `bench/floor_app.py` from a plain Django view, through our handler
(common/asgi_handler.py), with no middleware, no database, no DRF; said bounded, so it runs on the event loop's
thread as the API's quick reads do.

`bench/bench_requests.py` measures it in the same run as the bare ASGI floor (`floor+django`): what a request
costs before anything of ours but the handler runs (the request and response objects, the signals, URL
resolution). The API's calls are that plus authentication, the rate limit, negotiation, the view and rendering.
"""

from django.conf import settings

settings.configure(
    DEBUG=False,
    SECRET_KEY="floor",
    ALLOWED_HOSTS=["127.0.0.1", "localhost"],
    ROOT_URLCONF=__name__,
    MIDDLEWARE=[],
    INSTALLED_APPS=[],
    DATABASES={},
    USE_TZ=True,
)

import django  # noqa: E402

django.setup(set_prefix=False)

from django.http import HttpResponse  # noqa: E402
from django.urls import path  # noqa: E402

from bench.floor_app import BODY  # noqa: E402
from common import answer_cost  # noqa: E402
from common.asgi_handler import OneTripASGIHandler  # noqa: E402


def hello(request):
    answer_cost.bounded(request)
    response = HttpResponse(BODY, content_type="application/json")
    response["Content-Length"] = str(len(BODY))  # as the bare floor sends (the API's CommonMiddleware adds it)
    return response


urlpatterns = [path("", hello)]

application = OneTripASGIHandler()
