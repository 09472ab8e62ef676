from common.urls import OptionalSlashRouter, route

from .calendar_views import ConflictListView, FreeBusyView
from .occurrence_views import OccurrenceDetailView
from .views import EventViewSet

router = OptionalSlashRouter()
router.register("events", EventViewSet, basename="event")

urlpatterns = [
    # Before the router: its /events/{id} would take "conflicts" for an id.
    route("events/conflicts", ConflictListView.as_view(), "event-conflicts"),
    route("events/<id>/occurrences/<original_start>", OccurrenceDetailView.as_view(), "event-occurrence"),
    route("freebusy", FreeBusyView.as_view(), "freebusy"),
    *router.urls,
]
