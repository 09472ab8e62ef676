from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from .models import EventPermission


@admin.register(EventPermission)
class EventPermissionAdmin(SimpleHistoryAdmin):
    list_display = ["event", "user", "role", "granted_by", "granted_at"]
    list_filter = ["role"]
    search_fields = ["event__title", "user__username"]
    raw_id_fields = ["event", "user", "granted_by"]
