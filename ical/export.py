"""Events as iCalendar (RFC 5545): what `GET /api/events/{id}/ics`, the subscription feeds and CalDAV answer.

Service API (used by ical/views.py, ical/feeds.py and the CalDAV app):

- `calendar_bytes(events, *, name=None, refresh=None) -> bytes`: one VCALENDAR with every event (a live
  `Event` or a historical version of one) as its VEVENTs and a VTIMEZONE for each zone they use.
- `event_components(event) -> list[icalendar.Event]`: the VEVENTs of one event: the series (or single
  event) first, then one per changed occurrence (RECURRENCE-ID).

The field mapping is ical/mapping.py; `_vevents` says once which properties each VEVENT holds, in order.
Two writers read it: `event_components` builds the `icalendar` library's components, and `_event_text`
writes the same bytes directly (a 1,000-event feed is rendered in a tenth of the time). The library stays
the definition of the bytes: `_event_text` formats only the value types it knows the library's form of
(text, integers, dates, date-times in a zone or UTC, lists of those, recurrence rules), renders parameters,
long lines (folding at 75 octets) and the kept unmodelled properties through the library itself, and hands
any other VEVENT to the library whole; tests/ical/test_export_bytes.py compares both writers on every
fixture calendar. The VTIMEZONEs come from ical/vtimezone.py (the zone database's listed transitions from the
year before the zone's earliest written time, then its yearly rule as RRULEs: right forever) and their bytes
are kept per process.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import lru_cache, partial
from typing import Any
from zoneinfo import ZoneInfo

from django.core.cache import cache
from icalendar import Calendar, Timezone, vDatetime, vRecur
from icalendar import Event as VEvent
from icalendar.parser import Contentline, Parameters

from common.after_answer import after_answer
from recurrence import overrides as series_exceptions
from recurrence import rules as recurrence
from recurrence import timezones

from . import extra as extra_properties
from .vtimezone import Unsupported, vtimezone

PRODID = "-//Collaborative Calendar//API//EN"

Properties = list[tuple[str, Any]]
# The event's fields an export reads (a reader may load only these).
EXPORTED_FIELDS = (
    "uid", "version", "created_at", "updated_at", "title", "description", "location", "start_time", "end_time",
    "timezone", "is_all_day", "recurrence", "exceptions", "ical_extra", "series_start",
)  # fmt: skip


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


def _texts(title: str, description: str, location: str, untitled: bool = False) -> Properties:
    found: Properties = []
    if title and not (untitled and title == extra_properties.UNTITLED):
        found.append(("SUMMARY", title))
    if description:
        found.append(("DESCRIPTION", description))
    if location:
        found.append(("LOCATION", location))
    return found


def _vevents(event) -> list[tuple[Properties, dict | None]]:
    """The VEVENTs of one event as (modelled properties in order, kept unmodelled ones: ical/extra.py): the
    master, then one per changed (not cancelled) occurrence."""
    tz, all_day = event.timezone, event.is_all_day
    stamp = _stamp(event)
    bookkeeping = [("UID", event.uid), ("DTSTAMP", stamp), ("SEQUENCE", max(event.version - 1, 0))]
    extra = getattr(event, "ical_extra", None) or {}
    untitled = bool(extra.get(extra_properties.NO_SUMMARY))
    master = [
        *bookkeeping,
        ("CREATED", event.created_at.astimezone(UTC)),
        ("LAST-MODIFIED", stamp),
        # A series' DTSTART stays in its zone (the rule repeats its wall time); a single event's is exact.
        *_span(
            (_when if event.recurrence else _exact)(event.start_time, tz, all_day),
            _exact(event.end_time, tz, all_day),
            _instant_form(extra, event.start_time, event.end_time, all_day),
        ),
        *_texts(event.title, event.description, event.location, untitled),
    ]
    exceptions = series_exceptions.of(event) if event.recurrence else {}
    if event.recurrence:
        pattern = recurrence.Pattern.from_json(event.recurrence)
        if not (extra.get(extra_properties.NO_RRULE) and pattern.rrule == "FREQ=DAILY;COUNT=1"):
            master.append(("RRULE", _rule(pattern.rrule)))
        cancelled = [original for original, exception in exceptions.items() if exception.cancelled]
        exdates = sorted({*pattern.exdates, *cancelled})
        if exdates:
            master.append(("EXDATE", [_when(instant, tz, all_day) for instant in exdates]))
        if pattern.rdates:
            master.append(("RDATE", [_when(instant, tz, all_day) for instant in pattern.rdates]))
    found = [(master, extra)]
    length = event.end_time - event.start_time
    for original, exception in sorted(exceptions.items()):
        if exception.cancelled:
            continue
        start = exception.start or original
        end = exception.end or _original_end(original, length, tz, all_day)
        texts = _texts(
            exception.title if exception.title is not None else event.title,
            exception.description if exception.description is not None else event.description,
            exception.location if exception.location is not None else event.location,
            untitled,
        )
        override = [
            *bookkeeping,
            ("RECURRENCE-ID", _when(original, tz, all_day)),
            *_span(
                _exact(start, tz, all_day), _exact(end, tz, all_day), _instant_form(exception.ical, start, end, all_day)
            ),
            *texts,
        ]
        found.append((override, exception.ical))
    return found


def _instant_form(extra: dict | None, start: datetime, end: datetime, all_day: bool) -> str | None:
    """How an imported instant said it took no time (ical/extra.py INSTANT), while it still lasts the one
    minute it was read as; None once its times were changed to another length, and for any other event."""
    form = (extra or {}).get(extra_properties.INSTANT)
    return form if form and not all_day and end - start == extra_properties.INSTANT_LENGTH else None


def _span(start, end, instant_form: str | None) -> Properties:
    """DTSTART and DTEND; an instant as it came: DTSTART alone, a DTEND equal to it, or DURATION:PT0S."""
    if instant_form == "DTSTART":
        return [("DTSTART", start)]
    if instant_form == "DTEND":
        return [("DTSTART", start), ("DTEND", start)]
    if instant_form == "DURATION":
        return [("DTSTART", start), ("DURATION", timedelta(0))]
    return [("DTSTART", start), ("DTEND", end)]


@lru_cache(maxsize=1024)
def _rule(text: str) -> vRecur:
    return vRecur.from_ical(text)


def _original_end(original: datetime, length: timedelta, tz: str, all_day: bool) -> datetime:
    if not all_day:
        return original + length
    # Whole local days: the same number of days after the occurrence's own midnight.
    zone = timezones.get(tz)
    local = original.astimezone(zone).replace(tzinfo=None) + timedelta(days=round(length / timedelta(days=1)))
    return timezones.localize(local, tz)


def _component(properties: Properties, extra: dict | None) -> VEvent:
    component = VEvent()
    for name, value in properties:
        component.add(name, value)
    extra_properties.apply(component, extra)
    return component


def event_components(event) -> list[VEvent]:
    """The VEVENTs of one event: the master, then one per changed (not cancelled) occurrence."""
    return [_component(properties, extra) for properties, extra in _vevents(event)]


# --- The direct writer: the library's bytes for the value types it knows, without building components.


class _Unknown(Exception):
    """A value the direct writer does not know the library's form of: the library writes that VEVENT."""


