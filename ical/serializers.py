"""iCalendar endpoints' inputs and outputs."""

from __future__ import annotations

from rest_framework import serializers

from common.fields import StrictCharField
from events.serializers import CONFLICT_STRATEGIES, REASON_MAX, validated_timezone

from .models import NAME_MAX, Feed


class ImportQuerySerializer(serializers.Serializer):
    conflict_strategy = serializers.ChoiceField(
        choices=CONFLICT_STRATEGIES, required=False, default="warn", help_text="warn (default), reject or allow."
    )
    dry_run = serializers.BooleanField(required=False, default=False, help_text="Answer the same, save nothing.")
    timezone = StrictCharField(
        required=False,
        default="UTC",
        max_length=64,
        help_text="IANA zone of floating times and all-day events (default UTC).",
    )
    change_reason = StrictCharField(required=False, allow_blank=True, max_length=REASON_MAX)

    def validate_timezone(self, value: str) -> str:
        return validated_timezone(value)


class ImportErrorSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="Position of the object's VEVENT among the file's VEVENTs (from 0).")
    uid = serializers.CharField(allow_null=True)
    errors = serializers.ListField(child=serializers.CharField())


class ImportResultSerializer(serializers.Serializer):
    created = serializers.ListField(
        child=serializers.IntegerField(allow_null=True), help_text="Ids of new events (null in a dry run)."
    )
    updated = serializers.ListField(child=serializers.IntegerField(), help_text="Ids of events changed.")
    unchanged = serializers.ListField(child=serializers.IntegerField(), help_text="Ids of events already equal.")
    conflicts = serializers.ListField(
        child=serializers.DictField(), help_text="[{index, uid, event_id, conflicts}] accepted under warn."
    )
    skipped = serializers.DictField(
        child=serializers.IntegerField(), help_text="Components not imported, by name: {VTODO: n, VJOURNAL: n}."
    )
    dry_run = serializers.BooleanField()


class FeedInputSerializer(serializers.Serializer):
    name = StrictCharField(min_length=1, max_length=NAME_MAX)


class FeedSerializer(serializers.ModelSerializer):
    class Meta:
        model = Feed
        fields = ["id", "name", "created_at", "last_used_at"]
        read_only_fields = fields


class FeedCreatedSerializer(FeedSerializer):
    url = serializers.CharField(help_text="The feed's URL; it holds the secret and is shown only in this answer.")
    webcal_url = serializers.CharField(help_text="The same URL with webcal://, for calendar apps.")

    class Meta(FeedSerializer.Meta):
        fields = ["id", "name", "url", "webcal_url", "created_at", "last_used_at"]
        read_only_fields = fields
