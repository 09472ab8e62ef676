from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from sharing.models import EventPermission

from .models import Event


class PermissionInline(admin.TabularInline):
    model = EventPermission
    fk_name = "event"
    extra = 0
    raw_id_fields = ["user", "granted_by"]
    readonly_fields = ["granted_at"]


@admin.register(Event)
class EventAdmin(SimpleHistoryAdmin):
    list_display = [
        "id",
        "title",
        "owner",
        "start_time",
        "end_time",
        "timezone",
        "is_recurring",
        "version",
        "deleted_at",
    ]
    list_filter = ["is_recurring", "is_all_day"]
    search_fields = ["title", "location", "owner__username"]
    raw_id_fields = ["owner"]
    readonly_fields = ["version", "series_end", "is_recurring", "created_at", "updated_at"]
    inlines = [PermissionInline]
    history_list_display = ["version", "history_action"]
