from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from .models import AppPassword, User
from .services import app_password_revoke


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ["username", "email", "is_active", "is_staff", "date_joined"]
    search_fields = ["username", "email"]


@admin.register(AppPassword)
class AppPasswordAdmin(admin.ModelAdmin):
    """Staff see and revoke (delete) app passwords; the secret is never stored, and its digest cannot be edited."""

    list_display = ["name", "user", "created_at", "last_used_at"]
    list_select_related = ["user"]
    search_fields = ["name", "user__username", "user__email"]
    readonly_fields = ["user", "name", "digest", "created_at", "last_used_at"]

    def has_add_permission(self, request) -> bool:
        return False  # a password made here could not be shown to its owner: they make their own

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def delete_model(self, request, obj) -> None:
        app_password_revoke(user=obj.user, app_password=obj, actor=request.user)

    def delete_queryset(self, request, queryset) -> None:
        for obj in queryset.select_related("user"):
            app_password_revoke(user=obj.user, app_password=obj, actor=request.user)