@lru_cache(maxsize=512)
def _zone_form(zone) -> tuple[str | None, bool]:
    """(TZID, is UTC) as the library writes a date-time in `zone` (UTC-like zones get a Z and no TZID)."""
    sample = vDatetime(datetime(2000, 1, 1, tzinfo=zone))
    return (None if sample.is_utc() else sample.params.get("TZID")), sample.is_utc()


def _datetime_text(value: datetime) -> tuple[str | None, str]:
    if value.tzinfo is UTC:
        tzid, utc = None, True
    elif isinstance(value.tzinfo, ZoneInfo):
        tzid, utc = _zone_form(value.tzinfo)
    else:
        raise _Unknown
    text = f"{value.year:04}{value.month:02}{value.day:02}T{value.hour:02}{value.minute:02}{value.second:02}"
    return tzid, text + "Z" if utc else text


def _value(value) -> tuple[dict[str, str], str]:
    """(the parameters the library gives it, its text) for one property value."""
    if isinstance(value, str):
        return {}, (
            value.replace(r"\N", "\n")  # the library's TEXT escaping (RFC 5545 §3.3.11), in its order
            .replace("\\", "\\\\")
            .replace(";", r"\;")
            .replace(",", r"\,")
            .replace("\r\n", r"\n")
            .replace("\n", r"\n")
            .replace("\r", r"\n")
        )
    if isinstance(value, vRecur):
        return {}, value.to_ical().decode()
    if isinstance(value, int) and not isinstance(value, bool):
        return {}, str(value)
    if isinstance(value, datetime):
        tzid, text = _datetime_text(value)
        return ({"TZID": tzid} if tzid else {}), text
    if isinstance(value, date):
        return {"VALUE": "DATE"}, f"{value.year:04}{value.month:02}{value.day:02}"
    if isinstance(value, list) and value:
        kinds = {type(item) for item in value}
        if kinds == {date}:
            return {"VALUE": "DATE"}, ",".join(_value(item)[1] for item in value)
        if kinds == {datetime} and len({item.tzinfo for item in value}) == 1:
            parts = [_datetime_text(item) for item in value]
            return ({"TZID": parts[-1][0]} if parts[-1][0] else {}), ",".join(text for _, text in parts)
    raise _Unknown


