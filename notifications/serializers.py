"""Notification and sync input and output."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.serializers import UserRefSerializer
from common.fields import StrictCharField
from events.serializers import EventSerializer

from .cursors import MAX_LENGTH as CURSOR_MAX_LENGTH
from .models import ChangeKind, FeedKind, Notification
from .selectors import DEFAULT_LIMIT, MAX_LIMIT


class NotificationSerializer(serializers.ModelSerializer):
    type = serializers.ChoiceField(source="kind", choices=ChangeKind.choices, help_text="What happened.")
    event_id = serializers.IntegerField(
        allow_null=True, help_text="The event concerned (null once it has been purged)."
    )
    version = serializers.IntegerField(help_text="The event's version after the change.")
    actor = UserRefSerializer(allow_null=True, help_text="Who made the change (null if the account is gone).")
    data = serializers.DictField(help_text="Details: `title`, and per type `fields`, `users`, `user`, `role`.")
    read = serializers.SerializerMethodField()

    class Meta:
        model = Notification
        fields = ["id", "type", "event_id", "version", "actor", "data", "read", "read_at", "created_at"]
        read_only_fields = fields

    def get_read(self, notification: Notification) -> bool:
        return notification.read_at is not None


class NotificationListQuerySerializer(serializers.Serializer):
    unread = serializers.BooleanField(
        required=False, allow_null=True, default=None, help_text="true: only unread ones; false: only read ones."
    )


class MarkAllReadSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="How many notifications were unread and are now read.")


class SyncQuerySerializer(serializers.Serializer):
    # No length or blank check here: any cursor we did not issue is a 410, like an expired one.
    cursor = StrictCharField(
        required=False,
        allow_blank=True,
        trim_whitespace=False,
        help_text=(
            f"From the last sync answer or WebSocket message (at most {CURSOR_MAX_LENGTH} characters). "
            "Omit it to start over."
        ),
    )
    limit = serializers.IntegerField(
        required=False, min_value=1, max_value=MAX_LIMIT, help_text=f"Changes per page (default {DEFAULT_LIMIT})."
    )
    page_size = serializers.IntegerField(
        required=False, min_value=1, max_value=MAX_LIMIT, help_text="The same as `limit`."
    )


@extend_schema_field(EventSerializer)
class _EventState(serializers.DictField):
    pass


class SyncChangeSerializer(serializers.Serializer):
    type = serializers.ChoiceField(
        choices=FeedKind.choices,
        help_text=(
            "`created`: the event is (now) in your calendar — new, shared with you, or restored; `updated`: it "
            "changed; both carry `event` in its current state. `deleted`: it was deleted; `access_lost`: it "
            "is no longer shared with you. Remove it in both cases."
        ),
    )
    event_id = serializers.IntegerField()
    version = serializers.IntegerField(help_text="The event's version (current, or when it was deleted or lost).")
    event = _EventState(required=False, help_text="The event now, for created and updated.")


class SyncPageSerializer(serializers.Serializer):
    changes = SyncChangeSerializer(many=True)
    cursor = serializers.CharField(help_text="Send it back as `?cursor=` for what comes next.")
    has_more = serializers.BooleanField(help_text="More changes are waiting: call again with the new cursor.")
