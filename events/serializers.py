"""Event input and output. Input serializers validate and normalize; they never save."""

from __future__ import annotations

from datetime import UTC, datetime

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field, inline_serializer
from rest_framework import serializers

from accounts.serializers import UserRefSerializer
from common.fields import StrictCharField
from sharing.roles import Role
from sharing.serializers import PermissionSerializer

from . import recurrence, timezones
from .models import DESCRIPTION_MAX, LOCATION_MAX, TIMEZONE_MAX, TITLE_MAX, Event

CONFLICT_STRATEGIES = ["reject", "warn", "allow"]
REASON_MAX = 500


class WallClockDateTimeField(serializers.DateTimeField):
    """RFC 3339 input; without an offset the time is kept naive, to be read in the event's time zone."""

    def enforce_timezone(self, value: datetime) -> datetime:
        return value


@extend_schema_field(
    {
        "oneOf": [
            {"type": "string", "example": "FREQ=WEEKLY;BYDAY=MO,WE;COUNT=10", "maxLength": recurrence.MAX_RRULE_LENGTH},
            {
                "type": "object",
                "properties": {
                    "rrule": {"type": "string", "maxLength": recurrence.MAX_RRULE_LENGTH},
                    "exdates": {"type": "array", "items": {"type": "string", "format": "date-time"}},
                    "rdates": {"type": "array", "items": {"type": "string", "format": "date-time"}},
                },
                "required": ["rrule"],
            },
        ],
        "nullable": True,
        "description": "An RFC 5545 RRULE (an `RRULE:` prefix is allowed) or {rrule, exdates, rdates}; "
        "exdates/rdates without an offset are read in the event's time zone. Null for a single event.",
    }
)
class RecurrenceInputField(serializers.Field):
    def to_internal_value(self, data):
        if data is not None and not isinstance(data, (str, dict)):
            raise serializers.ValidationError("Expected an RRULE string, an object {rrule, exdates, rdates} or null.")
        return data


class EventInputSerializer(serializers.Serializer):
    """Fields a client may write. On update any subset may be sent (PUT and PATCH alike)."""

    title = StrictCharField(min_length=1, max_length=TITLE_MAX)
    description = StrictCharField(max_length=DESCRIPTION_MAX, allow_blank=True, required=False, trim_whitespace=False)
    location = StrictCharField(max_length=LOCATION_MAX, allow_blank=True, required=False)
    start_time = WallClockDateTimeField(help_text="RFC 3339; without an offset it is read in `timezone`.")
    end_time = WallClockDateTimeField(help_text="RFC 3339, after `start_time`; without an offset read in `timezone`.")
    timezone = StrictCharField(max_length=TIMEZONE_MAX, required=False, help_text="IANA name, default UTC.")
    is_all_day = serializers.BooleanField(required=False)
    is_recurring = serializers.BooleanField(
        required=False, help_text="Optional; must agree with `recurrence_pattern` (true exactly when there is one)."
    )
    recurrence_pattern = RecurrenceInputField(required=False, allow_null=True)
    change_reason = StrictCharField(
        max_length=REASON_MAX, required=False, allow_blank=True, help_text="Why; recorded with the new version."
    )
    conflict_strategy = serializers.ChoiceField(
        choices=CONFLICT_STRATEGIES, required=False, help_text="reject (default), warn or allow."
    )
    base_version = serializers.IntegerField(
        min_value=1, required=False, help_text="The version this change is based on; works like If-Match."
    )

    CONTROL_FIELDS = ("change_reason", "conflict_strategy", "base_version", "is_recurring")

    def validate_timezone(self, value: str) -> str:
        if not timezones.is_valid(value):
            raise serializers.ValidationError(f"Unknown time zone {value!r}; use an IANA name like 'Europe/Paris'.")
        return value

    def validate(self, attrs: dict) -> dict:
        """Merge with the current event, read wall-clock times in its zone and check the whole."""
        event: Event | None = self.instance
        current = (
            {
                "start_time": event.start_time,
                "end_time": event.end_time,
                "timezone": event.timezone,
                "is_all_day": event.is_all_day,
                "recurrence_pattern": event.recurrence,
            }
            if event is not None
            else {"timezone": "UTC", "is_all_day": False, "recurrence_pattern": None}
        )
        tz = attrs.get("timezone", current["timezone"])
        start = timezones.localize(attrs.get("start_time", current.get("start_time")), tz)
        end = timezones.localize(attrs.get("end_time", current.get("end_time")), tz)
        if end < start:
            raise serializers.ValidationError({"end_time": ["end_time must not be before start_time."]})
        is_all_day = attrs.get("is_all_day", current["is_all_day"])
        if is_all_day:
            start, end = _whole_days(start, end, tz)

        pattern_input = attrs.get("recurrence_pattern", current["recurrence_pattern"])
        touches_schedule = event is None or any(
            key in attrs for key in ("start_time", "end_time", "timezone", "is_all_day", "recurrence_pattern")
        )
        pattern = None
        if pattern_input is not None and touches_schedule:
            try:
                pattern = recurrence.parse_pattern(pattern_input, start=start, end=end, tz=tz, is_all_day=is_all_day)
            except recurrence.RecurrenceError as exc:
                raise serializers.ValidationError({"recurrence_pattern": [str(exc)]}) from exc
        elif pattern_input is not None:
            pattern = recurrence.Pattern.from_json(pattern_input)
        if "is_recurring" in attrs and attrs["is_recurring"] != (pattern is not None):
            raise serializers.ValidationError(
                {"is_recurring": ["is_recurring must be true exactly when recurrence_pattern is set."]}
            )

        changes = {key: attrs[key] for key in ("title", "description", "location") if key in attrs}
        if touches_schedule:
            changes.update(
                start_time=start.astimezone(UTC),
                end_time=end.astimezone(UTC),
                timezone=tz,
                is_all_day=is_all_day,
                recurrence=pattern.to_json() if pattern is not None else None,
            )
        return {
            "changes": changes,
            "pattern": pattern,
            **{key: attrs[key] for key in ("change_reason", "conflict_strategy", "base_version") if key in attrs},
        }


