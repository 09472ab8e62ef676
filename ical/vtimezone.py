"""The VTIMEZONE of an IANA zone, right from a given year on and forever after.

`Timezone.from_tzid` (the `icalendar` library, what `add_missing_timezones` uses) lists a zone's transitions
one by one between two dates: a client that reads the VTIMEZONE rather than the IANA name has no offset past
the last date, and an unbounded series runs past any date. Every zone file ends with a POSIX TZ rule (RFC
8536 §3.3, e.g. `CET-1CEST,M3.5.0,M10.5.0/3`) that gives all of the zone's transitions after the listed
ones. So the VTIMEZONE written here is:

- the transitions from the year before `first_year` up to the first year from which that rule alone is
  right (checked against every listed transition, offset and name), spelled by the library;
- then, if the zone still changes between standard and daylight time, one STANDARD and one DAYLIGHT with a
  yearly RRULE from that year on, as most calendar servers write them. A zone without daylight time after
  its listed transitions needs nothing more: its last observance holds forever.

The rule's transition times are local times in the offset before the transition (as RFC 5545 §3.6.5 reads
DTSTART and RRULE), and may fall on another day than the one the rule names (`M10.5.4/24`, `M3.4.4/26`): the
RRULE then names the days the transition can fall on with BYMONTHDAY, or BYYEARDAY counted from the end of
the year when they cross into the next month. tests/ical/test_vtimezone.py checks the offsets of every zone
of the database against zoneinfo's.
"""

from __future__ import annotations

import calendar
import os
import re
import struct
import zoneinfo
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from importlib import resources

from icalendar import Timezone, TimezoneDaylight, TimezoneStandard, vRecur

from recurrence import timezones

_WEEKDAYS = ("SU", "MO", "TU", "WE", "TH", "FR", "SA")  # POSIX counts from Sunday = 0
_FEWEST_DAYS = {month: 28 if month == 2 else calendar.monthrange(2001, month)[1] for month in range(1, 13)}
_DAY = 86_400
_NAME = r"<[^>]+>|[A-Za-z]{3,}"
_OFFSET = r"[+-]?\d{1,3}(?::\d{2}){0,2}"
_RULE = r"M\d{1,2}\.[1-5]\.[0-6](?:/" + _OFFSET + r")?"
_POSIX = re.compile(
    rf"^(?P<std>{_NAME})(?P<std_offset>{_OFFSET})"
    rf"(?:(?P<dst>{_NAME})(?P<dst_offset>{_OFFSET})?,(?P<start>{_RULE}),(?P<end>{_RULE}))?$"
)


class Unsupported(ValueError):
    """A zone whose rule this module cannot write as an RRULE (none in the database today)."""


def _seconds(text: str) -> int:
    sign = -1 if text.startswith("-") else 1
    parts = [int(part) for part in text.lstrip("+-").split(":")]
    return sign * sum(part * unit for part, unit in zip(parts, (3600, 60, 1), strict=False))


