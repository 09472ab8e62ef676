"""What an event says: its content fields, and for each how it is named, shown, diffed, merged and split.

Content is what a version of an event says apart from its bookkeeping (id, uid, version, timestamps,
the derived series bounds) and its owner (owners change through sharing, which has its own history):
what a rollback restores, what a diff compares, what the tail of a split series starts from. Every
place that handles "the event's fields" reads this table: the API representation
(events/representation.py, events/serializers.py), stale-write merges (events/merge.py), splits
(events/split.py, events/services.py), rollback (events/rollback.py), history snapshots and diffs
(history/diff.py), the `.only()` lists of expansions (events/occurrences.py) and the iCalendar mapping
(ical/mapping.py, which must say how it carries each field). A new content field is added here once.

Pure: no Django, no queries.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from recurrence import overrides as series_overrides


class Diff(Enum):
    """How the history diff compares and shows a field (history/diff.py)."""

    TEXT = "text"  # word-level runs and characters gained or lost
    TIME = "time"  # instants in the version's zone, and readable
    PATTERN = "pattern"  # the readable rule, exdates and rdates added and removed
    VALUE = "value"  # old and new as they are


class OnSplit(Enum):
    """What the new series of a split (scope=following) takes of a field (events/split.py)."""

    KEPT = "kept"  # the old series' value
    OCCURRENCE = "occurrence"  # the start or end of the occurrence the series is split at
    CUT = "cut"  # the part from the split point on (the rule, the exceptions)
    EMPTY = "empty"  # nothing: the new series starts without it


# A member of the event's API representation: its name, and its value from the event and its zone.
Member = tuple[str, Callable[[Any, Any], Any]]


def _as_is(name: str) -> Callable[[Any, Any], Any]:
    return lambda event, zone: getattr(event, name)


def _in_zone(name: str) -> Callable[[Any, Any], Any]:
    return lambda event, zone: getattr(event, name).astimezone(zone).isoformat()


_PATTERN_ORDER = ("rrule", "exdates", "rdates")


def _pattern(event, zone) -> dict | None:
    """The stored pattern with its members in one order: PostgreSQL's jsonb gives them back in its own, so an
    answer built from the event a write left and one read from the database would otherwise differ."""
    raw = event.recurrence
    if raw is None:
        return None
    return {**{key: raw[key] for key in _PATTERN_ORDER if key in raw}, **raw}


@dataclass(frozen=True)
class ContentField:
    name: str  # the model field
    api_name: str  # its name in answers, diffs, changelogs and merge conflicts
    diff: Diff
    empty: Any  # its value before the first version (what version 1's diff compares with); never mutated
    members: tuple[Member, ...]  # what the API representation shows of it (none: kept, not shown)
    schedule: bool = False  # part of the schedule: merges as one unit, moves the exceptions, re-checks conflicts
    expands: bool = False  # read to expand the event into occurrences (`.only()` of expansions)
    on_split: OnSplit = OnSplit.KEPT


FIELDS: tuple[ContentField, ...] = (
    ContentField("title", "title", Diff.TEXT, "", (("title", _as_is("title")),), expands=True),
    ContentField("description", "description", Diff.TEXT, "", (("description", _as_is("description")),)),
    ContentField("location", "location", Diff.TEXT, "", (("location", _as_is("location")),), expands=True),
    ContentField(
        "start_time",
        "start_time",
        Diff.TIME,
        None,
        (("start_time", _in_zone("start_time")),),
        schedule=True,
        expands=True,
        on_split=OnSplit.OCCURRENCE,
    ),
    ContentField(
        "end_time",
        "end_time",
        Diff.TIME,
        None,
        (("end_time", _in_zone("end_time")),),
        schedule=True,
        expands=True,
        on_split=OnSplit.OCCURRENCE,
    ),
    ContentField(
        "timezone", "timezone", Diff.VALUE, "", (("timezone", _as_is("timezone")),), schedule=True, expands=True
    ),
    ContentField(
        "is_all_day",
        "is_all_day",
        Diff.VALUE,
        False,
        (("is_all_day", _as_is("is_all_day")),),
        schedule=True,
        expands=True,
    ),
    # `is_recurring` is derived from it (kept for filtering), and shown with it.
    ContentField(
        "recurrence",
        "recurrence_pattern",
        Diff.PATTERN,
        None,
        (("is_recurring", _as_is("is_recurring")), ("recurrence_pattern", _pattern)),
        schedule=True,
        expands=True,
        on_split=OnSplit.CUT,
    ),
    # Changed and cancelled occurrences of a series (recurrence/overrides.py).
    ContentField(
        "exceptions",
        "exceptions",
        Diff.VALUE,
        {},
        (("exceptions", lambda event, zone: series_overrides.describe(event)),),
        expands=True,
        on_split=OnSplit.CUT,
    ),
    # What an imported VEVENT carried that no other field models (ical/extra.py): kept and versioned,
    # shown only in iCalendar. A split's new series is a new iCalendar object and starts without it.
    ContentField("ical_extra", "ical_extra", Diff.VALUE, {}, (), on_split=OnSplit.EMPTY),
)

# The mark, in what an imported VEVENT or override kept (`ical_extra`, an exception's `ical`), that it took no
# time (RFC 5545 §3.6.1; ical/extra.py writes it and reads it). Our events last, so an instant lasts one minute;
# a write that gives the event or the occurrence another length ends the mark, so that a later return to one
# minute is a one-minute event, not an instant again.
ICAL_INSTANT = "instant"


def without_instant_mark(kept: dict | None) -> dict | None:
    """`kept` without the instant mark (the same object when it has none)."""
    if not kept or ICAL_INSTANT not in kept:
        return kept
    return {key: value for key, value in kept.items() if key != ICAL_INSTANT}


BY_NAME: Mapping[str, ContentField] = {field.name: field for field in FIELDS}
NAMES: tuple[str, ...] = tuple(BY_NAME)
API_NAMES: Mapping[str, str] = {field.name: field.api_name for field in FIELDS}
SCHEDULE: tuple[str, ...] = tuple(field.name for field in FIELDS if field.schedule)
TEXT: tuple[str, ...] = tuple(field.name for field in FIELDS if field.diff is Diff.TEXT)
# What the new series of a split takes from the old one as it is.
KEPT_ON_SPLIT: tuple[str, ...] = tuple(field.name for field in FIELDS if field.on_split is OnSplit.KEPT)
# What expanding an event into occurrences reads (OccurrenceSerializer included), for `.only()`.
EXPANDED: tuple[str, ...] = tuple(field.name for field in FIELDS if field.expands)
# The event's content as the API shows it, in the order of the representation.
MEMBERS: tuple[Member, ...] = tuple(member for field in FIELDS for member in field.members)


def values_of(source) -> dict[str, Any]:
    """The content of an event, a historical row or an unsaved event, by model field name."""
    return {name: getattr(source, name) for name in NAMES}


def missing_from(mapping: Mapping[str, Any]) -> list[str]:
    """The content fields another representation of events (iCalendar) does not say how it carries."""
    return sorted(set(NAMES) - set(mapping))
