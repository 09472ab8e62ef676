"""Which IANA zone an imported TZID means.

- An IANA name is itself. A Windows zone name (Outlook's "W. Europe Standard Time") is mapped by the
  `icalendar` library to its IANA zone (CLDR's table) while it parses; we take the zone it chose.
- A custom VTIMEZONE (any other TZID, with its own STANDARD/DAYLIGHT rules) is converted to the IANA zone
  whose UTC offsets agree with it at every instant that matters: each of the event's own times (DTSTART,
  DTEND, RDATE, EXDATE, RECURRENCE-ID) and, over the two years from the event's start, every day at noon
  UTC plus each hour of the days on which the custom zone changes its offset. Tried in this order: a zone
  whose name appears in the TZID, the zone of a Windows name (Outlook writes its own VTIMEZONE for "W.
  Europe Standard Time"), the most used zones (`COMMON`: America/New_York rather than America/Detroit for
  US Eastern rules), CLDR's main zone of each Windows zone, then every other zone in name order. So every
  occurrence lands at the instant the file meant, and wall-clock times keep following the same rules after.
- A custom VTIMEZONE that agrees with no IANA zone (invented rules, a one-off offset change): the event
  keeps exact instants instead of a rule. It gets the fixed-offset zone of its DTSTART (`Etc/GMT-12` for
  +12:00; UTC for an offset that is not whole hours), and a series is expanded here, in the custom zone,
  into its occurrences (at most 1,000; an unbounded series is refused), stored as RDATEs in UTC with the rule
  FREQ=DAILY;COUNT=1 (DTSTART alone). Each occurrence is then at the instant the file meant; what is lost is
  only that a later edit of the rule cannot follow the custom zone.
"""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta, tzinfo
from itertools import islice
from zoneinfo import ZoneInfo

from dateutil import rrule as du
from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON

from recurrence import timezones as event_timezones

SPAN = timedelta(days=730)
# Where several zones agree over the span, the most used one is the likelier meaning of a custom VTIMEZONE.
COMMON = (
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Phoenix",
    "America/Los_Angeles",
    "America/Anchorage",
    "Pacific/Honolulu",
    "America/Halifax",
    "America/Sao_Paulo",
    "America/Mexico_City",
    "Europe/London",
    "Europe/Berlin",
    "Europe/Helsinki",
    "Europe/Moscow",
    "Africa/Johannesburg",
    "Asia/Dubai",
    "Asia/Kolkata",
    "Asia/Shanghai",
    "Asia/Tokyo",
    "Australia/Sydney",
    "Australia/Adelaide",
    "Australia/Brisbane",
    "Australia/Perth",
    "Pacific/Auckland",
)


def iana_name(zone: tzinfo | None) -> str | None:
    """The IANA name of a zoneinfo zone (UTC for the UTC singletons), else None."""
    if zone is None:
        return None
    if (
        zone is UTC
        or getattr(zone, "key", None) == "UTC"
        or (isinstance(zone, type(UTC)) and zone.utcoffset(None) == timedelta(0))
    ):
        return "UTC"
    key = getattr(zone, "key", None)
    return key if key and event_timezones.is_valid(key) else None


def _samples(custom: tzinfo, start: datetime) -> list[datetime]:
    days = [start.replace(hour=12, minute=0, second=0, microsecond=0) + timedelta(days=n) for n in range(SPAN.days)]
    samples = list(days)
    for before, after in itertools.pairwise(days):
        if before.astimezone(custom).utcoffset() != after.astimezone(custom).utcoffset():
            samples.extend(before + timedelta(hours=h) for h in range(1, 25))
    return samples


def _agrees(zone: ZoneInfo, custom: tzinfo, instants: list[datetime]) -> bool:
    return all(i.astimezone(zone).utcoffset() == i.astimezone(custom).utcoffset() for i in instants)


def matching_zone(tzid: str, custom: tzinfo, instants: list[datetime]) -> str | None:
    """The IANA zone that agrees with the custom zone `custom` (TZID `tzid`) at `instants` and on the
    samples above; None when there is none."""
    instants = [i.astimezone(UTC) for i in instants]
    start = min(instants) if instants else datetime.now(UTC)
    checks = instants + _samples(custom, start)
    quick = checks[:: max(len(checks) // 12, 1)]
    names = sorted(event_timezones.available())
    named = [n for n in names if n.lower() in tzid.lower() or n.split("/")[-1].lower() in tzid.lower()]
    windows = [WINDOWS_TO_OLSON[tzid]] if tzid in WINDOWS_TO_OLSON else []
    main = sorted(set(WINDOWS_TO_OLSON.values()))
    for name in [*named, *windows, *COMMON, *main, *names]:
        if name.startswith(("posix/", "right/")):
            continue
        zone = event_timezones.get(name)
        if _agrees(zone, custom, quick) and _agrees(zone, custom, checks):
            return name
    return None


MAX_EXPANDED = 1000  # occurrences of a series in a custom zone that matches no IANA zone (RDATE limit)


def fixed_zone(start: date) -> str:
    """The fixed-offset IANA zone of `start`'s UTC offset (Etc/GMT signs are inverted), else UTC."""
    if not isinstance(start, datetime) or start.tzinfo is None:
        return "UTC"
    offset = start.utcoffset() or timedelta(0)
    hours, rest = divmod(offset, timedelta(hours=1))
    if rest or not -12 <= hours <= 14:
        return "UTC"
    return "UTC" if hours == 0 else f"Etc/GMT{-hours:+d}"


class CustomZoneError(ValueError):
    pass


def expand_in_custom_zone(tzid: str, rule: str, start: datetime, exdates: list, rdates: list) -> list[datetime]:
    """The occurrences (in UTC) of `rule` from `start` in its own (custom) zone, with `rdates` added and
    `exdates` removed. CustomZoneError for an unbounded rule or more than MAX_EXPANDED occurrences."""
    if "COUNT=" not in rule.upper() and "UNTIL=" not in rule.upper():
        raise CustomZoneError(
            f"DTSTART: the time zone {tzid[:80]!r} matches no IANA zone, so an unbounded series cannot be kept"
        )
    try:
        found = list(islice(du.rrulestr(rule, dtstart=start), MAX_EXPANDED + 1))
    except (ValueError, TypeError, OverflowError) as exc:
        raise CustomZoneError(f"RRULE: {exc}") from None
    instants = {value.astimezone(UTC) for value in [*found, *rdates] if isinstance(value, datetime)}
    instants -= {value.astimezone(UTC) for value in exdates if isinstance(value, datetime)}
    instants.discard(start.astimezone(UTC))
    if len(found) > MAX_EXPANDED:
        raise CustomZoneError(f"RRULE: more than {MAX_EXPANDED} occurrences in a time zone that matches no IANA zone")
    return sorted(instants)