@dataclass(frozen=True)
class _Change:
    """One yearly change of a POSIX rule: `Mmonth.week.weekday/time` (week 5: the last such weekday)."""

    month: int
    week: int
    weekday: int  # 0 = Sunday
    seconds: int  # the local time of the change in the offset before it; may be < 0 or >= one day

    @classmethod
    def parse(cls, text: str) -> _Change:
        rule, _, at = text[1:].partition("/")
        month, week, weekday = (int(part) for part in rule.split("."))
        return cls(month, week, weekday, _seconds(at) if at else 2 * 3600)

    def local(self, year: int) -> datetime:
        """When the change happens in `year`, as a local time in the offset before it."""
        first = date(year, self.month, 1)
        day = 1 + (self.weekday - (first.weekday() + 1) % 7) % 7 + 7 * (self.week - 1)
        while day > calendar.monthrange(year, self.month)[1]:
            day -= 7
        return datetime.combine(date(year, self.month, day), time()) + timedelta(seconds=self.seconds)

    def rrule(self) -> str:
        """The RRULE that gives `local(year)` for every year (with a DTSTART at its time of day)."""
        shift = self.seconds // _DAY
        weekday = _WEEKDAYS[(self.weekday + shift) % 7]
        if not shift:
            return f"FREQ=YEARLY;BYMONTH={self.month};BYDAY={-1 if self.week == 5 else self.week}{weekday}"
        if self.week < 5:
            first, last = 7 * (self.week - 1) + 1 + shift, 7 * self.week + shift
            if first >= 1 and last <= _FEWEST_DAYS[self.month]:
                return f"FREQ=YEARLY;BYMONTH={self.month};BYDAY={weekday};BYMONTHDAY={_days(first, last)}"
        elif shift < 0 and -7 + shift >= -_FEWEST_DAYS[self.month]:
            return f"FREQ=YEARLY;BYMONTH={self.month};BYDAY={weekday};BYMONTHDAY={_days(-7 + shift, -1 + shift)}"
        # The days cross into another month: name them by their day of the year, counted from its end (the
        # same dates every year after February, leap year or not).
        year = 2001  # not a leap year: day n of it is day n - 366 from the end of any year
        if self.week < 5:
            start = date(year, self.month, 1) + timedelta(days=7 * (self.week - 1) + shift)
        else:
            start = date(year, self.month, calendar.monthrange(year, self.month)[1]) + timedelta(days=shift - 6)
        days = [start + timedelta(days=n) for n in range(7)]
        if days[0].month < 3 or days[-1].year != year:
            raise Unsupported(f"M{self.month}.{self.week}.{self.weekday}/{self.seconds}s")
        numbers = [day.timetuple().tm_yday - 366 for day in days]
        return f"FREQ=YEARLY;BYDAY={weekday};BYYEARDAY={_days(numbers[0], numbers[-1])}"


def _days(first: int, last: int) -> str:
    return ",".join(str(day) for day in range(first, last + 1))


@dataclass(frozen=True)
class _Posix:
    std_name: str
    std: timedelta  # UTC offsets (POSIX writes them west-positive)
    dst_name: str | None = None
    dst: timedelta | None = None
    start: _Change | None = None  # to daylight time
    end: _Change | None = None  # back to standard time

    @classmethod
    def parse(cls, text: str) -> _Posix | None:
        found = _POSIX.match(text)
        if found is None:
            return None
        std = timedelta(seconds=-_seconds(found["std_offset"]))
        if not found["dst"]:
            return cls(found["std"].strip("<>"), std)
        dst = timedelta(seconds=-_seconds(found["dst_offset"])) if found["dst_offset"] else std + timedelta(hours=1)
        start, end = _Change.parse(found["start"]), _Change.parse(found["end"])
        return cls(found["std"].strip("<>"), std, found["dst"].strip("<>"), dst, start, end)

    def changes(self, year: int) -> set[tuple[datetime, timedelta, str]]:
        """The rule's changes in `year`: (UTC instant, offset after, name after)."""
        if self.start is None:
            return set()
        return {
            (self.start.local(year) - self.std, self.dst, self.dst_name),
            (self.end.local(year) - self.dst, self.std, self.std_name),
        }


def _zone_file(tzid: str) -> bytes:
    """The compiled zone file zoneinfo reads for `tzid` (the system's zone database first, then tzdata)."""
    for base in zoneinfo.TZPATH:
        path = os.path.join(base, *tzid.split("/"))
        if os.path.isfile(path):
            with open(path, "rb") as handle:
                return handle.read()
    return resources.files("tzdata.zoneinfo").joinpath(*tzid.split("/")).read_bytes()


def _listed(data: bytes) -> tuple[list[int], str]:
    """The transitions (UTC seconds) listed in a TZif file of version 2 or later, and its POSIX TZ footer."""
    if data[:4] != b"TZif" or data[4:5] not in (b"2", b"3", b"4"):
        raise Unsupported("not a TZif file of version 2 or later")

    def counts(at: int) -> tuple[int, ...]:
        return struct.unpack(">6l", data[at + 20 : at + 44])

    isut, isstd, leap, times, types, chars = counts(0)
    second = 44 + times * 5 + types * 6 + chars + leap * 8 + isstd + isut
    isut, isstd, leap, times, types, chars = counts(second)
    body = second + 44
    listed = list(struct.unpack(f">{times}q", data[body : body + 8 * times]))
    footer = data[body + times * 9 + types * 6 + chars + leap * 12 + isstd + isut :]
    return listed, footer.strip(b"\n").decode("ascii")


