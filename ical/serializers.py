"""iCalendar endpoints' inputs and outputs."""

from __future__ import annotations

from dataclasses import replace

from rest_framework import serializers

from common.fields import StrictCharField
from events import content
from events.models import Event
from events.serializers import CONFLICT_STRATEGIES, REASON_MAX, EventInputSerializer, validated_timezone

from . import changes as folding
from .models import NAME_MAX, Feed
from .parse import ICalObject, ObjectRefused, ParsedCalendar
from .selectors import events_for_uids
from .services import ImportRejected, PlannedObject, error_messages


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


def _validated(event: Event | None, fields: dict, reused: dict | None) -> dict:
    """EventInputSerializer's validated data for `fields` (ObjectRefused when invalid). With `reused` (a dict
    kept for one import), one serializer per kind (create, update) validates every object: DRF copies a
    serializer's fields for each new instance, half the cost of validating an object."""
    partial = event is not None
    if reused is None:
        serializer = EventInputSerializer(instance=event, data=fields, partial=partial)
        if not serializer.is_valid():
            raise ObjectRefused(error_messages(serializer.errors))
        return serializer.validated_data
    serializer = reused.get(partial)
    if serializer is None:
        serializer = reused[partial] = EventInputSerializer(partial=partial)
    serializer.instance = event
    try:
        return serializer.run_validation(fields)  # what is_valid() runs; its errors are exc.detail
    except serializers.ValidationError as exc:
        raise ObjectRefused(error_messages(exc.detail)) from None


def ical_changes(*, obj: ICalObject, event: Event | None, reused: dict | None = None) -> dict:
    """The validated changes that make `event` (None: a new event) what `obj` describes: the same checks as
    the REST API's (EventInputSerializer), plus its overrides as exceptions and its unmodelled properties.
    Only what differs from `event`. ObjectRefused with the messages when the object breaks a rule. `reused`:
    a dict the caller keeps across the objects of one file (see `_validated`)."""
    if obj.errors:
        raise ObjectRefused(obj.errors)
    fields = dict(obj.fields)
    overrides = list(obj.overrides)
    if event is not None:
        fields.pop("uid")
        fields, overrides = folding.cancelled_stay_exceptions(event, fields, overrides)
    changes = dict(_validated(event, fields, reused)["changes"])
    exceptions = folding.exceptions_of(replace(obj, overrides=overrides), changes, event)
    if event is None or exceptions != (event.exceptions or {}) or changes.keys() & set(content.SCHEDULE):
        changes["exceptions"] = exceptions  # the file states them whole: they do not follow a moved series
    changes["ical_extra"] = obj.extra
    if event is not None:
        changes = {key: value for key, value in changes.items() if getattr(event, key) != value}
    return changes


def import_plan(*, actor, parsed: ParsedCalendar) -> list[PlannedObject]:
    """Every object of `parsed` with its target event and validated changes; ImportRejected (400, `errors:
    [{index, uid, errors}]`) listing every object that cannot be imported. Reads only."""
    planned, errors, reused = [], [], {}
    targets = events_for_uids(user=actor, uids=[obj.uid for obj in parsed.objects if obj.uid])
    for obj in parsed.objects:
        try:
            event = targets.get(obj.uid) if obj.uid else None
            if isinstance(event, ObjectRefused):
                raise event
            changes = ical_changes(obj=obj, event=event, reused=reused)
            planned.append(PlannedObject(obj.index, obj.uid, event, changes))
        except ObjectRefused as exc:
            errors.append({"index": obj.index, "uid": obj.uid, "errors": exc.errors})
    if errors:
        raise ImportRejected(
            f"{len(errors)} of {len(parsed.objects)} objects cannot be imported; nothing was changed.", errors=errors
        )
    return planned
