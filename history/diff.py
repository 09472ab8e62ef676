"""What changed between two versions of an event: changed fields, word-level text diffs, readable summaries.

Everything here is pure: it works on snapshots (dicts built from historical rows) and never queries.
A snapshot holds the fields a client sees, under their API names; bookkeeping (version, series_end,
the derived is_recurring, deleted_at) is left out — a deletion or restore shows as the version's action.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from difflib import SequenceMatcher
from typing import Any

from events import content
from events.content import Diff
from recurrence import timezones

# The content fields under their API names, in their order (events/content.py), by how they diff.
FIELDS = tuple(field.api_name for field in content.FIELDS)
TEXT_FIELDS = tuple(field.api_name for field in content.FIELDS if field.diff is Diff.TEXT)
TIME_FIELDS = tuple(field.api_name for field in content.FIELDS if field.diff is Diff.TIME)
(PATTERN_FIELD,) = (field.api_name for field in content.FIELDS if field.diff is Diff.PATTERN)
QUOTE_MAX = 60  # characters of a value quoted in a summary
LISTED_DATES_MAX = 3  # exdates/rdates named in a summary

# Before the first version.
EMPTY: dict[str, Any] = {field.api_name: field.empty for field in content.FIELDS}

# Words, runs of whitespace and single punctuation marks: joined back they give the text unchanged.
_TOKEN = re.compile(r"\w+|\s+|[^\w\s]")


def snapshot(row) -> dict[str, Any]:
    """The content of a historical row (or an event) under the API's names; missing values are empty."""
    values = {}
    for field in content.FIELDS:
        value = getattr(row, field.name, None)
        values[field.api_name] = field.empty if value is None else value
    return values


def changed_fields(old: dict | None, new: dict) -> list[str]:
    """Fields that differ, in FIELDS order; against no previous version, the fields that have a value."""
    old = old or EMPTY
    return [field for field in FIELDS if old[field] != new[field] and not (new[field] in ("", None) and old is EMPTY)]


def size_change(old: dict | None, new: dict) -> dict[str, int]:
    """Characters gained (or lost) per text field, and in all: only fields that changed, plus `total`."""
    old = old or EMPTY
    sizes = {field: len(new[field]) - len(old[field]) for field in TEXT_FIELDS if old[field] != new[field]}
    return {**sizes, "total": sum(sizes.values())}


# --- word-level diff -----------------------------------------------------------------------------


def word_diff(old: str, new: str) -> list[dict[str, str]]:
    """Runs [{op: equal|delete|insert, text}]: the equal and delete runs spell `old`, equal and insert `new`."""
    a, b = _TOKEN.findall(old), _TOKEN.findall(new)
    runs: list[dict[str, str]] = []

    def add(op: str, text: str) -> None:
        if not text:
            return
        if runs and runs[-1]["op"] == op:
            runs[-1]["text"] += text
        else:
            runs.append({"op": op, "text": text})

    for segment in _coalesce(_opcodes(a, b), a, b):
        if segment[0] == "equal":
            add("equal", segment[1])
        else:
            add("delete", segment[1])
            add("insert", segment[2])
    return runs


JUNK_ABOVE = 2000  # tokens left to compare after the common ends: above that, frequent tokens are ignored
# Steps SequenceMatcher may take for one diff (each token of `a` it walks, each pair of equal tokens it looks
# at): about 0.1 to 0.2 s, above what an edit to the longest texts takes (a 500-word text with 50 words changed:
# 1.3 million). Its worst case is cubic in the tokens:
# a text of a few tokens over and over ("x y x y ..." against "x x x ...": 2.5 s for 2,000 tokens). Past the
# budget the diff is made again with frequent tokens ignored, then, past it again, what lies between the common
# ends is one change.
STEPS_BUDGET = 1_500_000


class _TooCostly(Exception):
    pass