@dataclass(frozen=True)
class _Transition:
    at: datetime  # UTC, naive
    before: timedelta
    after: timedelta
    name: str  # after
    daylight: bool  # after


def _transitions(tzid: str, listed: list[int], first_year: int) -> list[_Transition]:
    """The zone's listed changes of offset or name whose local year is `first_year - 1` or later."""
    zone = timezones.get(tzid)
    found = []
    for seconds in listed:
        instant = datetime.fromtimestamp(seconds, UTC)
        local, before = instant.astimezone(zone), (instant - timedelta(seconds=1)).astimezone(zone)
        if local.year < first_year - 1 or (local.utcoffset(), local.tzname()) == (before.utcoffset(), before.tzname()):
            continue  # before the span, or a listed moment that changes nothing (a 32-bit file's last second)
        after = local.utcoffset()
        found.append(
            _Transition(instant.replace(tzinfo=None), before.utcoffset(), after, local.tzname(), bool(local.dst()))
        )
    return found


def _rule_year(posix: _Posix, transitions: list[_Transition], first_year: int) -> int:
    """The first year, at least `first_year`, from which the POSIX rule gives every change of the zone."""
    actual: dict[int, set] = {}
    for change in transitions:
        actual.setdefault((change.at + change.after).year, set()).add((change.at, change.after, change.name))
    last_listed = max(actual, default=first_year - 1)
    wrong = [year for year in range(first_year - 1, last_listed + 1) if posix.changes(year) != actual.get(year, set())]
    return max(first_year, max(wrong, default=first_year - 1) + 1)


def _observance(daylight: bool, before: timedelta, after: timedelta, name: str, start: datetime):
    observance = TimezoneDaylight() if daylight else TimezoneStandard()
    observance.add("TZOFFSETFROM", before)
    observance.add("TZOFFSETTO", after)
    observance.add("TZNAME", name)
    observance.add("DTSTART", start)
    return observance


def vtimezone(tzid: str, first_year: int) -> Timezone:
    """The VTIMEZONE of the IANA zone `tzid`, right for every time from `first_year` on (see the module)."""
    listed, footer = _listed(_zone_file(tzid))
    posix = _Posix.parse(footer)
    if posix is None:
        raise Unsupported(f"{tzid}: POSIX TZ rule {footer!r}")
    transitions = _transitions(tzid, listed, first_year)
    rule_year = _rule_year(posix, transitions, first_year)
    rules = [(posix.start, posix.start.rrule()), (posix.end, posix.end.rrule())] if posix.start else []
    component = Timezone()
    component.add("TZID", tzid)
    # What holds from the start of the year before `first_year`, then each listed change before the rule's
    # first year, grouped by (offsets, name) as one observance with RDATEs; times in the offset before.
    opening = datetime(first_year - 1, 1, 1, tzinfo=timezones.get(tzid))
    component.add_component(
        _observance(
            bool(opening.dst()),
            opening.utcoffset(),
            opening.utcoffset(),
            opening.tzname(),
            opening.replace(tzinfo=None),
        )
    )
    groups: dict[tuple, list[datetime]] = {}
    for change in transitions:
        if (change.at + change.after).year < rule_year:
            key = (change.daylight, change.before, change.after, change.name)
            groups.setdefault(key, []).append(change.at + change.before)
    for (daylight, before, after, name), starts in groups.items():
        observance = _observance(daylight, before, after, name, starts[0])
        if starts[1:]:
            observance.add("RDATE", starts[1:])
        component.add_component(observance)
    for (change, rrule), (daylight, before, after, name) in zip(
        rules,
        ((True, posix.std, posix.dst, posix.dst_name), (False, posix.dst, posix.std, posix.std_name)),
        strict=False,
    ):
        observance = _observance(daylight, before, after, name, change.local(rule_year))
        observance.add("RRULE", vRecur.from_ical(rrule))
        component.add_component(observance)
    return component
