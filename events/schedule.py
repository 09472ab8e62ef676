"""How a write's times are read: wall-clock times in the event's zone, an event that ends after it starts,
all-day events as whole local days, the recurrence rule parsed once, anchored at the start it will have.

The rules of the schedule, apart from the input's shape (events/serializers.py checks types and bounds and
hands over what the client sent, under the model's names). Both an event's write and one occurrence's go
through here. Raises ValidationError (400) naming the API field.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from rest_framework.exceptions import ValidationError

from recurrence import rules, timezones

from . import content
from .models import Event

END_BEFORE_START = "end_time must be after start_time."
_PATTERN = content.API_NAMES["recurrence"]


def check_end_after_start(start: datetime, end: datetime, *, is_all_day: bool) -> None:
    """An event ends after it starts. All-day times are days: a last day equal to the first is that one day."""
    if end < start or (end == start and not is_all_day):
        raise ValidationError({"end_time": [END_BEFORE_START]})


def whole_days(start: datetime, end: datetime, tz: str) -> tuple[datetime, datetime]:
    """All-day events cover whole local days: from the first day's midnight to the midnight after the last."""
    zone = timezones.get(tz)
    first = start.astimezone(zone).date()
    last_local = end.astimezone(zone)
    last = last_local.date()
    if last_local.time() != datetime.min.time() or last == first:
        last = last.fromordinal(last.toordinal() + 1)
    to_midnight = lambda day: datetime(day.year, day.month, day.day, tzinfo=zone)  # noqa: E731
    return to_midnight(first), to_midnight(last)


def read(
    event: Event | None, given: dict[str, Any], *, is_recurring: bool | None = None
) -> tuple[dict[str, Any], rules.Pattern | None]:
    """(the changes `given` makes to `event`, None for a new one; the event's pattern after them).

    `given` holds content fields under their model names as a client sent them (times may be wall-clock,
    the recurrence a rule string or object). The schedule is read whole, merged with the event's: times in
    the zone, end after start, all-day snapped to days, the rule parsed against the start. Only what differs
    from `event` is returned, so the schedule fields a client left alone never overwrite a concurrent
    writer's values with stale ones. `is_recurring`, when sent, must agree with the pattern.
    """
    current = (
        {name: getattr(event, name) for name in content.SCHEDULE}
        if event is not None
        else {"timezone": "UTC", "is_all_day": False, "recurrence": None}
    )
    tz = given.get("timezone", current["timezone"])
    start = timezones.localize(given.get("start_time", current.get("start_time")), tz)
    end = timezones.localize(given.get("end_time", current.get("end_time")), tz)
    is_all_day = given.get("is_all_day", current["is_all_day"])
    check_end_after_start(start, end, is_all_day=is_all_day)
    if is_all_day:
        start, end = whole_days(start, end, tz)

    pattern_input = given.get("recurrence", current["recurrence"])
    touches_schedule = event is None or any(name in given for name in content.SCHEDULE)
    pattern = None
    if pattern_input is not None and touches_schedule:
        try:
            pattern = rules.parse_pattern(pattern_input, start=start, end=end, tz=tz, is_all_day=is_all_day)
        except rules.RecurrenceError as exc:
            raise ValidationError({_PATTERN: [str(exc)]}) from exc
    elif pattern_input is not None:
        pattern = rules.Pattern.from_json(pattern_input)
    if is_recurring is not None and is_recurring != (pattern is not None):
        raise ValidationError({"is_recurring": [f"is_recurring must be true exactly when {_PATTERN} is set."]})

    changes = {name: given[name] for name in content.TEXT if name in given}
    if event is None and "uid" in given:
        changes["uid"] = given["uid"]
    if touches_schedule:
        changes.update(
            start_time=start.astimezone(UTC),
            end_time=end.astimezone(UTC),
            timezone=tz,
            is_all_day=is_all_day,
            recurrence=pattern.to_json() if pattern is not None else None,
        )
    if event is not None:
        changes = {name: value for name, value in changes.items() if getattr(event, name) != value}
    return changes, pattern


_UNSET: Any = object()


def occurrence_span(event: Event, occurrence, current, *, start=_UNSET, end=_UNSET) -> tuple[datetime, datetime]:
    """Where one occurrence of `event` goes (UTC) when a client moves it: `start`/`end` as sent (wall-clock
    in the event's zone; either None: back where the rule has it). `start` alone keeps the length, in local
    days for an all-day series; `occurrence` is where the rule puts it, `current` where it is now (or None)."""
    if start is None or end is None:
        return occurrence.start, occurrence.end
    now_start, now_end = (current.start, current.end) if current else (occurrence.start, occurrence.end)
    begins = timezones.localize(now_start if start is _UNSET else start, event.timezone)
    ends = None if end is _UNSET else timezones.localize(end, event.timezone)
    if ends is None and event.is_all_day:  # the same number of local days
        zone = timezones.get(event.timezone)
        days = (now_end.astimezone(zone).date() - now_start.astimezone(zone).date()).days
        first = begins.astimezone(zone).date()
        begins = datetime.combine(first, datetime.min.time(), zone)
        ends = datetime.combine(first + timedelta(days=max(days, 1)), datetime.min.time(), zone)
    elif ends is None:
        ends = begins + (now_end - now_start)
    check_end_after_start(begins, ends, is_all_day=event.is_all_day)
    if event.is_all_day:
        begins, ends = whole_days(begins, ends, event.timezone)
    return begins.astimezone(UTC), ends.astimezone(UTC)