@lru_cache(maxsize=1024)
def _parameters(items: tuple[tuple[str, str], ...]) -> str:
    return Parameters(dict(items)).to_ical(sorted=False).decode()


def _folded(line: str) -> str:
    # The library folds a line once it reaches 75 octets; shorter ones (most) are as they are.
    if len(line) < 75 and (line.isascii() or len(line.encode()) < 75):
        return line + "\r\n"
    return Contentline(line).to_ical().decode() + "\r\n"


def _kept(lines: list[str]) -> tuple[str, set[str]]:
    """The kept unmodelled lines as written, and the names of the properties among them (not those inside
    their subcomponents). They are the library's own content lines of what was read (ical/extra.py
    `collect`), in the order the library writes a component (its properties, then its subcomponents), so
    they are written as they are: no parsing per request."""
    names: set[str] = set()
    depth = 0
    for line in lines:
        name = line.split(":", 1)[0].split(";", 1)[0].upper()
        if name == "BEGIN":
            depth += 1
        elif name == "END":
            depth -= 1
        elif not depth:
            names.add(name)
    return "".join(_folded(line) for line in lines), names


def _vevent_text(properties: Properties, extra: dict | None) -> str:
    params = (extra or {}).get("params") or {}
    out = ["BEGIN:VEVENT\r\n"]
    for name, value in properties:
        given, text = _value(value)
        kept = params.get(name)
        if kept:
            given = {**given, **kept}
        if given:
            rendered = _parameters(tuple(given.items()))
            out.append(_folded(f"{name};{rendered}:{text}" if rendered else f"{name}:{text}"))
        else:
            out.append(_folded(f"{name}:{text}"))
    lines = (extra or {}).get("lines")
    if lines:
        body, names = _kept(lines)
        if names & {name for name, _ in properties}:
            raise _Unknown  # a kept property beside a modelled one of the same name: the library groups them
        out.append(body)
    out.append("END:VEVENT\r\n")
    return "".join(out)


def _event_text(event) -> bytes:
    """The event's VEVENTs as bytes, exactly what `event_components` renders to."""
    parts = []
    for properties, extra in _vevents(event):
        try:
            parts.append(_vevent_text(properties, extra).encode())
        except _Unknown:
            parts.append(_component(properties, extra).to_ical(sorted=False))
    return b"".join(parts)


@lru_cache(maxsize=256)
def _vtimezone(tzid: str, first_year: int) -> bytes:
    """The zone's VTIMEZONE (ical/vtimezone.py), right from `first_year` on, forever; built once per process."""
    try:
        component = vtimezone(tzid, first_year)
    except Unsupported:  # a zone rule that cannot be an RRULE (none in today's database): the library's listing
        component = Timezone.from_tzid(
            tzid, first_date=date(first_year - 1, 1, 1), last_date=date(first_year + 100, 1, 1)
        )
    return component.to_ical(sorted=False)


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
            data = _event_text(event)
            if key and key in keys and keys[key] is event:
                fresh[key] = data
        rendered.append(data)
    if fresh:
        after_answer(partial(cache.set_many, fresh, VEVENT_CACHE_SECONDS))  # once the answer is sent
    return rendered


def calendar_bytes(events, *, name: str | None = None, refresh: timedelta | None = None) -> bytes:
    """One VCALENDAR (bytes, CRLF, folded) with every event in `events` and the VTIMEZONEs they use.

    `name` sets NAME and X-WR-CALNAME; `refresh` sets REFRESH-INTERVAL (RFC 7986) and X-PUBLISHED-TTL, how
    often subscribers should poll. The calendar's own lines are written by the library, the VTIMEZONEs come
    from `_vtimezone` (kept per zone and span), each event's VEVENTs from `_event_bytes`.
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
    first_years: dict[str, int] = {}  # per zone: the year of the earliest time written in it
    for event in events:
        if event.timezone != "UTC" and not event.is_all_day:
            # series_start: an occurrence moved before the series' start (its override's DTSTART is in the zone)
            earliest = min(event.start_time, getattr(event, "series_start", None) or event.start_time)
            first_years[event.timezone] = min(first_years.get(event.timezone, earliest.year), earliest.year)
    head = calendar.to_ical(sorted=False)  # the properties in the order they were added: an import's order kept
    end = b"END:VCALENDAR\r\n"
    timezone_parts = [_vtimezone(tzid, first) for tzid, first in sorted(first_years.items())]
    return b"".join([head[: -len(end)], *timezone_parts, *_event_bytes(events), end])
