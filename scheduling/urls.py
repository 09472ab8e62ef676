from common.urls import route

from .views import ConflictListView, FreeBusyView

# Included before events.urls: its /events/{id} would take "conflicts" for an id.
urlpatterns = [
    route("events/conflicts", ConflictListView.as_view(), "event-conflicts"),
    route("freebusy", FreeBusyView.as_view(), "freebusy"),
]
