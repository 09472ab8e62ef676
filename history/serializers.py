"""History output (and the few inputs: rollback/restore bodies, audit filters, time travel, history links)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema_field
from rest_framework import serializers

from accounts.serializers import UserRefSerializer
from common.fields import MAX_ID, BoundedDateTimeField, StrictCharField
from events import content
from events.serializers import EventSerializer, WriteOptionsMixin

from . import selectors
from .models import Action, AuditEntry

CHANGELOG_ACTIONS = [*Action.values, "permission_granted", "permission_changed", "permission_revoked"]


@extend_schema_field(
    {
        "type": "object",
        "description": "What an imported iCalendar object carried that no other field models, written back in every "
        "iCalendar answer: `lines` (its other properties and components, as unfolded content lines), `params` (the "
        "parameters of modelled properties, by property), and markers (`no_summary`, `no_rrule`, `instant`). `{}` "
        "when there is none. The diff names changes to it `ical_extra` too.",
        "properties": {
            "lines": {"type": "array", "items": {"type": "string"}},
            "params": {
                "type": "object",
                "additionalProperties": {"type": "object", "additionalProperties": {"type": "string"}},
            },
            "no_summary": {"type": "boolean"},
            "no_rrule": {"type": "boolean"},
            "instant": {"type": "string", "enum": ["DTSTART", "DTEND", "DURATION"]},
        },
    }
)
class IcalExtraField(serializers.JSONField):
    pass


class VersionDataSerializer(serializers.Serializer):
    """The event's fields as they were at one version (times with the offset of that version's zone)."""

    id = serializers.IntegerField()
    uid = serializers.CharField(help_text="The iCalendar UID.")
    ical_extra = IcalExtraField()
    version = serializers.IntegerField()
    owner = UserRefSerializer(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField(source="history_date", help_text="When this version was made.")
    deleted_at = serializers.DateTimeField(allow_null=True, help_text="Set when this version is a deletion.")

    def get_fields(self) -> dict[str, serializers.Field]:
        """Every content member of the event's own answer (events/content.py), as EventSerializer types it."""
        own = super().get_fields()
        shown = EventSerializer().get_fields()
        members = {name: shown[name] for name, _ in content.MEMBERS}
        return {"id": own.pop("id"), "uid": own.pop("uid"), **members, **own}


class VersionSerializer(serializers.Serializer):
    """One version: who made it, when, why, and what it changed from the version before."""

    version = serializers.IntegerField(help_text="1, 2, 3 ... per event; the `versionId` of the URLs.")
    changed_at = serializers.DateTimeField()
    changed_by = UserRefSerializer(allow_null=True)
    action = serializers.ChoiceField(choices=Action.choices)
    change_reason = serializers.CharField(allow_null=True)
    changed_fields = serializers.ListField(child=serializers.CharField())
    size_change = serializers.DictField(
        child=serializers.IntegerField(),
        help_text="Characters gained (negative: lost) per changed text field, and `total`.",
    )
    summary = serializers.CharField()
    rolled_back_to = serializers.IntegerField(allow_null=True, help_text="For a rollback: the version restored.")

    @staticmethod
    def build(info: selectors.VersionInfo) -> dict:
        row = info.row
        return {
            "version": row.version,
            "changed_at": row.history_date,
            "changed_by": row.history_user,
            "action": row.history_action,
            "change_reason": row.history_change_reason,
            "changed_fields": info.changed_fields,
            "size_change": info.size_change,
            "summary": info.summary,
            "rolled_back_to": info.rolled_back_to,
        }


class VersionDetailSerializer(VersionSerializer):
    data = VersionDataSerializer(help_text="The event's fields at this version.")


class PermissionChangeSerializer(serializers.Serializer):
    user = UserRefSerializer(allow_null=True)
    user_id = serializers.IntegerField()
    role = serializers.CharField()
    old_role = serializers.CharField(allow_null=True)


class ChangelogEntrySerializer(serializers.Serializer):
    """A version (kind `version`) or a sharing change (kind `sharing`: granted, changed, revoked)."""

    kind = serializers.ChoiceField(choices=["version", "sharing"])
    version = serializers.IntegerField(allow_null=True, help_text="Null for sharing changes (they make no version).")
    changed_at = serializers.DateTimeField(source="at")
    changed_by = UserRefSerializer(allow_null=True, source="actor")
    action = serializers.CharField(help_text="A version's action, or for sharing: " + ", ".join(CHANGELOG_ACTIONS[-3:]))
    changed_fields = serializers.ListField(child=serializers.CharField())
    summary = serializers.CharField(help_text="A readable sentence, e.g. \"changed the title from 'A' to 'B'\".")
    change_reason = serializers.CharField(allow_null=True)
    size_change = serializers.DictField(child=serializers.IntegerField(), allow_null=True)
    permission = PermissionChangeSerializer(allow_null=True)