class _BoundedMatcher(SequenceMatcher):
    """SequenceMatcher that gives up (`_TooCostly`) rather than take more than `budget` steps.

    Each search for the longest match in a[alo:ahi] × b[blo:bhi] is charged, before it runs, what it walks: each
    token of its part of `a`, and every pair of equal tokens those take part in (a bound of what it looks at)."""

    def __init__(self, a: list[str], b: list[str], *, autojunk: bool, budget: int) -> None:
        super().__init__(None, a, b, autojunk=autojunk)
        self._budget = budget
        steps_before = [0]  # what a search walks for each token of `a` before this one: itself and its pairs
        for token in a:
            steps_before.append(steps_before[-1] + 1 + len(self.b2j.get(token, ())))
        self._steps_before = steps_before

    def find_longest_match(self, alo=0, ahi=None, blo=0, bhi=None):
        ahi = len(self.a) if ahi is None else ahi
        self._budget -= self._steps_before[ahi] - self._steps_before[alo] + 1
        if self._budget < 0:
            raise _TooCostly
        return super().find_longest_match(alo, ahi, blo, bhi)


def _middle_opcodes(a: list[str], b: list[str]) -> list[tuple]:
    """SequenceMatcher's opcodes for a and b (what lies between their common ends), within STEPS_BUDGET."""
    tries = (False, True) if len(a) + len(b) <= JUNK_ABOVE else (True,)
    for autojunk in tries:
        try:
            return _BoundedMatcher(a, b, autojunk=autojunk, budget=STEPS_BUDGET).get_opcodes()
        except _TooCostly:
            continue
    return [("replace", 0, len(a), 0, len(b))]


def _opcodes(a: list[str], b: list[str]) -> list[tuple]:
    """SequenceMatcher's opcodes, with the common prefix and suffix cut first: an edit to a long text
    compares only what lies between (SequenceMatcher is quadratic in the worst case)."""
    start = 0
    limit = min(len(a), len(b))
    while start < limit and a[start] == b[start]:
        start += 1
    end = 0
    while end < limit - start and a[len(a) - 1 - end] == b[len(b) - 1 - end]:
        end += 1
    middle_a, middle_b = a[start : len(a) - end], b[start : len(b) - end]
    # Very long middles: SequenceMatcher's "popular tokens are junk" heuristic keeps it fast (spaces and
    # common words then only match as part of longer runs).
    ops: list[tuple] = [("equal", 0, start, 0, start)] if start else []
    for tag, i1, i2, j1, j2 in _middle_opcodes(middle_a, middle_b):
        ops.append((tag, i1 + start, i2 + start, j1 + start, j2 + start))
    if end:
        ops.append(("equal", len(a) - end, len(a), len(b) - end, len(b)))
    return ops


_TRIVIAL = re.compile(r"[\W_]{0,3}")  # a space or a stray punctuation mark between two changes


def _coalesce(opcodes, a: list[str], b: list[str]) -> list[tuple]:
    """Equal or changed segments, two changes separated only by a trivial equal run read as one change
    (like Wikipedia's diff: "<b>x</b>" → "<i>y</i>" is one change, not five)."""
    segments: list[tuple] = []
    for tag, i1, i2, j1, j2 in opcodes:
        if tag == "equal":
            segments.append(("equal", "".join(a[i1:i2])))
        else:
            segments.append(("change", "".join(a[i1:i2]), "".join(b[j1:j2])))
    merged: list[tuple] = []
    index = 0
    while index < len(segments):
        segment = segments[index]
        if (
            segment[0] == "equal"
            and merged
            and merged[-1][0] == "change"
            and index + 1 < len(segments)
            and _TRIVIAL.fullmatch(segment[1])
        ):
            following = segments[index + 1]
            previous = merged.pop()
            merged.append(("change", previous[1] + segment[1] + following[1], previous[2] + segment[1] + following[2]))
            index += 2
            continue
        if segment[0] == "change" and merged and merged[-1][0] == "change":
            previous = merged.pop()
            segment = ("change", previous[1] + segment[1], previous[2] + segment[2])
        merged.append(segment)
        index += 1
    return merged


# --- readable values -----------------------------------------------------------------------------


def _local(value: datetime, tz: str) -> datetime:
    return value.astimezone(timezones.get(tz or "UTC"))


def _day(value: datetime) -> str:
    return f"{value:%a} {value.day} {value:%b %Y}"


