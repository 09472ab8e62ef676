"""Admin plumbing shared by the apps."""


class ReadOnlyAdminMixin:
    """View-only admin for models whose every write must go through a service.

    Saving an event or a permission from the admin would skip what the services do with each
    change (the next version number, the owner rule, audit, notifications, the sync feed, cache
    invalidation), so staff look here and change things through the API.
    """

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
