from django.contrib import admin

from .models import AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """Read-only: the trail is append-only, so nobody adds, changes or deletes entries here."""

    list_display = ["created_at", "actor_username", "action", "target_type", "target_id", "ip", "request_id"]
    list_filter = ["action", "target_type"]
    search_fields = ["actor_username", "action", "target_id", "request_id", "ip"]
    date_hierarchy = "created_at"
    list_select_related = ["actor"]
    readonly_fields = [field.name for field in AuditEntry._meta.fields]
    show_full_result_count = False  # a count over the whole trail on every page would be slow

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
