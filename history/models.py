"""What every historical event row records besides the event's own fields, and the audit trail."""

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone
from simple_history.models import HistoricalRecords

# How long a deleted event can be restored by its owners.
RESTORE_WINDOW = timedelta(days=30)


class Action(models.TextChoices):
    CREATED = "created", "Created"
    UPDATED = "updated", "Updated"
    ROLLED_BACK = "rolled_back", "Rolled back"
    OCCURRENCE_CHANGED = "occurrence_changed", "Occurrence changed"
    SPLIT = "split", "Split"
    DELETED = "deleted", "Deleted"
    RESTORED = "restored", "Restored"
    # An update made by an iCalendar import (an imported new event's first version is `created`).
    IMPORTED = "imported", "Imported"


class EventVersionFields(models.Model):
    """Base of the historical event model (django-simple-history `bases=`)."""

    history_action = models.CharField(max_length=32, choices=Action.choices, default=Action.UPDATED)

    class Meta:
        abstract = True


class EventHistoricalRecords(HistoricalRecords):
    """simple-history for events, with the database guarding "one row per version"."""

    def get_meta_options(self, model):
        meta = super().get_meta_options(model)
        meta["constraints"] = [
            # "-" rows are written by hard deletes (purges), which repeat the last version number.
            models.UniqueConstraint(
                fields=["id", "version"],
                condition=~models.Q(history_type="-"),
                name="event_history_one_row_per_version",
            )
        ]
        meta["indexes"] = [models.Index(fields=["id", "history_date"], name="event_history_id_date_idx")]
        return meta


class AuditQuerySet(models.QuerySet):
    """The trail is append-only: rows are never changed or deleted through the ORM."""

    def update(self, **kwargs):
        raise TypeError("Audit entries are append-only.")

    def delete(self):
        raise TypeError("Audit entries are append-only.")


class AuditEntry(models.Model):
    """One operation: who did what to which target, when, from where (IP, user agent, request id)."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # The actor's username at the time: the trail stays readable if the account is renamed or removed.
    actor_username = models.CharField(max_length=150, blank=True, default="")
    action = models.CharField(max_length=64)
    target_type = models.CharField(max_length=32, blank=True, default="")
    target_id = models.CharField(max_length=64, blank=True, default="")
    data = models.JSONField(default=dict, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=512, blank=True, default="")
    request_id = models.CharField(max_length=128, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)

    objects = AuditQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "audit entries"
        indexes = [
            models.Index(fields=["created_at", "id"], name="audit_created_idx"),
            models.Index(fields=["actor", "created_at"], name="audit_actor_idx"),
            models.Index(fields=["action", "created_at"], name="audit_action_idx"),
            models.Index(fields=["target_type", "target_id", "created_at"], name="audit_target_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.actor_username or '-'} {self.action}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise TypeError("Audit entries are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError("Audit entries are append-only.")


class HistoryLink(models.Model):
    """A read-only, revocable link to one event's history pages, made by someone who can see the event.

    Whoever holds the URL reads the history, diff, compare and version pages of that event as its creator
    would now (their access is checked on every request). Only the digest of the URL's secret is stored
    (common/secret_tokens.py); the secret is shown once, in the create answer.
    """

    PER_EVENT_MAX = 20  # live links per creator and event

    event = models.ForeignKey("events.Event", on_delete=models.CASCADE, related_name="history_links")
    creator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="history_links")
    digest = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)  # null: until revoked
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["creator", "event", "created_at"], name="history_link_creator_idx")]

    def __str__(self) -> str:
        return f"history link {self.pk} of event {self.event_id}"
