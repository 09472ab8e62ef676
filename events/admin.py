from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from common.admin import ReadOnlyAdminMixin
from sharing.models import EventPermission

from .models import Event


class PermissionInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = EventPermission
    fk_name = "event"
    extra = 0
    fields = ["user", "role", "granted_by", "granted_at"]
    readonly_fields = fields


@admin.register(Event)
class EventAdmin(ReadOnlyAdminMixin, SimpleHistoryAdmin):
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
    list_select_related = ["owner"]
    inlines = [PermissionInline]
    history_list_display = ["version", "history_action"]
