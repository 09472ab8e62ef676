"""An iCalendar object's overrides as our series exceptions (recurrence/overrides.py): pure, no writes."""

from __future__ import annotations

from datetime import UTC, datetime

from events.models import Event
from recurrence import overrides as series_exceptions
from recurrence import timezones

from .parse import ICalObject, ObjectRefused, Override


def exceptions_of(obj: ICalObject, changes: dict, event: Event | None) -> dict:
    """The stored exceptions (events/exceptions.py) the object's overrides make of the series."""
    if not obj.overrides:
        return {}
    start = changes.get("start_time", event.start_time if event else None)
    end = changes.get("end_time", event.end_time if event else None)
    schedule = series_exceptions.Schedule(
        start,
        end,
        changes.get("timezone", event.timezone if event else "UTC"),
        changes.get("is_all_day", event.is_all_day if event else False),
        changes.get("recurrence", event.recurrence if event else None),
    )
    pattern = schedule.pattern
    length = end - start
    texts = {"title": obj.fields["title"], "description": obj.fields["description"], "location": obj.fields["location"]}
    found: dict[datetime, series_exceptions.SeriesException] = {}
    errors = []
    for override in obj.overrides:
        original = override.recurrence_id
        if not schedule.has_occurrence_at(original, pattern):
            errors.append(f"RECURRENCE-ID: {series_exceptions.key(original)} is not an occurrence of the series")
            continue
        if override.cancelled:
            found[original] = series_exceptions.SeriesException(original, cancelled=True)
            continue
        start_at, end_at = override.start or original, override.end or original + length
        moved = (start_at, end_at) != (original, original + length)
        if moved and end_at < start_at:
            errors.append(f"DTEND: before DTSTART in the override of {series_exceptions.key(original)}")
            continue
        found[original] = series_exceptions.SeriesException(
            original,
            start=start_at if moved else None,
            end=end_at if moved else None,
            **{
                name: value
                for name in series_exceptions.TEXT_FIELDS
                if (value := getattr(override, name)) is not None and value != texts[name]
            },
            ical=override.extra or None,
        )
    if len(found) > series_exceptions.MAX_EXCEPTIONS:
        errors.append(f"RECURRENCE-ID: a series keeps at most {series_exceptions.MAX_EXCEPTIONS} changed occurrences")
    if errors:
        raise ObjectRefused(errors)
    return series_exceptions.dump(found)


def cancelled_stay_exceptions(event: Event, fields: dict, overrides: list) -> tuple[dict, list]:
    """Our exports write a cancelled occurrence as an EXDATE (the contract). Read back into the same event, an
    EXDATE of an occurrence the event holds as cancelled stays that cancelled exception, so that importing an
    export changes nothing."""
    pattern = fields.get("recurrence_pattern")
    cancelled = {k for k, v in (event.exceptions or {}).items() if v.get("cancelled")}
    if not pattern or not cancelled:
        return fields, overrides
    zone = timezones.get(fields["timezone"])
    kept, moved = [], []
    for text in pattern["exdates"]:
        value = datetime.fromisoformat(text)
        value = value.replace(tzinfo=zone) if value.tzinfo is None else value
        instant = value.astimezone(UTC)
        (moved if series_exceptions.key(instant) in cancelled else kept).append((text, instant))
    if not moved:
        return fields, overrides
    fields = {**fields, "recurrence_pattern": {**pattern, "exdates": [text for text, _ in kept]}}
    return fields, [*overrides, *(Override(recurrence_id=instant, cancelled=True) for _, instant in moved)]