def readable_time(value: datetime | None, tz: str, *, is_all_day: bool = False, is_end: bool = False) -> str | None:
    """'Mon 7 Jan 2030 09:00 CET'; all-day events by day (an end is the last day, not the midnight after it)."""
    if value is None:
        return None
    local = _local(value, tz)
    if is_all_day:
        return _day(local - timedelta(days=1) if is_end else local)
    return f"{_day(local)} {local:%H:%M} {local.tzname()}"


def rfc3339(value: datetime | None, tz: str) -> str | None:
    return _local(value, tz).isoformat() if value is not None else None


_FREQ = {
    "YEARLY": ("year", "yearly"),
    "MONTHLY": ("month", "monthly"),
    "WEEKLY": ("week", "weekly"),
    "DAILY": ("day", "daily"),
    "HOURLY": ("hour", "hourly"),
    "MINUTELY": ("minute", "every minute"),
    "SECONDLY": ("second", "every second"),
}
_DAYS = {"MO": "Mon", "TU": "Tue", "WE": "Wed", "TH": "Thu", "FR": "Fri", "SA": "Sat", "SU": "Sun"}
_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
_ORDINALS = {1: "1st", 2: "2nd", 3: "3rd", -1: "last", -2: "2nd to last"}


def _ordinal(n: int) -> str:
    return _ORDINALS.get(n) or (f"{n}th" if n > 0 else f"{-n}th to last")


def _byday(value: str) -> str:
    names = []
    for part in value.split(","):
        match = re.fullmatch(r"([+-]?\d+)?([A-Z]{2})", part)
        if not match or match.group(2) not in _DAYS:
            return value
        number, day = match.groups()
        names.append(f"the {_ordinal(int(number))} {_DAYS[day]}" if number else _DAYS[day])
    return ", ".join(names)


def _until(value: str) -> str:
    match = re.fullmatch(r"(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})\d{2}Z?)?", value)
    if not match:
        return value
    year, month, day, hour, minute = match.groups()
    text = f"{int(day)} {_MONTHS[int(month) - 1]} {year}" if 1 <= int(month) <= 12 else value
    return f"{text} {hour}:{minute} UTC" if hour else text


def readable_rule(rrule: str) -> str:
    """'every 2 weeks on Mon, Wed, 10 times' for the common parts of an RRULE; the rest is quoted as is."""
    parts = dict(part.split("=", 1) for part in rrule.split(";") if "=" in part)
    freq = parts.pop("FREQ", "")
    if freq not in _FREQ:
        return rrule
    unit, adverb = _FREQ[freq]
    interval = parts.pop("INTERVAL", "1")
    text = adverb if interval == "1" else f"every {interval} {unit}s"
    if "BYDAY" in parts:
        text += f" on {_byday(parts.pop('BYDAY'))}"
    if "BYMONTHDAY" in parts:
        text += f" on day {parts.pop('BYMONTHDAY').replace(',', ', ')}"
    if "BYMONTH" in parts:
        months = parts.pop("BYMONTH").split(",")
        text += " in " + ", ".join(_MONTHS[int(m) - 1] if m.isdigit() and 1 <= int(m) <= 12 else m for m in months)
    if "COUNT" in parts:
        count = parts.pop("COUNT")
        text += ", once" if count == "1" else f", {count} times"
    if "UNTIL" in parts:
        text += f", until {_until(parts.pop('UNTIL'))}"
    parts.pop("WKST", None)
    if parts:
        text += " (" + ";".join(f"{key}={value}" for key, value in parts.items()) + ")"
    return text


def _pattern_parts(pattern: dict | None) -> tuple[str | None, set[str], set[str]]:
    if not pattern:
        return None, set(), set()
    return pattern.get("rrule"), set(pattern.get("exdates") or ()), set(pattern.get("rdates") or ())


def _readable_instants(values: set[str], tz: str, is_all_day: bool) -> list[str]:
    return [readable_time(timezones.stored_instant(v), tz, is_all_day=is_all_day) or v for v in sorted(values)]


# --- field diffs (the diff endpoint and page) ----------------------------------------------------


