"""Exceptions to a series: single occurrences changed or cancelled (RFC 5545's RECURRENCE-ID overrides).

They live on the event row (`Event.exceptions`), so every version carries the exception set: history,
diff and rollback need nothing else, and one row is all an expansion reads. The stored shape is
`{original start: exception}` where the key is the UTC instant the rule put the occurrence at, as
RFC 3339 (`2030-01-07T09:00:00Z`), and the exception is `{"cancelled": true}` or the overridden
fields only: `start` and `end` (UTC, RFC 3339) for a moved occurrence, `title`, `description`,
`location`.

When the series itself changes, its exceptions follow it (`follow`): each original start moves by the
same wall-clock shift as the series' start, and an exception whose occurrence no longer exists is
dropped (it stays in the history).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from . import rules, timezones

MAX_EXCEPTIONS = 1000  # changed or cancelled occurrences kept per series
TEXT_FIELDS = ("title", "description", "location")


@dataclass(frozen=True, slots=True)
class SeriesException:
    original_start: datetime  # UTC
    cancelled: bool = False
    start: datetime | None = None  # UTC; start and end are both set for a moved occurrence
    end: datetime | None = None
    title: str | None = None
    description: str | None = None
    location: str | None = None
    # What the iCalendar override (RECURRENCE-ID VEVENT) carried that is not modelled (ical/extra.py).
    ical: dict | None = None

    @property
    def moved(self) -> bool:
        return self.start is not None

    def to_json(self) -> dict[str, Any]:
        if self.cancelled:
            return {"cancelled": True}
        data: dict[str, Any] = {}
        if self.moved:
            data["start"], data["end"] = key(self.start), key(self.end)
        for name in TEXT_FIELDS:
            if getattr(self, name) is not None:
                data[name] = getattr(self, name)
        if self.ical:
            data["ical"] = self.ical
        return data


def key(instant: datetime) -> str:
    """The stored form of an instant: UTC RFC 3339 with a Z."""
    return instant.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _instant(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def parse(raw: dict | None) -> dict[datetime, SeriesException]:
    """Stored exceptions by original start (trusted data, as written by `dump`)."""
    found = {}
    for text, data in (raw or {}).items():
        original = _instant(text)
        found[original] = SeriesException(
            original_start=original,
            cancelled=bool(data.get("cancelled")),
            start=_instant(data["start"]) if "start" in data else None,
            end=_instant(data["end"]) if "end" in data else None,
            **{name: data[name] for name in TEXT_FIELDS if name in data},
            ical=data.get("ical"),
        )
    return found


def dump(exceptions: dict[datetime, SeriesException]) -> dict[str, dict]:
    """The stored form, in original-start order; exceptions that change nothing are left out."""
    stored = {}
    for original in sorted(exceptions):
        data = exceptions[original].to_json()
        if data:
            stored[key(original)] = data
    return stored


def of(event) -> dict[datetime, SeriesException]:
    """`event`'s exceptions, parsed once per loaded row (every expansion of one request reuses them)."""
    raw = getattr(event, "exceptions", None) or {}
    cached = getattr(event, "_parsed_exceptions", None)
    if cached is not None and cached[0] is raw:
        return cached[1]
    parsed = parse(raw)
    event._parsed_exceptions = (raw, parsed)
    return parsed


def describe(event) -> list[dict[str, Any]]:
    """The exceptions as clients see them: times with the offset of the event's zone, in original-start order."""
    zone = timezones.get(event.timezone)
    items = []
    for original, exception in sorted(of(event).items()):
        item: dict[str, Any] = {"original_start_time": original.astimezone(zone).isoformat()}
        item["cancelled"] = exception.cancelled
        if exception.moved:
            item["start_time"] = exception.start.astimezone(zone).isoformat()
            item["end_time"] = exception.end.astimezone(zone).isoformat()
        for name in TEXT_FIELDS:
            if getattr(exception, name) is not None:
                item[name] = getattr(exception, name)
        items.append(item)
    return items


def partition(raw: dict | None, at: datetime) -> tuple[dict, dict]:
    """(the exceptions of occurrences before `at`, those from `at` on), both in the stored form."""
    exceptions = parse(raw)
    before = {k: v for k, v in exceptions.items() if k < at}
    after = {k: v for k, v in exceptions.items() if k >= at}
    return dump(before), dump(after)


@dataclass(frozen=True, slots=True)
class Schedule:
    """What places a series' occurrences: enough to expand it and to compare two versions of it."""

    start: datetime
    end: datetime
    tz: str
    is_all_day: bool
    recurrence: dict | None

    @classmethod
    def of(cls, event) -> Schedule:
        return cls(event.start_time, event.end_time, event.timezone, event.is_all_day, event.recurrence)

    @property
    def pattern(self) -> rules.Pattern | None:
        return rules.Pattern.from_json(self.recurrence) if self.recurrence else None

    def local_start(self) -> datetime:
        return self.start.astimezone(timezones.get(self.tz)).replace(tzinfo=None)

    def has_occurrence_at(self, at: datetime, pattern: rules.Pattern | None) -> bool:
        return rules.is_occurrence(
            start=self.start, end=self.end, tz=self.tz, pattern=pattern, is_all_day=self.is_all_day, at=at
        )


def follow(raw: dict | None, *, old: Schedule, new: Schedule) -> dict:
    """Exceptions of a series whose schedule changes from `old` to `new`, in the stored form.

    Each original start moves by the wall-clock shift from the start of `old` to the start of `new`, read
    in the new zone, so "the 14th is cancelled" stays true of the same occurrence when the meeting moves
    from 09:00 to 10:00. Exceptions whose occurrence `new` no longer has are dropped; a moved occurrence
    keeps the time it was moved to.
    """
    exceptions = parse(raw)
    pattern = new.pattern
    if not exceptions or pattern is None:
        return {}
    old_zone, new_zone = timezones.get(old.tz), timezones.get(new.tz)
    shift = new.local_start() - old.local_start()
    kept = {}
    for original, exception in exceptions.items():
        wall = original.astimezone(old_zone).replace(tzinfo=None) + shift
        moved_to = timezones.localize(wall, new.tz).astimezone(UTC) if shift or old_zone != new_zone else original
        if new.has_occurrence_at(moved_to, pattern):
            kept[moved_to] = replace(exception, original_start=moved_to)
    return dump(kept)


def changed(
    current: SeriesException | None,
    *,
    original_start: datetime,
    original_end: datetime,
    changes: dict[str, Any],
) -> SeriesException | None:
    """The exception after a client's `changes` to one occurrence (None: the occurrence is as the rule has it).

    `changes` holds `cancelled`, the text fields (None: back to the series' value) and `start`/`end` (UTC;
    the occurrence's own times when it is not moved).
    """
    if changes.get("cancelled"):
        return SeriesException(original_start, cancelled=True)
    base = current if current is not None and not current.cancelled else SeriesException(original_start)
    start = changes.get("start", base.start or original_start)
    end = changes.get("end", base.end or original_end)
    moved = (start, end) != (original_start, original_end)
    texts = {name: changes.get(name, getattr(base, name)) for name in TEXT_FIELDS}
    exception = SeriesException(
        original_start, False, start if moved else None, end if moved else None, **texts, ical=base.ical
    )
    return exception if exception.to_json() else None
