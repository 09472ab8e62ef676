"""Which IANA zone an imported TZID means.

- An IANA name is itself. A Windows zone name (Outlook's "W. Europe Standard Time") is mapped by the
  `icalendar` library to its IANA zone (CLDR's table) while it parses; we take the zone it chose.
- A custom VTIMEZONE (any other TZID, with its own STANDARD/DAYLIGHT rules) is converted to the IANA zone
  whose UTC offsets agree with it at every instant that matters: each of the event's own times (DTSTART,
  DTEND, RDATE, EXDATE, RECURRENCE-ID) and, over the two years from the event's start, every day at noon
  UTC plus each hour of the days on which the custom zone changes its offset. A zone whose name appears in
  the TZID is tried first, then the others in name order. So every occurrence lands at the instant the
  file meant, and wall-clock times keep following the same rules after. No agreeing zone → the object is
  refused with a message naming the TZID.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

from recurrence import timezones as event_timezones

SPAN = timedelta(days=730)


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
    for name in [*named, *names]:
        if name.startswith(("posix/", "right/")):
            continue
        zone = event_timezones.get(name)
        if _agrees(zone, custom, quick) and _agrees(zone, custom, checks):
            return name
    return None
