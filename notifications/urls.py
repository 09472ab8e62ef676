from common.urls import route

from . import views

urlpatterns = [
    route("notifications", views.NotificationListView.as_view(), "notifications"),
    route("notifications/read", views.NotificationReadAllView.as_view(), "notifications-read-all"),
    route("notifications/<id>/read", views.NotificationReadView.as_view(), "notification-read"),
    route("sync", views.SyncView.as_view(), "sync"),
]