def field_changes(old: dict, new: dict) -> dict[str, dict[str, Any]]:
    """{field: {old, new, ...}} for every field that differs; text fields add `diff` runs and `size_change`,
    times their readable forms, the recurrence its readable rule and the exdates/rdates added and removed."""
    changes: dict[str, dict[str, Any]] = {}
    for field in changed_fields(old, new):
        if field in TEXT_FIELDS:
            changes[field] = {
                "old": old[field],
                "new": new[field],
                "diff": word_diff(old[field], new[field]),
                "size_change": len(new[field]) - len(old[field]),
            }
        elif field in TIME_FIELDS:
            is_end = field == "end_time"
            changes[field] = {
                "old": rfc3339(old[field], old["timezone"]),
                "new": rfc3339(new[field], new["timezone"]),
                "old_display": readable_time(old[field], old["timezone"], is_all_day=old["is_all_day"], is_end=is_end),
                "new_display": readable_time(new[field], new["timezone"], is_all_day=new["is_all_day"], is_end=is_end),
            }
        elif field == PATTERN_FIELD:
            old_rule, old_ex, old_r = _pattern_parts(old[field])
            new_rule, new_ex, new_r = _pattern_parts(new[field])
            changes[field] = {
                "old": old[field],
                "new": new[field],
                "old_display": readable_rule(old_rule) if old_rule else None,
                "new_display": readable_rule(new_rule) if new_rule else None,
                "exdates_added": sorted(new_ex - old_ex),
                "exdates_removed": sorted(old_ex - new_ex),
                "rdates_added": sorted(new_r - old_r),
                "rdates_removed": sorted(old_r - new_r),
            }
        else:
            changes[field] = {"old": old[field], "new": new[field]}
    return changes


# --- summaries (the changelog) -------------------------------------------------------------------


def _quote(text: str) -> str:
    text = " ".join(text.split())
    return f"'{text[: QUOTE_MAX - 1]}…'" if len(text) > QUOTE_MAX else f"'{text}'"


def _signed(n: int) -> str:
    return f"+{n}" if n > 0 else f"−{-n}" if n < 0 else "±0"


def _chars(n: int) -> str:
    return f"{_signed(n)} character{'s' if abs(n) != 1 else ''}"


def _text_part(field: str, old: str, new: str) -> str:
    label = {"title": "the title", "description": "the description", "location": "the location"}[field]
    if field == "description":
        if not old:
            return f"added a description ({_chars(len(new))})"
        if not new:
            return f"removed the description ({_chars(-len(old))})"
        return f"edited the description ({_chars(len(new) - len(old))})"
    if not old:
        return f"set {label} to {_quote(new)}"
    if not new:
        return f"removed {label} {_quote(old)}"
    return f"changed {label} from {_quote(old)} to {_quote(new)}"


@dataclass(frozen=True)
class _Moment:
    value: datetime
    tz: str
    is_all_day: bool
    is_end: bool = False

    def local(self) -> datetime:
        shown = _local(self.value, self.tz)
        return shown - timedelta(days=1) if self.is_all_day and self.is_end else shown


def _span(old: _Moment, new: _Moment) -> str:
    """'10:00 → 11:00 on Mon 7 Jan 2030' on the same day, else both in full."""
    a, b = old.local(), new.local()
    if old.is_all_day or new.is_all_day:
        return f"{_day(a)} → {_day(b)}"
    same_zone = a.tzname() == b.tzname() and old.tz == new.tz
    if a.date() == b.date() and same_zone:
        return f"{a:%H:%M} → {b:%H:%M} on {_day(a)} ({a.tzname()})"
    return f"{readable_time(old.value, old.tz)} → {readable_time(new.value, new.tz)}"


def _time_parts(old: dict, new: dict, changed: list[str]) -> list[str]:
    def moment(snap: dict, field: str) -> _Moment:
        return _Moment(snap[field], snap["timezone"], snap["is_all_day"], is_end=field == "end_time")

    starts = "start_time" in changed
    ends = "end_time" in changed
    if starts and ends and new["start_time"] - old["start_time"] == new["end_time"] - old["end_time"]:
        return [f"moved {_span(moment(old, 'start_time'), moment(new, 'start_time'))}"]
    parts = []
    if starts:
        parts.append(f"changed the start {_span(moment(old, 'start_time'), moment(new, 'start_time'))}")
    if ends:
        parts.append(f"changed the end {_span(moment(old, 'end_time'), moment(new, 'end_time'))}")
    return parts


