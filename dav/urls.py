from django.urls import re_path

from .views import DavView, server_root, well_known

urlpatterns = [
    re_path(r"^$", server_root, name="dav-server-root"),
    re_path(r"^\.well-known/caldav/?$", well_known, name="dav-well-known"),
    re_path(r"^dav(?P<path>/[\s\S]*)?$", DavView.as_view(), name="dav"),  # any character, newlines too
]
