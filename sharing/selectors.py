from django.db.models import QuerySet

from .models import EventPermission


def permissions_for_event(*, event) -> QuerySet[EventPermission]:
    """Everyone who holds a role on `event`, oldest grant first, users joined in."""
    return EventPermission.objects.filter(event=event).select_related("user", "granted_by").order_by("granted_at", "id")
