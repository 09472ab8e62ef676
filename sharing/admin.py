from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from common.admin import ReadOnlyAdminMixin

from .models import EventPermission


@admin.register(EventPermission)
class EventPermissionAdmin(ReadOnlyAdminMixin, SimpleHistoryAdmin):
    list_display = ["event", "user", "role", "granted_by", "granted_at"]
    list_filter = ["role"]
    search_fields = ["event__title", "user__username"]
    list_select_related = ["event", "user", "granted_by"]
