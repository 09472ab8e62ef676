from common.urls import OptionalSlashRouter, route

from .occurrence_views import OccurrenceDetailView
from .views import EventViewSet

router = OptionalSlashRouter()
router.register("events", EventViewSet, basename="event")

urlpatterns = [
    route("events/<id>/occurrences/<original_start>", OccurrenceDetailView.as_view(), "event-occurrence"),
    *router.urls,
]