@extend_schema_field(
    {
        "type": "object",
        "additionalProperties": {
            "type": "object",
            "properties": {
                "old": {"description": "The value at from_version (times: RFC 3339 in that version's zone)."},
                "new": {"description": "The value at to_version."},
                "diff": {
                    "type": "array",
                    "description": "Text fields: word-level runs; equal+delete spell old, equal+insert spell new.",
                    "items": {
                        "type": "object",
                        "properties": {
                            "op": {"type": "string", "enum": ["equal", "delete", "insert"]},
                            "text": {"type": "string"},
                        },
                    },
                },
                "size_change": {"type": "integer", "description": "Text fields: characters gained or lost."},
                "old_display": {"type": "string", "nullable": True, "description": "Times and recurrence: readable."},
                "new_display": {"type": "string", "nullable": True},
                "exdates_added": {"type": "array", "items": {"type": "string", "format": "date-time"}},
                "exdates_removed": {"type": "array", "items": {"type": "string", "format": "date-time"}},
                "rdates_added": {"type": "array", "items": {"type": "string", "format": "date-time"}},
                "rdates_removed": {"type": "array", "items": {"type": "string", "format": "date-time"}},
            },
            "required": ["old", "new"],
        },
    }
)
class ChangesField(serializers.DictField):
    pass


class DiffSerializer(serializers.Serializer):
    from_version = serializers.IntegerField()
    to_version = serializers.IntegerField()
    changes = ChangesField(help_text="Only the fields that differ, under their API names.")


class HistoryOrderSerializer(serializers.Serializer):
    order = serializers.ChoiceField(choices=["asc", "desc"], required=False, default="asc")


class RollbackInputSerializer(WriteOptionsMixin, serializers.Serializer):
    write_options = ("change_reason", "conflict_strategy", "base_version", "on_conflict")


class DeletedEventSerializer(EventSerializer):
    deleted_at = serializers.DateTimeField()
    restorable_until = serializers.SerializerMethodField()

    class Meta(EventSerializer.Meta):
        fields = [*EventSerializer.Meta.fields, "deleted_at", "restorable_until"]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.DATETIME)
    def get_restorable_until(self, event) -> str:
        return serializers.DateTimeField().to_representation(event.deleted_at + selectors.RESTORE_WINDOW)


class AsOfQuerySerializer(serializers.Serializer):
    as_of = BoundedDateTimeField(help_text="RFC 3339: answer with the events as they were at that moment.")


AS_OF_PARAMETER = OpenApiParameter(
    "as_of",
    OpenApiTypes.DATETIME,
    description=(
        "RFC 3339 (without an offset: UTC). Time travel: the events you can see now (and, for their owners, "
        "events deleted since), as they were at that moment; an event that did not exist yet or was deleted "
        "then is absent (404 for one event). `updated_at` is when that version was made; `permissions` are "
        "those of that moment."
    ),
)


def parse_as_of(request) -> datetime | None:
    """The `as_of` query parameter as an aware datetime, None when absent; 400 when malformed."""
    if "as_of" not in request.query_params:
        return None
    query = AsOfQuerySerializer(data={"as_of": request.query_params["as_of"]})
    query.is_valid(raise_exception=True)
    return query.validated_data["as_of"]


class AuditQuerySerializer(serializers.Serializer):
    actor = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID, help_text="The acting user's id.")
    action = StrictCharField(
        required=False, max_length=64, help_text="An action (`event.updated`), or a prefix ending in '.' (`auth.`)."
    )
    target_type = StrictCharField(required=False, max_length=32, help_text="`event`, `user`, ...")
    target_id = StrictCharField(required=False, max_length=64)
    since = BoundedDateTimeField(required=False, help_text="Entries at or after this time.")
    until = BoundedDateTimeField(required=False, help_text="Entries before this time.")

    def validate(self, attrs):
        if attrs.get("since") and attrs.get("until") and attrs["until"] <= attrs["since"]:
            raise serializers.ValidationError({"until": ["until must be after since."]})
        return attrs


class AuditEntrySerializer(serializers.ModelSerializer):
    actor = UserRefSerializer(allow_null=True, read_only=True)

    class Meta:
        model = AuditEntry
        fields = [
            "id",
            "created_at",
            "actor",
            "actor_username",
            "action",
            "target_type",
            "target_id",
            "data",
            "ip",
            "user_agent",
            "request_id",
        ]
        read_only_fields = fields


HISTORY_LINK_MAX_DAYS = 366


class HistoryLinkInputSerializer(serializers.Serializer):
    expires_at = BoundedDateTimeField(
        required=False,
        allow_null=True,
        help_text=f"When the link stops working (RFC 3339, in the future, at most {HISTORY_LINK_MAX_DAYS} days "
        "ahead); absent or null: until it is revoked.",
    )

    def validate_expires_at(self, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        now = timezone.now()
        if value <= now:
            raise serializers.ValidationError("Must be in the future.")
        if value > now + timedelta(days=HISTORY_LINK_MAX_DAYS):
            raise serializers.ValidationError(f"At most {HISTORY_LINK_MAX_DAYS} days ahead.")
        return value


class HistoryLinkSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    event_id = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField(allow_null=True)
    last_used_at = serializers.DateTimeField(allow_null=True)


class HistoryLinkCreatedSerializer(HistoryLinkSerializer):
    url = serializers.CharField(
        help_text="The history page's URL with the link's secret: shown only in this answer (only a digest is kept)."
    )
