from common.urls import route

from . import pages, views

# Included before events.urls: `events/deleted` must not be read as the event with id "deleted".
urlpatterns = [
    route("api/events/deleted", views.DeletedEventsView.as_view(), "events-deleted"),
    route("api/events/<id>/history", views.EventHistoryView.as_view(), "event-history"),
    route("api/events/<id>/history/<version>", views.EventVersionView.as_view(), "event-version"),
    route("api/events/<id>/history-links", views.HistoryLinkListView.as_view(), "event-history-links"),
    route("api/events/<id>/history-links/<link_id>", views.HistoryLinkDetailView.as_view(), "event-history-link"),
    route("api/events/<id>/changelog", views.EventChangelogView.as_view(), "event-changelog"),
    route("api/events/<id>/diff/<v1>/<v2>", views.EventDiffView.as_view(), "event-diff"),
    route("api/events/<id>/rollback/<version>", views.EventRollbackView.as_view(), "event-rollback"),
    route("api/events/<id>/restore", views.EventRestoreView.as_view(), "event-restore"),
    route("api/audit", views.AuditListView.as_view(), "audit-list"),
    # HTML pages for people (see docs in the README): outside /api, server-rendered, no external assets.
    route("events/<id>/history", pages.HistoryPageView.as_view(), "event-history-page"),
    route("events/<id>/diff/<v1>/<v2>", pages.DiffPageView.as_view(), "event-diff-page"),
    route("events/<id>/compare", pages.ComparePageView.as_view(), "event-compare-page"),
    route("events/<id>/version/<version>", pages.VersionPageView.as_view(), "event-version-page"),
]
