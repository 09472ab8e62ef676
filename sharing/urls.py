from common.urls import route

from . import views

urlpatterns = [
    route("events/<id>/share", views.ShareView.as_view(), "event-share"),
    route("events/<id>/permissions", views.PermissionListView.as_view(), "event-permissions"),
    route("events/<id>/permissions/<user_id>", views.PermissionDetailView.as_view(), "event-permission"),
]
