from django.conf import settings
from django.db import models
from simple_history.models import HistoricalRecords

from .roles import Role


class EventPermission(models.Model):
    """`user` holds `role` on `event`. The creator's owner permission is made with the event."""

    event = models.ForeignKey("events.Event", on_delete=models.CASCADE, related_name="permissions")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="event_permissions")
    role = models.CharField(max_length=16, choices=Role.choices)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    granted_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # The event's start and whether it is live (not deleted), kept by the database itself: triggers
    # (sharing/migrations/0002_calendar_order.py) set them on every insert and update of this row and of its
    # event, whatever wrote it (a service, CalDAV, an import, the admin, a queryset's update()). Code never
    # writes them. With the index below, a calendar's page is read in order from the caller's own permissions
    # and its size counted from them alone (events/selectors.py CalendarPages).
    event_start = models.DateTimeField(null=True, editable=False)
    event_live = models.BooleanField(null=True, editable=False)

    # Grants, role changes and removals, for the event's changelog.
    history = HistoricalRecords(excluded_fields=["updated_at", "event_start", "event_live"])

    class Meta:
        ordering = ["granted_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["event", "user"], name="permission_event_user_unique"),
            models.CheckConstraint(condition=models.Q(role__in=Role.values), name="permission_role_valid"),
        ]
        indexes = [
            models.Index(fields=["user", "event"], name="permission_user_event_idx"),
            models.Index(
                fields=["user", "event_start", "event"],
                name="permission_calendar_idx",
                condition=models.Q(event_live=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.role} on {self.event_id}"