def _whole_days(start: datetime, end: datetime, tz: str) -> tuple[datetime, datetime]:
    """All-day events cover whole local days: from the first day's midnight to the midnight after the last."""
    zone = timezones.get(tz)
    first = start.astimezone(zone).date()
    last_local = end.astimezone(zone)
    last = last_local.date()
    if last_local.time() != datetime.min.time() or last == first:
        last = last.fromordinal(last.toordinal() + 1)
    to_midnight = lambda day: datetime(day.year, day.month, day.day, tzinfo=zone)  # noqa: E731
    return to_midnight(first), to_midnight(last)


@extend_schema_field(OpenApiTypes.DATETIME)
class LocalTimeField(serializers.Field):
    """An instant rendered with the offset of the event's own time zone."""

    def __init__(self, **kwargs):
        kwargs.setdefault("read_only", True)
        super().__init__(source="*", **kwargs)

    def bind(self, field_name, parent):
        super().bind(field_name, parent)
        self.attribute = field_name

    def to_representation(self, event):
        return getattr(event, self.attribute).astimezone(timezones.get(event.timezone)).isoformat()


@extend_schema_field(
    inline_serializer(
        "RecurrencePattern",
        {
            "rrule": serializers.CharField(),
            "exdates": serializers.ListField(child=serializers.DateTimeField()),
            "rdates": serializers.ListField(child=serializers.DateTimeField()),
        },
        allow_null=True,
    )
)
class RecurrenceOutputField(serializers.Field):
    def __init__(self, **kwargs):
        super().__init__(source="recurrence", read_only=True, allow_null=True, **kwargs)

    def to_representation(self, value):
        return value


class EventSerializer(serializers.ModelSerializer):
    owner = UserRefSerializer(read_only=True)
    start_time = LocalTimeField()
    end_time = LocalTimeField()
    recurrence_pattern = RecurrenceOutputField()
    my_role = serializers.ChoiceField(choices=Role.choices, read_only=True, help_text="The caller's role.")

    class Meta:
        model = Event
        fields = [
            "id",
            "title",
            "description",
            "location",
            "start_time",
            "end_time",
            "timezone",
            "is_all_day",
            "is_recurring",
            "recurrence_pattern",
            "version",
            "owner",
            "my_role",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class ConflictSerializer(serializers.Serializer):
    event_id = serializers.IntegerField()
    title = serializers.CharField()
    start_time = serializers.DateTimeField()
    end_time = serializers.DateTimeField()


class EventWriteResultSerializer(EventSerializer):
    """An event as answered to a write: `conflicts` lists overlaps accepted under conflict_strategy=warn."""

    permissions = PermissionSerializer(many=True, read_only=True, source="permission_list")
    conflicts = ConflictSerializer(many=True, read_only=True, required=False)

    class Meta(EventSerializer.Meta):
        fields = [*EventSerializer.Meta.fields, "permissions", "conflicts"]
        read_only_fields = fields


class EventDetailSerializer(EventSerializer):
    permissions = PermissionSerializer(many=True, read_only=True, source="permission_list")

    class Meta(EventSerializer.Meta):
        fields = [*EventSerializer.Meta.fields, "permissions"]
        read_only_fields = fields


class OccurrenceSerializer(serializers.Serializer):
    """One occurrence of an event; times carry the offset of the event's time zone."""

    event_id = serializers.IntegerField()
    title = serializers.CharField()
    location = serializers.CharField()
    timezone = serializers.CharField()
    is_all_day = serializers.BooleanField()
    start_time = serializers.CharField(help_text="RFC 3339.")
    end_time = serializers.CharField(help_text="RFC 3339.")
    original_start_time = serializers.CharField(help_text="RFC 3339: where the rule put this occurrence.")

    @staticmethod
    def build(event: Event, occurrence) -> dict:
        zone = timezones.get(event.timezone)
        return {
            "event_id": event.pk,
            "title": event.title,
            "location": event.location,
            "timezone": event.timezone,
            "is_all_day": event.is_all_day,
            "start_time": occurrence.start.astimezone(zone).isoformat(),
            "end_time": occurrence.end.astimezone(zone).isoformat(),
            "original_start_time": occurrence.original_start.astimezone(zone).isoformat(),
        }


class OccurrenceListSerializer(serializers.Serializer):
    results = OccurrenceSerializer(many=True)
    truncated = serializers.BooleanField(help_text="True when `limit` cut the list short.")


class OccurrenceQuerySerializer(serializers.Serializer):
    start = serializers.DateTimeField(required=False, help_text="Window start (default: the event's start).")
    end = serializers.DateTimeField(
        required=False, help_text="Window end, exclusive (default: open, bounded by limit)."
    )
    limit = serializers.IntegerField(required=False, min_value=1, max_value=2500, default=250)

    def validate(self, attrs):
        if attrs.get("start") and attrs.get("end") and attrs["end"] <= attrs["start"]:
            raise serializers.ValidationError({"end": ["end must be after start."]})
        return attrs