def _dates_phrase(values: set[str], snap: dict) -> str:
    named = _readable_instants(values, snap["timezone"], snap["is_all_day"])
    shown = ", ".join(named[:LISTED_DATES_MAX])
    return shown + (f" and {len(named) - LISTED_DATES_MAX} more" if len(named) > LISTED_DATES_MAX else "")


def _recurrence_parts(old: dict, new: dict) -> list[str]:
    old_rule, old_ex, old_r = _pattern_parts(old["recurrence_pattern"])
    new_rule, new_ex, new_r = _pattern_parts(new["recurrence_pattern"])
    if old_rule is None and new_rule is not None:
        return [f"made it repeat {readable_rule(new_rule)}"]
    if new_rule is None:
        return [f"made it a single event (it repeated {readable_rule(old_rule or '')})"]
    parts = []
    if old_rule != new_rule:
        parts.append(f"changed the repetition from {readable_rule(old_rule or '')} to {readable_rule(new_rule)}")
    for values, verb in (
        (new_ex - old_ex, "cancelled"),
        (old_ex - new_ex, "brought back"),
        (new_r - old_r, "added"),
        (old_r - new_r, "removed the added"),
    ):
        if values:
            noun = "occurrence" if len(values) == 1 else "occurrences"
            parts.append(f"{verb} {len(values)} {noun} ({_dates_phrase(values, new)})")
    return parts


def change_parts(old: dict, new: dict) -> list[str]:
    """Readable phrases for what changed from `old` to `new`, in field order."""
    changed = changed_fields(old, new)
    parts: list[str] = []
    for field in TEXT_FIELDS:
        if field in changed:
            parts.append(_text_part(field, old[field], new[field]))
    parts += _time_parts(old, new, changed)
    if "timezone" in changed:
        parts.append(f"changed the time zone from {old['timezone']} to {new['timezone']}")
    if "is_all_day" in changed:
        parts.append("made it an all-day event" if new["is_all_day"] else "made it a timed event")
    if "recurrence_pattern" in changed:
        parts += _recurrence_parts(old, new)
    if "exceptions" in changed:
        touched = {
            key
            for key in old["exceptions"].keys() | new["exceptions"].keys()
            if old["exceptions"].get(key) != new["exceptions"].get(key)
        }
        parts.append(f"changed {len(touched)} occurrence{'s' if len(touched) != 1 else ''} of the series")
    return parts


def version_summary(action: str, old: dict | None, new: dict, *, rolled_back_to: int | None = None) -> str:
    """One readable sentence for a version, e.g. "changed the title from 'A' to 'B'; moved 10:00 → 11:00 ..."."""
    if action == "created" or old is None:
        when = readable_time(new["start_time"], new["timezone"], is_all_day=new["is_all_day"])
        text = f"created the event {_quote(new['title'])} ({when})"
        if new["recurrence_pattern"]:
            text += f", repeating {readable_rule(new['recurrence_pattern'].get('rrule', ''))}"
        return text
    if action == "deleted":
        return "deleted the event"
    if action == "restored":
        return "restored the event"
    parts = change_parts(old, new)
    if action == "rolled_back":
        head = f"rolled back to version {rolled_back_to}" if rolled_back_to else "rolled back"
        return f"{head}: {'; '.join(parts)}" if parts else head
    if action in ("occurrence_changed", "split"):
        head = "changed an occurrence" if action == "occurrence_changed" else "split the series"
        return f"{head}: {'; '.join(parts)}" if parts else head
    return "; ".join(parts) if parts else "saved without changes"


def permission_summary(kind: str, *, username: str, role: str, old_role: str | None, self_change: bool) -> str:
    if kind == "permission_granted":
        return f"shared the event with {username} as {role}"
    if kind == "permission_changed":
        return f"changed {username}'s role from {old_role} to {role}"
    if self_change:
        return f"left the event (was {role})"
    return f"removed {username} ({role}) from the event"
