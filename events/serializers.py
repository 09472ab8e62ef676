"""Event input and output. Input serializers validate and normalize; they never save."""

from __future__ import annotations

import copy
from datetime import datetime, timedelta
from functools import cached_property

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field, inline_serializer
from rest_framework import serializers
from rest_framework.fields import SkipField

from accounts.serializers import UserRefSerializer
from common.declared_input import AcceptsRepresentation
from common.fields import MAX_ID, BoundedDateTimeField, StrictCharField
from common.schema import ProblemSerializer
from recurrence import overrides as series_overrides
from recurrence import rules, timezones
from sharing.roles import Role
from sharing.serializers import PermissionSerializer

from . import content, schedule
from .merge import ON_CONFLICT
from .models import DESCRIPTION_MAX, LOCATION_MAX, TIMEZONE_MAX, TITLE_MAX, UID_MAX, Event
from .representation import event_data


def validated_timezone(name: str) -> str:
    """`name` if it is an IANA time zone, else a ValidationError (400) that says what is expected."""
    if not timezones.is_valid(name):
        raise serializers.ValidationError(f"Unknown time zone {name!r}; use an IANA name like 'Europe/Paris'.")
    return name


CONFLICT_STRATEGIES = ["reject", "warn", "allow"]
REASON_MAX = 500

# The options of a write, wherever a body may carry them: declared here once (WriteOptionsMixin). The same
# options also come as a header or query parameter (events/request_options.py says which one wins).
WRITE_OPTIONS = {
    "change_reason": lambda: StrictCharField(
        max_length=REASON_MAX, required=False, allow_blank=True, help_text="Why; recorded with the new version."
    ),
    "conflict_strategy": lambda: serializers.ChoiceField(
        choices=CONFLICT_STRATEGIES, required=False, help_text="reject (default), warn or allow."
    ),
    "base_version": lambda: serializers.IntegerField(
        min_value=1,
        max_value=MAX_ID,
        required=False,
        help_text="The version this change is based on; works like If-Match (the header wins when both are sent).",
    ),
    "on_conflict": lambda: serializers.ChoiceField(
        choices=ON_CONFLICT,
        required=False,
        help_text="When If-Match/base_version is stale: reject (default, 412), merge (three-way; 409 on overlap) "
        "or overwrite (last writer wins).",
    ),
}


# A body that carries write options: `write_options` names which (of WRITE_OPTIONS); they follow the fields
# the class declares itself (a subclass's own fields follow them, as for any declared field). No docstring:
# a serializer's docstring is its schema description.
class WriteOptionsMixin:
    write_options: tuple[str, ...] = ()

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        if "write_options" in cls.__dict__:  # runs after the serializer metaclass collected the declared fields
            cls._declared_fields = {
                **{name: field for name, field in cls._declared_fields.items() if name not in WRITE_OPTIONS},
                **{name: WRITE_OPTIONS[name]() for name in cls.write_options},
            }

    def options_in(self, attrs: dict) -> dict:
        """The write options among validated `attrs` (those the body carried)."""
        return {name: attrs[name] for name in self.write_options if name in attrs}


class WallClockDateTimeField(BoundedDateTimeField):
    """RFC 3339 input; without an offset the time is kept naive, to be read in the event's time zone."""

    def convert_timezone(self, value: datetime) -> datetime:
        return value


