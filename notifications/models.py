"""What clients learn about changes: the per-user change feed (sync), and notifications.

A change to an event is recorded once (`Change`, with the message body) and fanned out to each
user concerned as a `FeedEntry` numbered by that user's own gap-free sequence (`SyncStream`).
`GET /api/sync?cursor=` is then a range scan of (user, seq), and every WebSocket message carries
the position of its entry. Users other than the actor also get a `Notification` to read later.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from history.models import Action


def _announced(action: Action) -> tuple[str, str]:
    """(message type, label) announcing a version that history records as `action`."""
    if action == Action.OCCURRENCE_CHANGED:  # already names what changed
        return action.value, action.label
    if action == Action.SPLIT:
        return f"event_{action.value}", "Series split"
    return f"event_{action.value}", f"Event {action.label.lower()}"


# What happened to the event; a WebSocket message's `type` and a notification's `kind`. The event
# members are the history actions (history/models.py), so a new action is announced without a second
# list; an import's update is announced as `event_updated` (notifications/feed.py). The sharing members
# make no version of the event.
ChangeKind = models.TextChoices(
    "ChangeKind",
    [
        *((action.name, _announced(action)) for action in Action if action != Action.IMPORTED),
        ("SHARED", ("event_shared", "Event shared")),
        ("PERMISSION_CHANGED", ("permission_changed", "Role changed")),
        ("PERMISSION_REMOVED", ("permission_removed", "Collaborator removed")),
        ("ACCESS_REVOKED", ("access_revoked", "Your access was removed")),
    ],
    module=__name__,
)


class FeedKind(models.TextChoices):
    """What a change means for one user's copy of their calendar (`GET /api/sync`)."""

    CREATED = "created", "Created"  # the event entered the user's set (new, shared with them, restored)
    UPDATED = "updated", "Updated"
    DELETED = "deleted", "Deleted"
    ACCESS_LOST = "access_lost", "Access lost"


class Change(models.Model):
    """One change to one event, with the message body every recipient gets (minus their cursor and role)."""

    # The event's id, kept as a plain number: the feed must still say "deleted" after a purge.
    event_id = models.BigIntegerField()
    kind = models.CharField(max_length=32, choices=ChangeKind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    version = models.PositiveIntegerField()
    payload = models.JSONField()
    created_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["created_at"], name="change_created_idx")]

    def __str__(self) -> str:
        return f"{self.kind} {self.event_id} v{self.version}"


class SyncStream(models.Model):
    """A user's position counter. Its row is locked by every transaction that adds to the user's feed,
    so each user's sequence is assigned in commit order (see services._assign_positions)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="sync_stream"
    )
    seq = models.BigIntegerField(default=0)
    # Entries up to here have been pruned: a cursor before it cannot be served (410).
    pruned_through = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.user_id}@{self.seq}"


class FeedEntry(models.Model):
    """Position `seq` of `user`'s change feed."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    seq = models.BigIntegerField()
    change = models.ForeignKey(Change, on_delete=models.CASCADE, related_name="entries")
    event_id = models.BigIntegerField()
    kind = models.CharField(max_length=16, choices=FeedKind.choices)
    # The user made this change: it is in their feed (their other devices need it) but never sent to them live.
    own = models.BooleanField(default=False)
    # The user's role after the change ("" once they lost access), for replaying the message exactly.
    role = models.CharField(max_length=16, blank=True, default="")
    created_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "seq"], name="feed_entry_user_seq_unique")]
        indexes = [models.Index(fields=["created_at"], name="feed_entry_created_idx")]

    def __str__(self) -> str:
        return f"{self.user_id}#{self.seq} {self.kind} {self.event_id}"


class Notification(models.Model):
    """A change someone else made to an event the recipient has (or had) access to."""

    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    event = models.ForeignKey("events.Event", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    change = models.ForeignKey(Change, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    kind = models.CharField(max_length=32, choices=ChangeKind.choices)
    version = models.PositiveIntegerField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    data = models.JSONField(default=dict, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["recipient", "-id"], name="notification_recipient_idx"),
            models.Index(
                fields=["recipient", "-id"],
                condition=models.Q(read_at__isnull=True),
                name="notification_unread_idx",
            ),
            models.Index(fields=["created_at"], name="notification_created_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.event_id} for {self.recipient_id}"
