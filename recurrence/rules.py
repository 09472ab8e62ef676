"""RFC 5545 recurrence (RRULE + RDATE + EXDATE) expanded in the event's own time zone.

A pure library: python-dateutil, zoneinfo and the standard library only.

Semantics, where RFC 5545 leaves room or where dateutil differs from it:

* Expansion happens in local wall-clock time: the RRULE is expanded on naive local datetimes starting at
  the event's local DTSTART, then every instance is placed in the zone, so a 09:00 meeting stays at 09:00
  local across DST changes (its UTC time moves).
* A wall time that does not exist (spring-forward gap) is read with the offset in force before the gap,
  i.e. it moves forward by the length of the gap (02:30 -> 03:30 EDT); a wall time that occurs twice
  (fall-back) means its first occurrence (fold=0). This is RFC 5545 section 3.3.5, which section 3.3.10
  points to for recurrence instances. (An older sentence of 3.3.10 says such instances "MUST be
  ignored"; like the major calendar services we move them instead of dropping them.) Two instances that
  land on the same instant this way count once.
* DTSTART is always the first instance, whether or not the rule generates it, and it counts towards COUNT
  (3.3.10: "The DTSTART property value always counts as the first occurrence"; 3.8.5.3: "The DTSTART
  property defines the first instance"). This is why the RFC's "every Friday the 13th" example needs an
  EXDATE for its DTSTART. Otherwise the set is what the RRULE generates from DTSTART on.
* COUNT counts generated instances before EXDATE removal; UNTIL is inclusive. UNTIL is stored as a UTC
  DATE-TIME for timed events and as a DATE for all-day events (3.3.10); a DATE given for a timed event
  covers that whole local day, a floating local time is read in the event's zone.
* A timed occurrence lasts exactly (end - start). An all-day occurrence starts at local midnight and
  spans the event's number of local calendar days (at least one), so a DST day is 23 or 25 hours long.
* EXDATE removes the instance starting at the same instant (all-day events: on the same local date);
  RDATE adds instances of the same length; EXDATE wins over RDATE; duplicates count once.
* All-day EXDATE/RDATE values are stored as the UTC instant of their local midnight, so they follow the
  event's zone as it was when they were parsed.
"""

from __future__ import annotations

import heapq
import re
from bisect import bisect_left
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import MAXYEAR, UTC, date, datetime, time, timedelta
from functools import lru_cache
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil import rrule as du


class RecurrenceError(ValueError):
    """Raised with a message a client can read, e.g. 'RRULE: unknown part FOO' ."""


MIN_INTERVAL = timedelta(minutes=5)  # rules that recur more often than this are refused ("too dense")
MAX_EXDATES = 1000  # size limits on the lists
MAX_RDATES = 1000
MAX_RRULE_LENGTH = 1000
MAX_COUNT = 10_000  # bounds the work of finding the last instance of a COUNT rule

_MAX_INTERVAL = 1000  # dateutil steps DAILY intervals day by day through month ends
_FREQS = ("YEARLY", "MONTHLY", "WEEKLY", "DAILY", "HOURLY", "MINUTELY", "SECONDLY")  # index = dateutil's
_WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")  # index = datetime.weekday()
_PART_NAMES = frozenset(
    (
        "FREQ",
        "UNTIL",
        "COUNT",
        "INTERVAL",
        "BYSECOND",
        "BYMINUTE",
        "BYHOUR",
        "BYDAY",
        "BYMONTHDAY",
        "BYYEARDAY",
        "BYWEEKNO",
        "BYMONTH",
        "BYSETPOS",
        "WKST",
    )
)
_CYCLE_YEARS = 400  # the Gregorian calendar (weekdays, leap days, ISO weeks) repeats exactly every 400 years
# How far after DTSTART parse_pattern looks for instances (and how far a COUNT rule may run).
_HORIZON_YEARS = {
    du.YEARLY: 1000,
    du.MONTHLY: 200,
    du.WEEKLY: 100,
    du.DAILY: 50,
    du.HOURLY: 50,
    du.MINUTELY: 50,
}
_GAP_SAMPLE = 300  # instances whose spacing is checked against MIN_INTERVAL (more than 288 fit in a day)
_ONE_DAY = timedelta(days=1)
_OPEN_WINDOW = timedelta(days=36525)  # how far an open-ended window looks: 100 years
_SHIFT_MARGIN = timedelta(days=2)  # a DST gap moves a wall time forward by at most a day (Samoa, 2011)
_MIDNIGHT = time()

_SIGNED_RE = re.compile(r"[+-]?\d{1,3}")
_UNSIGNED_RE = re.compile(r"\d{1,3}")
_NUMBER_RE = re.compile(r"\d{1,6}")
_BYDAY_RE = re.compile(r"([+-]?\d{1,2})?(MO|TU|WE|TH|FR|SA|SU)")
_ICAL_RE = re.compile(r"(\d{8})(?:T(\d{6})(Z?))?")


# --------------------------------------------------------------------------------------------------
# Public types


@dataclass(frozen=True, slots=True)
class Pattern:
    rrule: str  # normalized, uppercase, without the "RRULE:" prefix, parts in a canonical order
    exdates: tuple[datetime, ...]  # aware, UTC, sorted, deduplicated
    rdates: tuple[datetime, ...]  # aware, UTC, sorted, deduplicated

    def to_json(self) -> dict:
        return {
            "rrule": self.rrule,
            "exdates": [_rfc3339(d) for d in self.exdates],
            "rdates": [_rfc3339(d) for d in self.rdates],
        }

    @classmethod
    def from_json(cls, data: dict) -> Pattern:
        """Inverse of to_json; trusts stored data (no validation)."""
        return cls(
            rrule=data["rrule"],
            exdates=tuple(sorted(_stored_instant(s) for s in data.get("exdates") or ())),
            rdates=tuple(sorted(_stored_instant(s) for s in data.get("rdates") or ())),
        )


@dataclass(frozen=True, slots=True)
class Occurrence:
    start: datetime  # aware (in UTC)
    end: datetime  # aware (in UTC)
    original_start: datetime  # aware (in UTC): the start the rule generated (same as start here)


