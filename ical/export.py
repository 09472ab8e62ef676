"""Events as iCalendar (RFC 5545): what `GET /api/events/{id}/ics`, the subscription feeds and CalDAV answer.

Service API (used by ical/views.py, ical/feeds.py and the CalDAV app):

- `calendar_bytes(events, *, name=None, refresh=None) -> bytes`: one VCALENDAR with every event (a live
  `Event` or a historical version of one) as its VEVENTs and a VTIMEZONE for each zone they use.
- `event_components(event) -> list[icalendar.Event]`: the VEVENTs of one event: the series (or single
  event) first, then one per changed occurrence (RECURRENCE-ID).

The field mapping is ical/mapping.py. Lines are folded at 75 octets, ended by CRLF and text is escaped by
the `icalendar` library, which also builds the VTIMEZONEs from the zone database (`add_missing_timezones`).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import lru_cache

from django.core.cache import cache
from icalendar import Calendar, Timezone, vRecur
from icalendar import Event as VEvent

from recurrence import overrides as series_exceptions
from recurrence import rules as recurrence
from recurrence import timezones

from . import extra as extra_properties

PRODID = "-//Collaborative Calendar//API//EN"
TIMEZONE_YEARS_AHEAD = 20  # a VTIMEZONE spells the zone's transitions this far past the latest start


def _when(instant: datetime, tz: str, is_all_day: bool) -> datetime | date:
    local = instant.astimezone(timezones.get(tz))
    if is_all_day:
        return local.date()
    return instant.astimezone(UTC) if tz == "UTC" else local


def _exact(instant: datetime, tz: str, all_day: bool) -> datetime | date:
    """Like `_when`, but in UTC when the local wall time would not say exactly this instant: the second pass
    of a repeated hour (a TZID time means the first)."""
    value = _when(instant, tz, all_day)
    if isinstance(value, datetime) and value.replace(fold=0).astimezone(UTC) != instant:
        return instant.astimezone(UTC)
    return value


def _stamp(event) -> datetime:
    changed = getattr(event, "updated_at", None) or getattr(event, "history_date", None) or event.created_at
    return changed.astimezone(UTC)


def _base(event, stamp: datetime) -> VEvent:
    component = VEvent()
    component.add("UID", event.uid)
    component.add("DTSTAMP", stamp)
    component.add("SEQUENCE", max(event.version - 1, 0))
    return component


def _texts(component: VEvent, title: str, description: str, location: str, untitled: bool = False) -> None:
    if title and not (untitled and title == extra_properties.UNTITLED):
        component.add("SUMMARY", title)
    if description:
        component.add("DESCRIPTION", description)
    if location:
        component.add("LOCATION", location)


def event_components(event) -> list[VEvent]:
    """The VEVENTs of one event: the master, then one per changed (not cancelled) occurrence."""
    tz, all_day = event.timezone, event.is_all_day
    stamp = _stamp(event)
    master = _base(event, stamp)
    master.add("CREATED", event.created_at.astimezone(UTC))
    master.add("LAST-MODIFIED", stamp)
    # A series' DTSTART stays in its zone (the rule repeats its wall time); a single event's is exact.
    master.add("DTSTART", (_when if event.recurrence else _exact)(event.start_time, tz, all_day))
    master.add("DTEND", _exact(event.end_time, tz, all_day))
    extra = getattr(event, "ical_extra", None) or {}
    _texts(master, event.title, event.description, event.location, untitled=extra.get(extra_properties.NO_SUMMARY))
    exceptions = series_exceptions.of(event) if event.recurrence else {}
    if event.recurrence:
        pattern = recurrence.Pattern.from_json(event.recurrence)
        if not (extra.get(extra_properties.NO_RRULE) and pattern.rrule == "FREQ=DAILY;COUNT=1"):
            master.add("RRULE", vRecur.from_ical(pattern.rrule))
        cancelled = [original for original, exception in exceptions.items() if exception.cancelled]
        exdates = sorted({*pattern.exdates, *cancelled})
        if exdates:
            master.add("EXDATE", [_when(instant, tz, all_day) for instant in exdates])
        if pattern.rdates:
            master.add("RDATE", [_when(instant, tz, all_day) for instant in pattern.rdates])
    extra_properties.apply(master, getattr(event, "ical_extra", None))
    components = [master]
    length = event.end_time - event.start_time
    for original, exception in sorted(exceptions.items()):
        if exception.cancelled:
            continue
        override = _base(event, stamp)
        override.add("RECURRENCE-ID", _when(original, tz, all_day))
        start = exception.start or original
        end = exception.end or _original_end(original, length, tz, all_day)
        override.add("DTSTART", _exact(start, tz, all_day))
        override.add("DTEND", _exact(end, tz, all_day))
        _texts(
            override,
            exception.title if exception.title is not None else event.title,
            exception.description if exception.description is not None else event.description,
            exception.location if exception.location is not None else event.location,
            untitled=extra.get(extra_properties.NO_SUMMARY),
        )
        extra_properties.apply(override, exception.ical)
        components.append(override)
    return components


def _original_end(original: datetime, length: timedelta, tz: str, all_day: bool) -> datetime:
    if not all_day:
        return original + length
    # Whole local days: the same number of days after the occurrence's own midnight.
    zone = timezones.get(tz)
    local = original.astimezone(zone).replace(tzinfo=None) + timedelta(days=round(length / timedelta(days=1)))
    return timezones.localize(local, tz)


@lru_cache(maxsize=256)
def _vtimezone(tzid: str, first_year: int, last_year: int) -> Timezone:
    # Building one walks the zone's transitions; the library asks callers to cache them.
    return Timezone.from_tzid(tzid, first_date=date(first_year, 1, 1), last_date=date(last_year, 1, 1))


VEVENT_CACHE_SECONDS = 7 * 24 * 3600


def _event_bytes(events) -> list[bytes]:
    """Each event's VEVENTs as folded iCalendar bytes. A live event's are kept in the cache under its id and
    version (they depend on nothing else), so a feed re-renders only the events that changed."""
    keys = {f"ical:vevent:{e.pk}:{e.version}": e for e in events if isinstance(getattr(e, "pk", None), int)}
    found = cache.get_many(list(keys)) if keys else {}
    fresh = {}
    rendered = []
    for event in events:
        key = f"ical:vevent:{event.pk}:{event.version}" if isinstance(getattr(event, "pk", None), int) else None
        data = found.get(key) if key else None
        if data is None:
            data = b"".join(component.to_ical(sorted=False) for component in event_components(event))
            if key and key in keys and keys[key] is event:
                fresh[key] = data
        rendered.append(data)
    if fresh:
        cache.set_many(fresh, VEVENT_CACHE_SECONDS)
    return rendered


def calendar_bytes(events, *, name: str | None = None, refresh: timedelta | None = None) -> bytes:
    """One VCALENDAR (bytes, CRLF, folded) with every event in `events` and the VTIMEZONEs they use.

    `name` sets NAME and X-WR-CALNAME; `refresh` sets REFRESH-INTERVAL (RFC 7986) and X-PUBLISHED-TTL, how
    often subscribers should poll. The calendar's own lines and the VTIMEZONEs are built by the library (the
    zones by `Timezone.from_tzid`, what `add_missing_timezones` uses, cached per zone and span); each event's
    VEVENTs come from `_event_bytes`.
    """
    calendar = Calendar()
    calendar.add("PRODID", PRODID)
    calendar.add("VERSION", "2.0")
    calendar.add("CALSCALE", "GREGORIAN")
    if name:
        calendar.add("NAME", name)
        calendar.add("X-WR-CALNAME", name)
    if refresh is not None:
        calendar.add("REFRESH-INTERVAL", refresh, parameters={"VALUE": "DURATION"})
        calendar.add("X-PUBLISHED-TTL", refresh)
    zones: dict[str, tuple[int, int]] = {}
    for event in events:
        if event.timezone != "UTC" and not event.is_all_day:
            first, last = zones.get(event.timezone, (event.start_time.year, event.start_time.year))
            zones[event.timezone] = (min(first, event.start_time.year), max(last, event.start_time.year))
    this_year = datetime.now(UTC).year
    for tzid, (first, last) in sorted(zones.items()):
        calendar.add_component(_vtimezone(tzid, first - 1, max(last, this_year) + TIMEZONE_YEARS_AHEAD))
    head = calendar.to_ical(sorted=False)  # the properties in the order they were added: an import's order kept
    end = b"END:VCALENDAR\r\n"
    return head[: -len(end)] + b"".join(_event_bytes(events)) + end
