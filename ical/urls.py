from django.urls import re_path

from common.urls import route

from .views import EventIcsView, EventImportView, FeedCalendarView, FeedDetailView, FeedListView

urlpatterns = [
    route("events/import", EventImportView.as_view(), "event-import"),
    route("events/<id>/ics", EventIcsView.as_view(), "event-ics"),
    route("feeds", FeedListView.as_view(), "feed-list"),
    route("feeds/<id>", FeedDetailView.as_view(), "feed-detail"),
    re_path(r"^feed/(?P<secret>[^/]+)\.ics/?$", FeedCalendarView.as_view(), name="feed-calendar"),
]
