from django.contrib import admin

from .models import Notification


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    """Read-only: notifications are written by the services as changes happen."""

    list_display = ["id", "recipient", "kind", "event_id", "version", "actor", "read_at", "created_at"]
    list_filter = ["kind"]
    search_fields = ["recipient__username"]
    raw_id_fields = ["recipient", "event", "change", "actor"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