@extend_schema_field(
    {
        "oneOf": [
            {"type": "string", "example": "FREQ=WEEKLY;BYDAY=MO,WE;COUNT=10", "maxLength": rules.MAX_RRULE_LENGTH},
            {
                "type": "object",
                "properties": {
                    "rrule": {"type": "string", "maxLength": rules.MAX_RRULE_LENGTH},
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


class EventInputSerializer(AcceptsRepresentation, WriteOptionsMixin, serializers.Serializer):
    """Fields a client may write. On update any subset may be sent (PUT and PATCH alike)."""

    write_options = ("change_reason", "conflict_strategy", "base_version", "on_conflict")

    uid = StrictCharField(
        min_length=1,
        max_length=UID_MAX,
        required=False,
        help_text="The iCalendar UID, unique among the owner's events; generated when absent. Never changes.",
    )
    title = StrictCharField(min_length=1, max_length=TITLE_MAX)
    description = StrictCharField(max_length=DESCRIPTION_MAX, allow_blank=True, required=False, trim_whitespace=False)
    location = StrictCharField(max_length=LOCATION_MAX, allow_blank=True, required=False)
    start_time = WallClockDateTimeField(help_text="RFC 3339; without an offset it is read in `timezone`.")
    end_time = WallClockDateTimeField(
        help_text="RFC 3339, after `start_time` (all-day events: the last day, which may be the first); without an "
        "offset read in `timezone`."
    )
    timezone = StrictCharField(max_length=TIMEZONE_MAX, required=False, help_text="IANA name, default UTC.")
    is_all_day = serializers.BooleanField(required=False)
    is_recurring = serializers.BooleanField(
        required=False, help_text="Optional; must agree with `recurrence_pattern` (true exactly when there is one)."
    )
    recurrence_pattern = RecurrenceInputField(required=False, allow_null=True)

    def validate_timezone(self, value: str) -> str:
        return validated_timezone(value)

    def validate_uid(self, value: str) -> str:
        if not value.isprintable():
            raise serializers.ValidationError("A UID holds printable characters only.")
        if self.instance is not None and value != self.instance.uid:
            raise serializers.ValidationError("The UID of an event never changes.")
        return value

    def validate(self, attrs: dict) -> dict:
        """The changes this body makes to the event (none: a new one), read by the schedule rules."""
        given = {name: attrs[api_name] for name, api_name in content.API_NAMES.items() if api_name in attrs}
        if "uid" in attrs:
            given["uid"] = attrs["uid"]
        changes, pattern = schedule.read(self.instance, given, is_recurring=attrs.get("is_recurring"))
        return {"changes": changes, "pattern": pattern, **self.options_in(attrs)}


class BatchItemSerializer(EventInputSerializer):
    """One event of a batch: the event's fields; the write options are the batch's own, for all its events."""

    write_options = ()


@extend_schema_field(BatchItemSerializer(many=True))
class BatchItemsField(serializers.ListField):
    """A batch's events, documented as BatchItem objects and taken as any JSON: the batch checks each item itself,
    answering which one failed (`errors: [{index, errors}]`)."""

    child = serializers.JSONField(allow_null=True)


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


class SeriesExceptionSerializer(serializers.Serializer):
    """One changed or cancelled occurrence of a series; absent fields are the series' own."""

    original_start_time = serializers.CharField(help_text="RFC 3339: where the rule puts the occurrence.")
    cancelled = serializers.BooleanField()
    start_time = serializers.CharField(required=False, help_text="RFC 3339, when the occurrence was moved.")
    end_time = serializers.CharField(required=False, help_text="RFC 3339, when the occurrence was moved.")
    title = serializers.CharField(required=False)
    description = serializers.CharField(required=False)
    location = serializers.CharField(required=False)


@extend_schema_field(SeriesExceptionSerializer(many=True))
class ExceptionsOutputField(serializers.Field):
    """The series' exceptions (PATCH/DELETE /api/events/{id}/occurrences/{original_start}), oldest first."""

    def __init__(self, **kwargs):
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, event):
        return series_overrides.describe(event)


class EventSerializer(serializers.ModelSerializer):
    owner = UserRefSerializer(read_only=True)
    start_time = LocalTimeField()
    end_time = LocalTimeField()
    recurrence_pattern = RecurrenceOutputField()
    exceptions = ExceptionsOutputField()
    my_role = serializers.ChoiceField(choices=Role.choices, read_only=True, help_text="The caller's role.")

    class Meta:
        model = Event
        fields = [
            "id",
            "uid",
            *(name for name, _ in content.MEMBERS),
            "version",
            "owner",
            "my_role",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def to_representation(self, event) -> dict:
        """What the declared fields give (tests/events/test_serializer_output.py compares), built directly.

        A ModelSerializer builds a dozen field objects for every instance before it renders one row, and
        serializers run per event in places (a batch's 500 change-feed payloads): that building was most
        of the serializer's cost. Fields a subclass adds are rendered by their own declared fields.
        """
        data = event_data(event)
        for field in self._added_fields:
            try:
                attribute = field.get_attribute(event)
            except SkipField:
                continue
            data[field.field_name] = None if attribute is None else field.to_representation(attribute)
        return data

    @cached_property
    def _added_fields(self) -> list:
        """The fields of a subclass that EventSerializer itself has not (bound, as `self.fields` would be)."""
        names = [name for name in self.Meta.fields if name not in _EVENT_FIELDS]
        if not all(name in self._declared_fields for name in names):
            return [self.fields[name] for name in names]  # fields made from the model: let DRF build them
        added = []
        for name in names:
            field = copy.deepcopy(self._declared_fields[name])
            field.bind(name, self)
            added.append(field)
        return added


_EVENT_FIELDS = frozenset(EventSerializer.Meta.fields)


class ConflictSerializer(serializers.Serializer):
    event_id = serializers.IntegerField()
    title = serializers.CharField()
    start_time = serializers.DateTimeField()
    end_time = serializers.DateTimeField()


class EventWriteResultSerializer(EventSerializer):
    """An event as answered to a write: `conflicts` lists overlaps accepted under conflict_strategy=warn."""

    permissions = PermissionSerializer(many=True, read_only=True, source="permission_list")
    conflicts = ConflictSerializer(many=True, read_only=True, required=False)
    merged = serializers.BooleanField(
        read_only=True,
        default=False,
        help_text="True when a stale write (on_conflict=merge) was merged onto the current version.",
    )

    class Meta(EventSerializer.Meta):
        fields = [*EventSerializer.Meta.fields, "permissions", "conflicts", "merged"]
        read_only_fields = fields


class EventDetailSerializer(EventSerializer):
    permissions = PermissionSerializer(many=True, read_only=True, source="permission_list")

    class Meta(EventSerializer.Meta):
        fields = [*EventSerializer.Meta.fields, "permissions"]
        read_only_fields = fields


EventInputSerializer.representation = EventWriteResultSerializer  # what clients PUT back: what they read


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
    is_exception = serializers.BooleanField(help_text="True when this occurrence was changed on its own.")

    @staticmethod
    def build(event: Event, occurrence) -> dict:
        zone = timezones.get(event.timezone)
        title, location = getattr(occurrence, "title", None), getattr(occurrence, "location", None)
        return {
            "event_id": event.pk,
            "title": event.title if title is None else title,
            "location": event.location if location is None else location,
            "is_exception": getattr(occurrence, "is_exception", False),
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
    start = BoundedDateTimeField(required=False, help_text="Window start (default: the event's start).")
    end = BoundedDateTimeField(required=False, help_text="Window end, exclusive (default: open, bounded by limit).")
    limit = serializers.IntegerField(required=False, min_value=1, max_value=2500, default=250)

    def validate(self, attrs):
        if attrs.get("start") and attrs.get("end") and attrs["end"] <= attrs["start"]:
            raise serializers.ValidationError({"end": ["end must be after start."]})
        return attrs


class SlotSerializer(serializers.Serializer):
    start_time = serializers.DateTimeField()
    end_time = serializers.DateTimeField()


@extend_schema_field(
    {
        "oneOf": [
            {"type": "array", "items": {"type": "object"}, "description": "Scheduling conflicts."},
            {
                "type": "object",
                "description": "Merge conflicts (on_conflict=merge): by field, its base, current and your value.",
                "additionalProperties": {
                    "type": "object",
                    "properties": {"base": {}, "current": {}, "yours": {}},
                    "required": ["base", "current", "yours"],
                },
            },
        ]
    }
)
class _WriteConflictsField(serializers.JSONField):
    pass


class WriteConflictProblemSerializer(ProblemSerializer):
    """409 on an update: `/problems/scheduling-conflict` (a list) or `/problems/merge-conflict` (by field)."""

    conflicts = _WriteConflictsField(required=False)
    next_free_slots = SlotSerializer(many=True, required=False, help_text="With a scheduling conflict: free slots.")


# --- Series: one occurrence, the scope of an update, calendar-wide reads ---------------------------

SCOPES = ["all", "following"]
OCCURRENCE_SCOPES = ["this", "following", "all"]
MAX_CALENDAR_WINDOW = timedelta(days=366)


class SchedulingConflictProblemSerializer(ProblemSerializer):
    """409 /problems/scheduling-conflict: what is in the way, and the next free slots of the same length."""

    next_free_slots = SlotSerializer(
        many=True,
        required=False,
        help_text="Up to 3 free slots of the same length after the requested start; for a series, where its "
        "first occurrence would go if the whole series moved (by at most a week).",
    )


class OccurrenceChangeSerializer(WriteOptionsMixin, serializers.Serializer):
    """Changes to one occurrence of a series; null puts a field back to the series' own value.

    Context: `event`, `occurrence` (where the rule puts it) and `current` (where it is now).
    """

    write_options = ("change_reason", "conflict_strategy", "base_version")

    title = StrictCharField(min_length=1, max_length=TITLE_MAX, required=False, allow_null=True)
    description = StrictCharField(
        max_length=DESCRIPTION_MAX, allow_blank=True, required=False, allow_null=True, trim_whitespace=False
    )
    location = StrictCharField(max_length=LOCATION_MAX, allow_blank=True, required=False, allow_null=True)
    start_time = WallClockDateTimeField(
        required=False,
        allow_null=True,
        help_text="Move it: RFC 3339, without an offset read in the event's zone; alone it keeps the length. "
        "null (here or in end_time) puts it back where the rule has it.",
    )
    end_time = WallClockDateTimeField(required=False, allow_null=True, help_text="See start_time.")
    cancelled = serializers.BooleanField(
        required=False, help_text="true cancels the occurrence (like DELETE); false restores a cancelled one."
    )

    def validate(self, attrs: dict) -> dict:
        event, occurrence, current = self.context["event"], self.context["occurrence"], self.context["current"]
        changes: dict = {key: attrs[key] for key in ("cancelled", *series_overrides.TEXT_FIELDS) if key in attrs}
        if "start_time" in attrs or "end_time" in attrs:
            span = {key: attrs[name] for key, name in (("start", "start_time"), ("end", "end_time")) if name in attrs}
            changes["start"], changes["end"] = schedule.occurrence_span(event, occurrence, current, **span)
        return {"changes": changes, **self.options_in(attrs)}


class OccurrenceWriteResultSerializer(EventWriteResultSerializer):
    """The series after a change to one of its occurrences, with that occurrence as it now is."""

    occurrence = OccurrenceSerializer(
        read_only=True, allow_null=True, source="changed_occurrence", help_text="null when it is cancelled."
    )

    class Meta(EventWriteResultSerializer.Meta):
        fields = [*EventWriteResultSerializer.Meta.fields, "occurrence"]
        read_only_fields = fields


class UpdateScopeSerializer(serializers.Serializer):
    """Which occurrences of a series an update changes (query parameters or body fields)."""

    scope = serializers.ChoiceField(
        choices=SCOPES,
        default="all",
        help_text="all (default): the whole series. following: from `occurrence` on, as a new series.",
    )
    occurrence = WallClockDateTimeField(
        required=False,
        help_text="With scope=following: the original start of the occurrence to split at (RFC 3339; without an "
        "offset read in the event's zone).",
    )

    def validate(self, attrs: dict) -> dict:
        if attrs["scope"] == "following" and "occurrence" not in attrs:
            raise serializers.ValidationError({"occurrence": ["scope=following needs the occurrence to split at."]})
        if attrs["scope"] == "all" and "occurrence" in attrs:
            raise serializers.ValidationError({"occurrence": ["occurrence is only used with scope=following."]})
        return attrs


class OccurrenceScopeSerializer(serializers.Serializer):
    """What a change sent to one occurrence applies to (query parameter or body field)."""

    scope = serializers.ChoiceField(
        choices=OCCURRENCE_SCOPES,
        default="this",
        help_text="this (default): the occurrence alone. following: it and the later ones, as a new series "
        "(as PATCH /api/events/{id}?scope=following&occurrence=). all: the whole series (as PATCH /api/events/{id}).",
    )


class SplitResultSerializer(serializers.Serializer):
    updated = EventWriteResultSerializer(help_text="The old series, now ending before the occurrence.")
    created = EventWriteResultSerializer(
        allow_null=True,
        help_text="The new series from that occurrence on, with the changes; null when the occurrence was the "
        "first, so the whole series was updated.",
    )


class CalendarWindowSerializer(serializers.Serializer):
    start = BoundedDateTimeField(help_text="RFC 3339; the window is [start, end).")
    end = BoundedDateTimeField(help_text=f"RFC 3339; at most {MAX_CALENDAR_WINDOW.days} days after start.")

    def validate(self, attrs: dict) -> dict:
        if attrs["end"] <= attrs["start"]:
            raise serializers.ValidationError({"end": ["end must be after start."]})
        if attrs["end"] - attrs["start"] > MAX_CALENDAR_WINDOW:
            raise serializers.ValidationError(
                {"end": [f"The window may span at most {MAX_CALENDAR_WINDOW.days} days."]}
            )
        return attrs


class FreeBusyQuerySerializer(CalendarWindowSerializer):
    timezone = StrictCharField(
        max_length=TIMEZONE_MAX, required=False, help_text="IANA name the times are written in (default UTC)."
    )

    def validate_timezone(self, value: str) -> str:
        return validated_timezone(value)

    def validate_uid(self, value: str) -> str:
        if not value.isprintable():
            raise serializers.ValidationError("A UID holds printable characters only.")
        if self.instance is not None and value != self.instance.uid:
            raise serializers.ValidationError("The UID of an event never changes.")
        return value


class BusyIntervalSerializer(serializers.Serializer):
    start_time = serializers.CharField(help_text="RFC 3339.")
    end_time = serializers.CharField(help_text="RFC 3339.")


class FreeBusySerializer(serializers.Serializer):
    start = serializers.CharField(help_text="RFC 3339: the window's start.")
    end = serializers.CharField(help_text="RFC 3339: the window's end.")
    timezone = serializers.CharField()
    results = BusyIntervalSerializer(many=True, help_text="Busy intervals, merged, clipped to the window, in order.")
    truncated = serializers.BooleanField(help_text="True when the calendar had too many occurrences to read all.")


class ConflictPairSerializer(serializers.Serializer):
    first = OccurrenceSerializer(help_text="The occurrence that starts first.")
    second = OccurrenceSerializer()
    overlap_start = serializers.DateTimeField()
    overlap_end = serializers.DateTimeField()


class DeleteInputSerializer(WriteOptionsMixin, serializers.Serializer):
    """The optional body of a DELETE (of an event or one occurrence), and a transaction's delete operation."""

    BODY_HELP = (
        "An optional JSON body `{base_version, change_reason}`: `base_version` works like If-Match (412 when "
        "stale; the header wins when both are sent), `change_reason` like X-Change-Reason."
    )

    write_options = ("base_version", "change_reason")

    @classmethod
    def from_body(cls, request) -> dict:
        """The validated body of `request`; none at all is an empty one. 400 for anything else."""
        data = request.data
        if isinstance(data, dict) and not data:
            return {}
        serializer = cls(data=data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data