def parse_pattern(
    value: Any,
    *,
    start: datetime,
    end: datetime,
    tz: str,
    is_all_day: bool = False,
) -> Pattern | None:
    """Validate client input (None, an RRULE string or {"rrule", "exdates", "rdates"}) into a Pattern.

    Returns None for None or a blank string. Raises RecurrenceError for anything a client got wrong (see
    the messages below); start/end/tz belong to the event and are expected to be valid already (ValueError).
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, str):
        text: Any = value
        raw_exdates: Any = None
        raw_rdates: Any = None
    elif isinstance(value, dict):
        unknown = sorted(str(k) for k in value if k not in ("rrule", "exdates", "rdates"))
        if unknown:
            raise RecurrenceError(f"recurrence: unknown key {unknown[0]!r} (expected rrule, exdates, rdates)")
        text = value.get("rrule")
        raw_exdates = value.get("exdates")
        raw_rdates = value.get("rdates")
        if not isinstance(text, str) or not text.strip():
            raise RecurrenceError("recurrence: 'rrule' must be a non-empty RRULE string")
    else:
        raise RecurrenceError(
            "recurrence must be an RRULE string or an object with rrule, exdates and rdates",
        )

    frame = _frame(start, end, tz, is_all_day)
    rule = _parse_rule(text)
    if is_all_day:
        if rule.freq > du.DAILY:
            raise RecurrenceError(f"RRULE: FREQ={_FREQS[rule.freq]} cannot be used for an all-day event")
        if rule.byhour or rule.byminute or rule.bysecond:
            raise RecurrenceError("RRULE: BYHOUR, BYMINUTE and BYSECOND cannot be used for an all-day event")
    try:
        until = _resolve_until(rule.until, frame.zone, is_all_day)
    except OverflowError:
        raise RecurrenceError("RRULE: UNTIL is out of range") from None
    first_day = frame.start.astimezone(frame.zone).date()
    if until is not None and until < (first_day if is_all_day else frame.start):
        raise RecurrenceError("RRULE: UNTIL is before the start of the event")
    rule = replace(rule, until=until)
    pattern = Pattern(
        rrule=rule.format(),
        exdates=_parse_instants(raw_exdates, "EXDATE", "exdates", MAX_EXDATES, frame),
        rdates=_parse_instants(raw_rdates, "RDATE", "rdates", MAX_RDATES, frame),
    )

    series = _series(pattern.rrule, tz, frame.start, is_all_day)
    _check_rule_produces(series)
    if not occurrences(start=start, end=end, tz=tz, pattern=pattern, is_all_day=is_all_day, limit=1)[0]:
        raise RecurrenceError("recurrence: EXDATE removes every occurrence")
    return pattern


def occurrences(
    *,
    start: datetime,
    end: datetime,
    tz: str,
    pattern: Pattern | None,
    is_all_day: bool = False,
    window_start: datetime | None = None,
    window_end: datetime | None = None,
    limit: int = 250,
) -> tuple[list[Occurrence], bool]:
    """Occurrences overlapping [window_start, window_end), in start order, at most `limit`.

    An occurrence overlaps when it starts before window_end and ends after window_start; one of zero
    length starting exactly at window_start counts. The bool is True when more occurrences existed.
    A None window_start is unbounded; a None window_end looks 100 years past window_start (or the
    event's start), and the bool is then also True when occurrences exist beyond that horizon.
    The rule is entered near window_start (not walked from DTSTART) and left at window_end or after
    limit + 1 matches, so the work follows what is returned, not how old the series is.
    """
    if limit < 0:
        raise ValueError("limit must not be negative")
    found: list[Occurrence] = []
    for item in _overlapping(start, end, tz, pattern, is_all_day, window_start, window_end):
        if item is None or len(found) == limit:
            return found, True  # past an open window's horizon, or past the limit: more exist
        found.append(item)
    return found, False


def iter_occurrences(
    *,
    start: datetime,
    end: datetime,
    tz: str,
    pattern: Pattern | None,
    is_all_day: bool = False,
    window_start: datetime | None = None,
    window_end: datetime | None = None,
) -> Iterator[Occurrence]:
    """The occurrences of `occurrences`, produced lazily in start order (to merge many series and stop
    early); a None window_end stops 100 years after window_start (or the event's start)."""
    for item in _overlapping(start, end, tz, pattern, is_all_day, window_start, window_end):
        if item is None:
            return
        yield item


def _overlapping(
    start: datetime,
    end: datetime,
    tz: str,
    pattern: Pattern | None,
    is_all_day: bool,
    window_start: datetime | None,
    window_end: datetime | None,
) -> Iterator[Occurrence | None]:
    """Occurrences overlapping the window in start order, then None if an open window's horizon cut them."""
    frame = _frame(start, end, tz, is_all_day)
    lo = _aware_utc(window_start, "window_start")
    hi = _aware_utc(window_end, "window_end")
    if pattern is None:
        s, e = frame.start, frame.end
        if (hi is None or s < hi) and (lo is None or e > lo or s == lo):
            yield Occurrence(s, e, s)
        return

    series = _series(pattern.rrule, tz, frame.start, is_all_day)
    lower = None if lo is None else _add(lo, -frame.longest)
    open_ended = hi is None
    if open_ended:
        hi = _add(lo or frame.start, _OPEN_WINDOW)
    for u, wall in _expand(series, pattern, frame, lower):
        if hi is not None and u >= hi:
            if open_ended:
                yield None
            return
        e = frame.end_of(u, wall)
        if lo is not None and e <= lo and u != lo:
            continue
        yield Occurrence(u, e, u)


def is_occurrence(
    *, start: datetime, end: datetime, tz: str, pattern: Pattern | None, is_all_day: bool = False, at: datetime
) -> bool:
    """Whether an occurrence of the recurrence set (DTSTART + RRULE + RDATE - EXDATE) starts at instant `at`."""
    frame = _frame(start, end, tz, is_all_day)
    at = _aware_utc(at, "at")
    if pattern is None:
        return at == frame.start
    series = _series(pattern.rrule, tz, frame.start, is_all_day)
    for u, _ in _expand(series, pattern, frame, at):
        if u >= at:
            return u == at
    return False


@dataclass(frozen=True, slots=True)
class WallSlot:
    """Where on the local clock every instance of a set falls."""

    time_of_day: timedelta  # since local midnight
    weekdays: frozenset[int] | None  # 0 = Monday; None: any day


def wall_slot(*, start: datetime, tz: str, pattern: Pattern | None, is_all_day: bool = False) -> WallSlot | None:
    """The local wall time of day shared by every instance of the set, and the weekdays they can fall on
    when those are limited; None when the instances have no one time of day.

    Rules of a day or longer without BYHOUR/BYMINUTE/BYSECOND repeat DTSTART's wall time (a wall time in
    a DST gap is moved forward on that day, which callers must allow for); BYDAY, or a WEEKLY rule's
    DTSTART, limits the weekdays (DTSTART's own is always one of them). RDATEs may be at any time.
    Lets callers rule out overlaps without expanding the series.
    """
    if pattern is None or is_all_day or pattern.rdates:
        return None
    rule = _parse_rule(pattern.rrule)
    if rule.freq > du.DAILY or rule.byhour or rule.byminute or rule.bysecond:
        return None
    local = _aware_utc(start, "start").astimezone(_zone(tz)).replace(tzinfo=None)
    weekdays = None
    if rule.byday:
        weekdays = frozenset({day for day, _ in rule.byday} | {local.weekday()})
    elif rule.freq == du.WEEKLY:
        weekdays = frozenset({local.weekday()})
    return WallSlot(local - datetime.combine(local.date(), _MIDNIGHT), weekdays)


def split(
    *, start: datetime, end: datetime, tz: str, pattern: Pattern, is_all_day: bool = False, at: datetime
) -> tuple[Pattern, Pattern]:
    """Cut a series at its instance `at` into (head, tail).

    The head, with the event's own start, has exactly the instances before `at` (a COUNT rule keeps the
    count of those, any other rule ends with an UNTIL just before `at`). The tail is the pattern of a
    series that starts at `at` and goes on as this one would have: COUNT reduced by the head's count,
    the same UNTIL, the EXDATE and RDATE values from `at` on. Raises RecurrenceError when `at` is the
    first instance or not one the rule generates (an RDATE alone cannot start a series), or when the head
    would keep no occurrence.
    """
    frame = _frame(start, end, tz, is_all_day)
    at = _aware_utc(at, "at")
    if at <= frame.start:
        raise RecurrenceError("recurrence: a series can only be split after its first occurrence")
    series = _series(pattern.rrule, tz, frame.start, is_all_day)
    rule = series.rule
    before = 0
    at_wall = None
    for u, wall in series.instants(None):
        if u >= at:
            at_wall = wall if u == at else None
            break
        before += 1
    if at_wall is None:
        raise RecurrenceError("recurrence: the rule has no occurrence starting at that time")

    if rule.count is not None:
        head_rule, tail_rule = replace(rule, count=before), replace(rule, count=rule.count - before)
    else:
        if is_all_day:
            last: date | datetime = at.astimezone(frame.zone).date() - _ONE_DAY
        else:
            last = at.replace(microsecond=0) - timedelta(seconds=1)
        head_rule, tail_rule = replace(rule, until=last), rule
    if not is_all_day and rule.freq < du.HOURLY and at.astimezone(frame.zone).replace(tzinfo=None) != at_wall:
        # `at` was moved forward out of a DST gap: pin the wall time the rule means, not the moved one.
        wall = at_wall - series.frac
        tail_rule = replace(
            tail_rule,
            byhour=tail_rule.byhour or (wall.hour,),
            byminute=tail_rule.byminute or (wall.minute,),
            bysecond=tail_rule.bysecond or (wall.second,),
        )
    cut = bisect_left(pattern.exdates, at), bisect_left(pattern.rdates, at)
    head = Pattern(head_rule.format(), pattern.exdates[: cut[0]], pattern.rdates[: cut[1]])
    tail = Pattern(tail_rule.format(), pattern.exdates[cut[0] :], pattern.rdates[cut[1] :])
    if not occurrences(start=start, end=end, tz=tz, pattern=head, is_all_day=is_all_day, limit=1)[0]:
        raise RecurrenceError("recurrence: every occurrence before that one is excluded; change the whole series")
    return head, tail


def series_end(
    *, start: datetime, end: datetime, tz: str, pattern: Pattern | None, is_all_day: bool = False
) -> datetime | None:
    """End (aware UTC) of the last occurrence; None when the rule is unbounded (no COUNT or UNTIL).

    Accounts for EXDATEs on the last instances and for RDATEs after the rule's last instance.
    No pattern: the event's own end.
    """
    frame = _frame(start, end, tz, is_all_day)
    if pattern is None:
        return frame.end
    series = _series(pattern.rrule, tz, frame.start, is_all_day)
    if series.until_wall is None:
        return None
    # Look back from the end of the rule, further each time EXDATEs leave nothing in the stretch.
    span = series.period * 2 + _SHIFT_MARGIN
    while True:
        lower_wall = _add(series.until_wall, -span)
        lower = None
        if lower_wall is not None and lower_wall > series.dtstart:
            lower = _resolve(lower_wall, frame.zone)
        last = deque(_expand(series, pattern, frame, lower), maxlen=1)
        if last:
            return frame.end_of(*last[0])
        if lower is None:
            return frame.end  # EXDATE removed everything (parse_pattern refuses such patterns)
        span *= 8


# --------------------------------------------------------------------------------------------------
# Parsing the RRULE


@dataclass(frozen=True, slots=True)
class _Rule:
    """A syntactically valid RRULE; tuples are deduplicated and in canonical order."""

    freq: int
    interval: int = 1
    count: int | None = None
    until: date | datetime | None = None  # date, floating (naive) or UTC datetime
    bysecond: tuple[int, ...] = ()
    byminute: tuple[int, ...] = ()
    byhour: tuple[int, ...] = ()
    byday: tuple[tuple[int, int | None], ...] = ()  # (weekday 0=MO, ordinal or None)
    bymonthday: tuple[int, ...] = ()
    byyearday: tuple[int, ...] = ()
    byweekno: tuple[int, ...] = ()
    bymonth: tuple[int, ...] = ()
    bysetpos: tuple[int, ...] = ()
    wkst: int = 0

    def format(self) -> str:
        """Canonical text: RFC 5545 grammar order, FREQ first, defaults (INTERVAL=1, WKST=MO) left out."""
        parts = [f"FREQ={_FREQS[self.freq]}"]
        if isinstance(self.until, datetime):
            parts.append(f"UNTIL={_ical_datetime(self.until)}")
        elif self.until is not None:
            parts.append(f"UNTIL={_ical_date(self.until)}")
        if self.count is not None:
            parts.append(f"COUNT={self.count}")
        if self.interval != 1:
            parts.append(f"INTERVAL={self.interval}")
        for name, values in (
            ("BYSECOND", self.bysecond),
            ("BYMINUTE", self.byminute),
            ("BYHOUR", self.byhour),
        ):
            if values:
                parts.append(f"{name}={_join(values)}")
        if self.byday:
            days = ",".join(f"{'' if n is None else n}{_WEEKDAYS[w]}" for w, n in self.byday)
            parts.append(f"BYDAY={days}")
        for name, values in (
            ("BYMONTHDAY", self.bymonthday),
            ("BYYEARDAY", self.byyearday),
            ("BYWEEKNO", self.byweekno),
            ("BYMONTH", self.bymonth),
            ("BYSETPOS", self.bysetpos),
        ):
            if values:
                parts.append(f"{name}={_join(values)}")
        if self.wkst:
            parts.append(f"WKST={_WEEKDAYS[self.wkst]}")
        return ";".join(parts)


@lru_cache(maxsize=4096)
def _parse_rule(text: str) -> _Rule:
    """Parse and check everything about an RRULE that does not depend on the event."""
    if len(text) > MAX_RRULE_LENGTH:
        raise RecurrenceError(f"RRULE: longer than {MAX_RRULE_LENGTH} characters")
    body = text.strip().upper()
    if "DTSTART" in body:
        raise RecurrenceError("RRULE: DTSTART is not allowed in the rule; the event's start is used")
    if "TZID" in body:
        raise RecurrenceError("RRULE: TZID is not allowed in the rule; the event's time zone is used")
    body = body.removeprefix("RRULE:")
    if "\n" in body or "\r" in body:
        raise RecurrenceError("RRULE: expected a single rule such as FREQ=WEEKLY;BYDAY=MO")
    raw_parts = body.split(";")
    if len(raw_parts) > 1 and not raw_parts[-1].strip():
        raw_parts.pop()  # tolerate one trailing ";"
    values: dict[str, str] = {}
    for raw in raw_parts:
        name, sep, value = (s.strip() for s in raw.partition("="))
        if not sep or not name:
            raise RecurrenceError(f"RRULE: malformed part {raw.strip()!r} (expected NAME=VALUE)")
        if name not in _PART_NAMES:
            raise RecurrenceError(f"RRULE: unknown part {name}")
        if name in values:
            raise RecurrenceError(f"RRULE: {name} is given more than once")
        if not value:
            raise RecurrenceError(f"RRULE: {name} has no value")
        values[name] = value

    if "FREQ" not in values:
        raise RecurrenceError("RRULE: FREQ is required")
    if values["FREQ"] not in _FREQS:
        raise RecurrenceError(f"RRULE: invalid FREQ {values['FREQ']!r} (expected one of {', '.join(_FREQS)})")
    freq = _FREQS.index(values["FREQ"])
    if "COUNT" in values and "UNTIL" in values:
        raise RecurrenceError("RRULE: COUNT and UNTIL cannot be used together")
    rule = _Rule(
        freq=freq,
        interval=_positive(values, "INTERVAL", _MAX_INTERVAL) or 1,
        count=_positive(values, "COUNT", MAX_COUNT),
        until=_parse_until(values["UNTIL"]) if "UNTIL" in values else None,
        # RFC 5545 allows second 60 (leap second) and says to read it as 59 where leap seconds are unknown.
        bysecond=tuple(sorted({min(s, 59) for s in _int_list(values, "BYSECOND", 0, 60)})),
        byminute=_int_list(values, "BYMINUTE", 0, 59),
        byhour=_int_list(values, "BYHOUR", 0, 23),
        byday=_byday_list(values.get("BYDAY")),
        bymonthday=_int_list(values, "BYMONTHDAY", 1, 31, signed=True),
        byyearday=_int_list(values, "BYYEARDAY", 1, 366, signed=True),
        byweekno=_int_list(values, "BYWEEKNO", 1, 53, signed=True),
        bymonth=_int_list(values, "BYMONTH", 1, 12),
        bysetpos=_int_list(values, "BYSETPOS", 1, 366, signed=True),
        wkst=_weekday(values["WKST"], "WKST") if "WKST" in values else 0,
    )
    _check_combination(rule)
    return rule


def _check_combination(rule: _Rule) -> None:
    """RFC 5545 section 3.3.10 restrictions between parts, and the density limit for fixed intervals."""
    freq = _FREQS[rule.freq]
    if rule.freq == du.SECONDLY:
        raise RecurrenceError(
            f"RRULE: FREQ=SECONDLY is too dense; occurrences must be at least {_MIN_TEXT} apart",
        )
    if rule.freq == du.MINUTELY and rule.interval * 60 < MIN_INTERVAL.total_seconds():
        raise RecurrenceError(
            f"RRULE: FREQ=MINUTELY;INTERVAL={rule.interval} is too dense; occurrences must be at least"
            f" {_MIN_TEXT} apart"
        )
    if rule.byweekno and rule.freq != du.YEARLY:
        raise RecurrenceError(f"RRULE: BYWEEKNO can only be used with FREQ=YEARLY, not {freq}")
    if rule.byyearday and rule.freq in (du.MONTHLY, du.WEEKLY, du.DAILY):
        raise RecurrenceError(f"RRULE: BYYEARDAY cannot be used with FREQ={freq}")
    if rule.bymonthday and rule.freq == du.WEEKLY:
        raise RecurrenceError("RRULE: BYMONTHDAY cannot be used with FREQ=WEEKLY")
    ordinals = [n for _, n in rule.byday if n is not None]
    if ordinals:
        if rule.freq not in (du.MONTHLY, du.YEARLY):
            raise RecurrenceError(
                f"RRULE: BYDAY with a number (like 1MO) needs FREQ=MONTHLY or YEARLY, not {freq}",
            )
        if rule.byweekno:
            raise RecurrenceError("RRULE: BYDAY with a number (like 1MO) cannot be used with BYWEEKNO")
        if (rule.freq == du.MONTHLY or rule.bymonth) and max(abs(n) for n in ordinals) > 5:
            raise RecurrenceError("RRULE: BYDAY numbers within a month must be between 1 and 5 or -5 and -1")
    if rule.bysetpos and not (
        rule.bysecond
        or rule.byminute
        or rule.byhour
        or rule.byday
        or rule.bymonthday
        or rule.byyearday
        or rule.byweekno
        or rule.bymonth
    ):
        raise RecurrenceError("RRULE: BYSETPOS needs another BYxxx part to select from")


_MIN_TEXT = f"{int(MIN_INTERVAL.total_seconds() // 60)} minutes"


def _positive(values: dict[str, str], name: str, maximum: int) -> int | None:
    if name not in values:
        return None
    text = values[name]
    if not _NUMBER_RE.fullmatch(text) or not 1 <= int(text) <= maximum:
        raise RecurrenceError(f"RRULE: {name} must be a whole number between 1 and {maximum} (got {text!r})")
    return int(text)


def _int_list(
    values: dict[str, str],
    name: str,
    low: int,
    high: int,
    *,
    signed: bool = False,
) -> tuple[int, ...]:
    if name not in values:
        return ()
    pattern = _SIGNED_RE if signed else _UNSIGNED_RE
    found = set()
    for item in values[name].split(","):
        item = item.strip()
        if not pattern.fullmatch(item) or not low <= abs(int(item)) <= high:
            allowed = f"{low} to {high}" + (f" or -{high} to -{low}" if signed else "")
            raise RecurrenceError(f"RRULE: invalid {name} value {item!r} (allowed: {allowed})")
        found.add(int(item))
    return tuple(sorted(found, key=lambda n: (n < 0, abs(n))))  # 1,15,-1 reads better than -1,1,15


def _byday_list(text: str | None) -> tuple[tuple[int, int | None], ...]:
    if text is None:
        return ()
    found = set()
    for item in text.split(","):
        item = item.strip()
        match = _BYDAY_RE.fullmatch(item)
        if not match:
            raise RecurrenceError(
                f"RRULE: invalid BYDAY value {item!r} (expected MO..SU, optionally numbered: 1MO, -1FR)"
            )
        ordinal = int(match[1]) if match[1] else None
        if ordinal is not None and not 1 <= abs(ordinal) <= 53:
            raise RecurrenceError(f"RRULE: invalid BYDAY value {item!r} (numbers are 1 to 53 or -53 to -1)")
        found.add((_WEEKDAYS.index(match[2]), ordinal))
    return tuple(sorted(found, key=lambda d: (d[0], d[1] or 0)))


def _weekday(text: str, name: str) -> int:
    if text not in _WEEKDAYS:
        raise RecurrenceError(
            f"RRULE: invalid {name} value {text!r} (expected one of {', '.join(_WEEKDAYS)})",
        )
    return _WEEKDAYS.index(text)


def _parse_until(text: str) -> date | datetime:
    """UNTIL as DATE, floating DATE-TIME or UTC DATE-TIME (basic iCalendar or ISO 8601 extended form)."""
    try:
        match = _ICAL_RE.fullmatch(text)
        if match:
            if match[2] is None:
                return datetime.strptime(match[1], "%Y%m%d").date()
            value = datetime.strptime(match[1] + match[2], "%Y%m%d%H%M%S")
            return value.replace(tzinfo=UTC) if match[3] else value
        if "T" not in text:
            return date.fromisoformat(text)
        value = datetime.fromisoformat(text)
        return value.astimezone(UTC) if value.tzinfo else value
    except (ValueError, OverflowError):
        raise RecurrenceError(
            f"RRULE: invalid UNTIL value {text!r} (expected e.g. 20261231 or 20261231T230000Z)"
        ) from None


def _resolve_until(until: date | datetime | None, zone: ZoneInfo, is_all_day: bool) -> date | datetime | None:
    """UNTIL as RFC 5545 wants it next to a zoned DTSTART: a DATE for all-day events, else UTC."""
    if until is None:
        return None
    if is_all_day:
        if isinstance(until, datetime):
            return until.astimezone(zone).date() if until.tzinfo else until.date()
        return until
    if not isinstance(until, datetime):
        until = datetime.combine(until, time(23, 59, 59))  # a day given for a timed event: all of it
    return _resolve(until, zone) if until.tzinfo is None else until.astimezone(UTC)


# --------------------------------------------------------------------------------------------------
# EXDATE / RDATE values


def _parse_instants(raw: Any, label: str, key: str, maximum: int, frame: _Frame) -> tuple[datetime, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list | tuple):
        raise RecurrenceError(f"recurrence: '{key}' must be a list of date-times")
    if len(raw) > maximum:
        raise RecurrenceError(f"{label}: at most {maximum} values are allowed (got {len(raw)})")
    found = set()
    for item in raw:
        value = _date_or_datetime(item, label)
        if not isinstance(value, datetime) and not frame.is_all_day:
            raise RecurrenceError(
                f"{label}: {item!r} has no time of day; a date alone is only allowed for all-day events"
            )
        try:
            found.add(_instant_of(value, frame))
        except OverflowError:
            raise RecurrenceError(f"{label}: {item!r} is out of range") from None
    return tuple(sorted(found))


def _instant_of(value: date | datetime, frame: _Frame) -> datetime:
    """UTC instant of an EXDATE/RDATE value; for all-day events, the local midnight of its local date."""
    if isinstance(value, datetime):
        instant = _resolve(value, frame.zone) if value.tzinfo is None else value.astimezone(UTC)
        if not frame.is_all_day:
            return instant
        value = instant.astimezone(frame.zone).date()
    return _resolve(datetime.combine(value, _MIDNIGHT), frame.zone)


def _date_or_datetime(item: Any, label: str) -> date | datetime:
    if isinstance(item, date):  # datetime is a date too
        return item
    if not isinstance(item, str):
        raise RecurrenceError(f"{label}: expected an RFC 3339 date-time string, got {type(item).__name__}")
    text = item.strip()
    try:
        if "T" not in text.upper() and " " not in text:
            return date.fromisoformat(text)
        return datetime.fromisoformat(text)
    except ValueError:
        raise RecurrenceError(f"{label}: {item!r} is not a valid RFC 3339 date-time") from None


# --------------------------------------------------------------------------------------------------
# The event and its compiled rule


@dataclass(frozen=True, slots=True)
class _Frame:
    """The event's own fields, checked and converted once per call."""

    zone: ZoneInfo
    start: datetime  # UTC
    end: datetime  # UTC
    is_all_day: bool
    days: int  # all-day events: local calendar days spanned (at least 1)

    @property
    def longest(self) -> timedelta:
        """Upper bound of an occurrence's length, to know how early one may start and still overlap."""
        return timedelta(hours=25 * self.days) if self.is_all_day else self.end - self.start

    def end_of(self, start: datetime, wall: datetime) -> datetime:
        if self.is_all_day:
            return _resolve(datetime.combine(wall.date() + timedelta(days=self.days), _MIDNIGHT), self.zone)
        return start + (self.end - self.start)


def _frame(start: datetime, end: datetime, tz: str, is_all_day: bool) -> _Frame:
    zone = _zone(tz)
    start_utc = _aware_utc(start, "start")
    end_utc = _aware_utc(end, "end")
    if start_utc is None or end_utc is None:
        raise ValueError("start and end are required")
    if end_utc < start_utc:
        raise ValueError("end must not be before start")
    days = 0
    if is_all_day:
        first = start_utc.astimezone(zone).date()
        last = end_utc.astimezone(zone).date()
        days = (last - first).days
        if end_utc != _resolve(datetime.combine(last, _MIDNIGHT), zone):
            days += 1  # ends during its last day rather than at its midnight
    return _Frame(zone, start_utc, end_utc, is_all_day, max(days, 1))


@dataclass(frozen=True, slots=True, eq=False)
class _Series:
    """An RRULE bound to one event start and zone, ready to be entered at any point in time."""

    rule: _Rule
    zone: ZoneInfo
    dtstart: datetime  # local wall time of DTSTART; microseconds stripped (dateutil drops them)
    frac: timedelta  # those microseconds, added back to every instance
    start: datetime  # the DTSTART instant (exact even in the second half of a DST fold)
    kwargs: dict[str, Any]  # dateutil arguments, DTSTART-derived defaults pinned
    until_wall: datetime | None  # last possible local wall time of an instance (None: unbounded)
    until: datetime | None  # exact UTC bound of a timed UNTIL rule

    @property
    def period(self) -> timedelta:
        """Rough length of one INTERVAL of the rule (to size look-back windows)."""
        unit = {
            du.YEARLY: timedelta(days=366),
            du.MONTHLY: timedelta(days=31),
            du.WEEKLY: timedelta(days=7),
            du.DAILY: timedelta(days=1),
            du.HOURLY: timedelta(hours=1),
        }.get(self.rule.freq, timedelta(minutes=1))
        return unit * self.rule.interval

    def walls(self, target: datetime | None) -> Iterator[datetime]:
        """Instances as local wall times (microseconds stripped), ascending, from the rule period that
        contains `target` (or from DTSTART); DTSTART itself comes first when that period is reached."""
        dtstart = self.dtstart
        begin = _period_start(self.rule, dtstart, dtstart if target is None or target < dtstart else target)
        if begin <= dtstart:
            yield dtstart
        try:
            for wall in du.rrule(dtstart=begin, until=self.until_wall, **self.kwargs):
                if wall > dtstart:
                    yield wall
        except (ValueError, OverflowError):  # dateutil ran past year 9999
            return

    def instants(self, target: datetime | None) -> Iterator[tuple[datetime, datetime]]:
        """(UTC start, local wall) of the instances in UTC order, without duplicates."""
        return _one_per_instant(self._ordered(target))

    def _ordered(self, target: datetime | None) -> Iterator[tuple[datetime, datetime]]:
        """(UTC start, local wall) of the instances in UTC order.

        Local order is UTC order except that a wall time in a DST gap moves forward (by at most a day)
        past its neighbours, and that a DTSTART in the second pass of a fold comes after the first pass;
        so each instance is held back until the wall times have moved _SHIFT_MARGIN past it.
        """
        zone, frac, until, dtstart = self.zone, self.frac, self.until, self.dtstart
        pending: list[tuple[datetime, datetime]] = []  # (utc, wall), a heap
        for plain in self.walls(target):
            wall = plain + frac
            while pending and pending[0][1] < wall - _SHIFT_MARGIN:
                yield heapq.heappop(pending)
            if plain == dtstart:
                u = self.start
            else:
                u = wall.replace(tzinfo=zone).astimezone(UTC)
                if until is not None and u > until:
                    continue
            heapq.heappush(pending, (u, wall))
        while pending:
            yield heapq.heappop(pending)


@lru_cache(maxsize=4096)
def _series(rrule_text: str, tz: str, start: datetime, is_all_day: bool) -> _Series:
    rule = _parse_rule(rrule_text)
    zone = _zone(tz)
    local = start.astimezone(zone).replace(tzinfo=None)
    if is_all_day:
        local = datetime.combine(local.date(), _MIDNIGHT)
        start = _resolve(local, zone)
    dtstart = local.replace(microsecond=0)
    kwargs = _dateutil_kwargs(rule, dtstart)
    until = _resolve_until(rule.until, zone, is_all_day)
    until_wall: datetime | None = None
    until_utc: datetime | None = None
    if rule.count is not None:
        # COUNT becomes the local wall time of its last instance, so the rule can be entered anywhere.
        last, _ = _walk(rule, dtstart, kwargs, count=rule.count, sample=0)
        until_wall = last or _horizon_end(rule, dtstart)
    elif isinstance(until, datetime):
        until_utc = until
        until_wall = _wall_bound(until, zone)
    elif until is not None:
        until_wall = datetime.combine(until, _MIDNIGHT)
    frac = timedelta(microseconds=local.microsecond)
    return _Series(rule, zone, dtstart, frac, start, kwargs, until_wall, until_utc)


def _dateutil_kwargs(rule: _Rule, dtstart: datetime) -> dict[str, Any]:
    """dateutil arguments with the defaults it would take from DTSTART written out.

    dateutil derives missing BYxxx values from its dtstart; we hand it a period start instead of DTSTART
    (to enter the rule anywhere, and because dateutil starts a WEEKLY rule's first week at DTSTART rather
    than at WKST, which changes BYSETPOS there), so the DTSTART-derived values are pinned here.
    """
    bymonth = rule.bymonth
    bymonthday = rule.bymonthday
    byweekday = tuple(du.weekday(w, n) for w, n in rule.byday)
    if not (rule.byweekno or rule.byyearday or rule.bymonthday or rule.byday):
        if rule.freq == du.YEARLY:
            bymonth = bymonth or (dtstart.month,)
            bymonthday = (dtstart.day,)
        elif rule.freq == du.MONTHLY:
            bymonthday = (dtstart.day,)
        elif rule.freq == du.WEEKLY:
            byweekday = (du.weekday(dtstart.weekday()),)
    return {
        "freq": rule.freq,
        "interval": rule.interval,
        "wkst": rule.wkst,  # dateutil's default is calendar.firstweekday(), a process-wide setting
        "bysetpos": rule.bysetpos or None,
        "bymonth": bymonth or None,
        "bymonthday": bymonthday or None,
        "byyearday": rule.byyearday or None,
        "byweekno": rule.byweekno or None,
        "byweekday": byweekday or None,
        "byhour": rule.byhour or ((dtstart.hour,) if rule.freq < du.HOURLY else None),
        "byminute": rule.byminute or ((dtstart.minute,) if rule.freq < du.MINUTELY else None),
        "bysecond": rule.bysecond or (dtstart.second,),
    }


def _period_start(rule: _Rule, dtstart: datetime, target: datetime) -> datetime:
    """Start of the rule period that contains `target` (>= dtstart), on the INTERVAL grid of dtstart.

    Entering dateutil there yields exactly the instances of the full series from that period on.
    """
    step = rule.interval
    if rule.freq == du.YEARLY:
        return datetime(dtstart.year + (target.year - dtstart.year) // step * step, 1, 1)
    if rule.freq == du.MONTHLY:
        first = dtstart.year * 12 + dtstart.month - 1
        month = first + (target.year * 12 + target.month - 1 - first) // step * step
        return datetime(month // 12, month % 12 + 1, 1)
    if rule.freq == du.WEEKLY:
        week = dtstart.date() - timedelta(days=(dtstart.weekday() - rule.wkst) % 7)
        weeks = (target.date() - week).days // 7 // step * step
        return datetime.combine(week + timedelta(weeks=weeks), _MIDNIGHT)
    if rule.freq == du.DAILY:
        days = (target.date() - dtstart.date()).days // step * step
        return datetime.combine(dtstart.date() + timedelta(days=days), _MIDNIGHT)
    unit = timedelta(hours=1) if rule.freq == du.HOURLY else timedelta(minutes=1)
    base = dtstart.replace(minute=0, second=0) if rule.freq == du.HOURLY else dtstart.replace(second=0)
    return base + (target - base) // unit // step * step * unit


# --------------------------------------------------------------------------------------------------
# Validation probe


def _first_instance(rule: _Rule, dtstart: datetime, kwargs: dict[str, Any]) -> datetime | None:
    """The first instance the rule generates from DTSTART on; None if there is none for (at least)
    _HORIZON_YEARS.

    dateutil hands control back only when it yields, and checks UNTIL only on instances, so a rule whose
    BYxxx parts never match keeps it busy up to year 9999. The search therefore runs shifted by whole
    400-year cycles (same weekdays, leap days and week numbers) so that year 9999, where dateutil stops
    by itself, comes soon after the horizon.
    """
    shift = _CYCLE_YEARS * max(0, (MAXYEAR - _HORIZON_YEARS[rule.freq] - dtstart.year) // _CYCLE_YEARS)
    start = dtstart.replace(year=dtstart.year + shift)
    try:
        for wall in du.rrule(dtstart=_period_start(rule, start, start), **kwargs):
            if wall >= start:
                return wall.replace(year=wall.year - shift)
    except (ValueError, OverflowError):  # an impossible BYHOUR/BYMINUTE grid, or the end of year 9999
        pass
    return None


def _walk(
    rule: _Rule, dtstart: datetime, kwargs: dict[str, Any], *, count: int | None, sample: int
) -> tuple[datetime | None, timedelta | None]:
    """For a rule known to produce instances, walk at most _HORIZON_YEARS from DTSTART (dateutil stops
    at the first instance past UNTIL) and return the COUNT-th instance (DTSTART counted first; None if
    not reached) and the smallest spacing among the first `sample` instances, or the first day's worth.
    """
    last = dtstart if count == 1 else None
    position = 1
    samples: list[datetime] = []
    sampling = sample > 0
    until = _horizon_end(rule, dtstart)
    try:
        for wall in du.rrule(dtstart=_period_start(rule, dtstart, dtstart), until=until, **kwargs):
            if wall < dtstart:
                continue
            if sampling:
                samples.append(wall)
                sampling = len(samples) < sample and wall - samples[0] < _ONE_DAY
            if last is None and count is not None and wall != dtstart:
                position += 1
                if position == count:
                    last = wall
            if not sampling and (count is None or last is not None):
                break
    except (ValueError, OverflowError):  # an impossible BYHOUR/BYMINUTE grid, or the end of year 9999
        pass
    return last, min((b - a for a, b in pairwise(samples)), default=None)


def _horizon_end(rule: _Rule, dtstart: datetime) -> datetime | None:
    return _add(dtstart, timedelta(days=366 * _HORIZON_YEARS[rule.freq]))


def _check_rule_produces(series: _Series) -> None:
    """Refuse rules that never match, that recur more often than MIN_INTERVAL, or whose COUNT runs
    past the horizon."""
    rule = series.rule
    kwargs = series.kwargs
    if not _days_can_match(rule) or _first_instance(rule, series.dtstart, kwargs) is None:
        raise RecurrenceError(
            f"RRULE: the rule produces no occurrence in the {_HORIZON_YEARS[rule.freq]} years after the"
            " start (check its BYxxx parts against each other and against the start)"
        )
    # Rules of a day or longer with a single time of day cannot come closer than about 23 hours.
    times_a_day = len(kwargs["byhour"] or ()) * len(kwargs["byminute"] or ()) * len(kwargs["bysecond"])
    sample = _GAP_SAMPLE if rule.freq >= du.HOURLY or times_a_day > 1 else 0
    last, min_gap = _walk(rule, series.dtstart, kwargs, count=rule.count, sample=sample)
    if min_gap is not None and min_gap < MIN_INTERVAL:
        raise RecurrenceError(
            f"RRULE: too dense: two occurrences are only {_duration_text(min_gap)} apart; they must be"
            f" at least {_MIN_TEXT} apart"
        )
    if rule.count is not None and last is None:
        raise RecurrenceError(
            f"RRULE: COUNT={rule.count} would run for more than {_HORIZON_YEARS[rule.freq]} years",
        )


def _days_can_match(rule: _Rule) -> bool:
    """For rules that step day by day (or finer), whether their day filters allow any day at all.

    Checked with a YEARLY rule over one whole 400-year cycle: a year per step instead of a day.
    """
    if rule.freq < du.DAILY or not (rule.bymonthday or rule.byyearday or rule.byday):
        return True
    probe = du.rrule(
        du.YEARLY,
        dtstart=datetime(MAXYEAR - _CYCLE_YEARS, 1, 1),
        bymonth=rule.bymonth or None,
        bymonthday=rule.bymonthday or None,
        byyearday=rule.byyearday or None,
        byweekday=tuple(w for w, _ in rule.byday) or None,
        byhour=0,
        byminute=0,
        bysecond=0,
    )
    return next(iter(probe), None) is not None


def _duration_text(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    return f"{seconds // 60} minutes" if seconds % 60 == 0 else f"{seconds} seconds"


# --------------------------------------------------------------------------------------------------
# Expansion


def _expand(
    series: _Series, pattern: Pattern, frame: _Frame, lower: datetime | None
) -> Iterator[tuple[datetime, datetime]]:
    """(UTC start, local wall) of the recurrence set (DTSTART + RRULE + RDATE - EXDATE) in order, from
    about `lower` (an earlier item may come first; none at or after it is missed)."""
    zone = frame.zone
    target = None if lower is None else _add(_wall_bound(lower, zone), -_SHIFT_MARGIN)
    items = series.instants(target)
    rdates = pattern.rdates[bisect_left(pattern.rdates, lower) :] if lower is not None else pattern.rdates
    if rdates:
        if frame.is_all_day:
            walls = (datetime.combine(r.astimezone(zone).date(), _MIDNIGHT) for r in rdates)
            extra: Iterable[tuple[datetime, datetime]] = ((_resolve(w, zone), w) for w in walls)
        else:
            extra = ((r, r.astimezone(zone).replace(tzinfo=None)) for r in rdates)
        items = _one_per_instant(heapq.merge(items, extra))
    if pattern.exdates:
        items = _without(items, pattern.exdates, frame)
    return items


def _one_per_instant(items: Iterable[tuple[datetime, datetime]]) -> Iterator[tuple[datetime, datetime]]:
    """Collapse (UTC start, wall) items sorted by (start, wall) to one per start: the one with the latest
    wall, i.e. a local day or time that exists rather than one moved forward out of a DST gap."""
    current = None
    for item in items:
        if current is not None and item[0] != current[0]:
            yield current
        current = item
    if current is not None:
        yield current


def _without(
    items: Iterable[tuple[datetime, datetime]], exdates: tuple[datetime, ...], frame: _Frame
) -> Iterator[tuple[datetime, datetime]]:
    """Drop EXDATE instances: the same instant, or for all-day events the same local date."""
    if frame.is_all_day:
        days = {e.astimezone(frame.zone).date() for e in exdates}
        return (item for item in items if item[1].date() not in days)
    instants = set(exdates)
    return (item for item in items if item[0] not in instants)


# --------------------------------------------------------------------------------------------------
# Small helpers


@lru_cache(maxsize=512)
def _zone(tz: str) -> ZoneInfo:
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ValueError(f"unknown time zone {tz!r}") from None


def _resolve(wall: datetime, zone: ZoneInfo) -> datetime:
    """UTC instant of a local wall time per RFC 5545 3.3.5: in a DST gap, the offset before the gap
    (moves it forward by the gap); in a fold, the first occurrence. zoneinfo's fold=0 does exactly this."""
    return wall.replace(tzinfo=zone, fold=0).astimezone(UTC)


def _wall_bound(instant: datetime, zone: ZoneInfo) -> datetime:
    """A local wall time W such that every wall time after W maps (as _resolve reads it) to an instant
    after `instant`: its own wall time, or, in the second pass of a fold, one fold length later (wall
    times of the repeated stretch are read as their first pass, which comes earlier)."""
    try:
        local = instant.astimezone(zone)
    except OverflowError:  # the local time is outside the years 1 to 9999
        return datetime.max if instant.year == MAXYEAR else datetime.min
    bound = local.replace(tzinfo=None)
    if local.fold:
        bound += local.replace(fold=0).utcoffset() - local.utcoffset()
    return bound


def _aware_utc(value: datetime | None, name: str) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime")
    return value.astimezone(UTC)


def _add(value: datetime, delta: timedelta) -> datetime | None:
    """value + delta, or None (unbounded) when that leaves the years 1 to 9999."""
    try:
        return value + delta
    except OverflowError:
        return None


def _join(values: tuple[int, ...]) -> str:
    return ",".join(str(v) for v in values)


def _ical_date(value: date) -> str:
    return f"{value.year:04d}{value.month:02d}{value.day:02d}"


def _ical_datetime(value: datetime) -> str:
    """UTC form for aware values, floating form for naive ones."""
    suffix = ""
    if value.tzinfo is not None:
        value, suffix = value.astimezone(UTC), "Z"
    return f"{_ical_date(value)}T{value.hour:02d}{value.minute:02d}{value.second:02d}{suffix}"


def _rfc3339(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _stored_instant(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
