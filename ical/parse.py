"""Reading an iCalendar file into what our events hold: one `ICalObject` per UID (a series or single event
with its overrides), without touching the database.

Service API (used by ical/services.py and the CalDAV app):

- `parse_calendar(data: bytes, default_tz: str = "UTC") -> ParsedCalendar`: raises `ICalendarSyntaxError`
  (what and where) for input that is not iCalendar at all; problems of one object are in its `errors`.
  `default_tz` is the zone of floating times (and of all-day events).
- `ICalObject`: `index` (position of its first VEVENT among the file's VEVENTs), `uid`, `fields` (the
  event's fields as the REST API takes them: uid, title, description, location, start_time, end_time,
  timezone, is_all_day, recurrence_pattern), `overrides` (its RECURRENCE-ID VEVENTs as `Override`s, times
  in UTC), `extra` (ical/extra.py) and `errors` (messages; an object with any is refused).
- `ParsedCalendar`: `objects`, `skipped` ({"VTODO": n, "VJOURNAL": n, ...}: components we do not import).

Limits: 10 MB, 10,000 components, nesting 10 deep (each refused with the line where it was exceeded).
"""

from __future__ import annotations

import re
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

from icalendar import Calendar, Component

from recurrence import timezones as event_timezones

from . import extra as extra_properties
from . import timezones
from .mapping import BOOKKEEPING, MODELLED

MAX_BYTES = 10 * 1024 * 1024
MAX_COMPONENTS = 10_000
MAX_DEPTH = 10
ONLY_DTSTART = "FREQ=DAILY;COUNT=1"
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")  # control characters other than TAB, LF and CR
SKIPPED = ("VTODO", "VJOURNAL", "VFREEBUSY", "VAVAILABILITY")
_OVERRIDE_MODELLED = frozenset(
    {"DTSTART", "DTEND", "DURATION", "SUMMARY", "DESCRIPTION", "LOCATION", "RECURRENCE-ID", *BOOKKEEPING}
)


class ICalendarSyntaxError(ValueError):
    """The body is not iCalendar we can read; the message says what and where."""


class ObjectRefused(Exception):
    """One iCalendar object cannot be saved; `errors` says why (messages naming the property)."""

    def __init__(self, errors: list[str]):
        super().__init__("; ".join(errors))
        self.errors = errors


@dataclass
class Override:
    recurrence_id: datetime  # UTC: the original start of the occurrence
    cancelled: bool = False
    start: datetime | None = None  # UTC
    end: datetime | None = None
    title: str | None = None
    description: str | None = None
    location: str | None = None
    extra: dict = field(default_factory=dict)


@dataclass
class ICalObject:
    index: int
    uid: str | None
    fields: dict[str, Any] = field(default_factory=dict)
    overrides: list[Override] = field(default_factory=list)
    extra: dict = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


@dataclass
class ParsedCalendar:
    objects: list[ICalObject]
    skipped: dict[str, int]


def _logical_lines(text: str):
    """(line number, unfolded content line) pairs: RFC 5545 §3.1 folding undone, numbered where each starts."""
    number, current = 0, None
    for index, physical in enumerate(text.splitlines(), start=1):
        if physical[:1] in (" ", "\t") and current is not None:
            current += physical[1:]
            continue
        if current is not None:
            yield number, current
        number, current = index, physical
    if current is not None:
        yield number, current


def _check_structure(text: str) -> None:
    """Line-level checks with line numbers, before the library parses: nesting, balance, content lines."""
    stack: list[tuple[str, int]] = []
    components = 0
    seen_begin = False
    for number, line in _logical_lines(text):
        if not line.strip():
            continue  # empty lines: tolerated, as most readers do
        name = line.split(":", 1)[0].split(";", 1)[0].upper()
        if ":" not in line:
            raise ICalendarSyntaxError(f"line {number}: not a content line (no ':'; broken folding?): {line[:60]!r}")
        value = line.split(":", 1)[1].strip().upper()
        if name == "BEGIN":
            if not seen_begin and value != "VCALENDAR":
                raise ICalendarSyntaxError(f"line {number}: expected BEGIN:VCALENDAR, found BEGIN:{value[:40]}")
            seen_begin = True
            stack.append((value, number))
            components += 1
            if len(stack) > MAX_DEPTH:
                raise ICalendarSyntaxError(f"line {number}: components nested more than {MAX_DEPTH} deep")
            if components > MAX_COMPONENTS:
                raise ICalendarSyntaxError(f"line {number}: more than {MAX_COMPONENTS} components")
        elif name == "END":
            if not stack:
                raise ICalendarSyntaxError(f"line {number}: END:{value[:40]} without a BEGIN")
            opened, at = stack.pop()
            if opened != value:
                raise ICalendarSyntaxError(f"line {number}: END:{value[:40]} closes BEGIN:{opened[:40]} of line {at}")
        elif not stack:
            raise ICalendarSyntaxError(f"line {number}: {name[:40]} outside BEGIN:VCALENDAR … END:VCALENDAR")
    if stack:
        opened, at = stack[-1]
        raise ICalendarSyntaxError(f"BEGIN:{opened[:40]} of line {at} has no END")
    if not seen_begin:
        raise ICalendarSyntaxError("line 1: no BEGIN:VCALENDAR: the body is not iCalendar")


def _decode(data: bytes) -> str:
    if len(data) > MAX_BYTES:
        raise ICalendarSyntaxError(f"the calendar is larger than {MAX_BYTES // (1024 * 1024)} MB")
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ICalendarSyntaxError(f"line {line}: not UTF-8 text (byte {exc.start})") from None
    bad = _CONTROL.search(text)
    if bad is not None:
        line = text[: bad.start()].count("\n") + 1
        raise ICalendarSyntaxError(f"line {line}: control character U+{ord(bad.group()):04X} (binary data?)")
    return text


def parse_calendar(data: bytes, default_tz: str = "UTC") -> ParsedCalendar:
    """Every VEVENT of `data`, grouped by UID (see the module docstring)."""
    text = _decode(data)
    _check_structure(text)
    try:
        calendars = Calendar.from_ical(text, multiple=True)
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise ICalendarSyntaxError(f"not valid iCalendar: {exc}"[:500]) from None
    skipped: dict[str, int] = {}
    vevents: list[Component] = []
    calendar_tz = None
    for calendar in calendars:
        name = calendar.get("X-WR-TIMEZONE")
        if name and event_timezones.is_valid(str(name)):
            calendar_tz = str(name)
        for component in calendar.subcomponents:
            if component.name == "VEVENT":
                vevents.append(component)
            elif component.name != "VTIMEZONE":
                skipped[component.name] = skipped.get(component.name, 0) + 1
    zones: dict[str, tzinfo] = {}
    for calendar in calendars:
        for vtimezone in calendar.walk("VTIMEZONE"):
            tzid = vtimezone.tz_name
            if not event_timezones.is_valid(tzid):  # Windows names too: the file's own rules, matched below
                try:
                    zones[tzid] = vtimezone.to_tz(lookup_tzid=False)
                except (ValueError, TypeError, KeyError, IndexError, OverflowError) as exc:
                    raise ICalendarSyntaxError(f"VTIMEZONE {tzid[:80]!r}: {exc}"[:300]) from None
    token = _FILE_ZONES.set(zones)
    try:
        return _grouped(vevents, default_tz, calendar_tz, skipped)
    finally:
        _FILE_ZONES.reset(token)


def _grouped(vevents, default_tz, calendar_tz, skipped) -> ParsedCalendar:
    groups: dict[str, list[tuple[int, Component]]] = {}
    objects: list[ICalObject] = []
    for index, component in enumerate(vevents):
        uid = component.get("UID")
        if uid is None or not str(uid).strip():
            objects.append(ICalObject(index, None, errors=["UID: missing"]))
            continue
        groups.setdefault(str(uid), []).append((index, component))
    for uid, members in groups.items():
        objects.append(_object(uid, members, default_tz, calendar_tz))
    objects.sort(key=lambda o: o.index)
    return ParsedCalendar(objects=objects, skipped=skipped)


class _Refused(Exception):
    pass


# The custom VTIMEZONEs of the file being read, by TZID. The library keeps the custom zones it has seen in
# one process-wide registry, so a TZID would otherwise get the rules of another file (another user's) that
# defined it first, or a zone where this file defines none: each file's times use its own VTIMEZONEs only.
_FILE_ZONES: ContextVar[dict[str, tzinfo] | None] = ContextVar("ical_file_zones", default=None)


def _in_file_zone(value, params):
    tzid = params.get("TZID") if params else None
    if tzid is None or not isinstance(value, datetime):
        return value
    own = (_FILE_ZONES.get() or {}).get(str(tzid))
    if own is not None:
        return value.replace(tzinfo=own)
    # Not defined in this file: an IANA or Windows name means its zone, whatever the library's registry
    # learnt from files read before (one of them may have defined a custom zone under the same TZID).
    name = timezones.named_zone(str(tzid))
    if name is not None:
        return value.replace(tzinfo=event_timezones.get(name))
    if timezones.iana_name(value.tzinfo) is None:
        raise _Refused(
            f"TZID {str(tzid)[:80]!r}: not an IANA or Windows zone name, and the file has no VTIMEZONE for it"
        )
    return value


def _decoded(component: Component, name: str):
    prop = component[name]
    if isinstance(prop, list):
        raise _Refused(f"{name}: more than one")
    return _in_file_zone(component.decoded(name), getattr(prop, "params", {}))


def _values(component: Component, name: str, periods: list | None = None) -> list:
    """The values of a (possibly repeated, possibly list-valued) date property, decoded. A PERIOD value
    (RDATE only) gives its start; the period itself is appended to `periods` as (start, end)."""
    raw = component.get(name)
    if raw is None:
        return []
    found = []
    for prop in raw if isinstance(raw, list) else [raw]:
        for item in getattr(prop, "dts", [prop]):
            value = _in_file_zone(item.dt, getattr(prop, "params", {}))
            if isinstance(value, tuple):
                if periods is None:
                    raise _Refused(f"{name}: PERIOD values are not allowed here")
                start, until = value
                periods.append((start, until if isinstance(until, date) else start + until))
                value = start
            if not isinstance(value, date):
                raise _Refused(f"{name}: {str(value)[:40]!r} is not a date or date-time")
            found.append(value)
    return found


def _aware_instants(values) -> list[datetime]:
    return [v for v in values if isinstance(v, datetime) and v.tzinfo is not None]


def _object(uid: str, members, default_tz: str, calendar_tz: str | None) -> ICalObject:
    masters = [(i, c) for i, c in members if "RECURRENCE-ID" not in c]
    index = members[0][0]
    obj = ICalObject(index=index, uid=uid)
    if len(uid) > 255:
        obj.errors.append("UID: longer than 255 characters")
        return obj
    if len(masters) > 1:
        obj.errors.append(f"UID: {len(masters)} VEVENTs without RECURRENCE-ID share this UID")
        return obj
    if not masters:
        obj.errors.append("RECURRENCE-ID: overrides without their series (no VEVENT of this UID lacks RECURRENCE-ID)")
        return obj
    obj.index, master = masters[0]
    try:
        _read_master(obj, master, default_tz, calendar_tz)
        for _, component in members:
            if component is not master:
                obj.overrides.append(_read_override(component, obj.fields))
    except (_Refused, timezones.CustomZoneError) as exc:
        obj.errors.append(str(exc))
    except (ValueError, TypeError, AttributeError, KeyError, IndexError, OverflowError) as exc:
        # Whatever else a malformed object trips on is its error, never the request's 500.
        obj.errors.append(f"cannot be read: {exc}"[:300])
    for component in [c for _, c in members]:
        for prop, message in getattr(component, "errors", []):
            obj.errors.append(f"{prop}: {message}"[:300])
    return obj


NO_MATCH = ""  # a custom VTIMEZONE that agrees with no IANA zone (ical/timezones.py)


def _zone_of(component: Component, values: list, default_tz: str, calendar_tz: str | None, single: bool) -> str:
    start = _decoded(component, "DTSTART")
    if not isinstance(start, datetime):
        return default_tz
    if start.tzinfo is None:
        tzid = component["DTSTART"].params.get("TZID")
        if tzid:
            raise _Refused(f"DTSTART: unknown TZID {str(tzid)[:80]!r} (not an IANA or Windows name, no VTIMEZONE)")
        return default_tz
    name = timezones.iana_name(start.tzinfo)
    if name == "UTC":
        return calendar_tz if single and calendar_tz else "UTC"
    if name:
        return name
    tzid = str(component["DTSTART"].params.get("TZID", ""))
    matched = timezones.matching_zone(tzid, start.tzinfo, _aware_instants(values))
    return matched if matched is not None else NO_MATCH


def _text(component: Component, name: str) -> str:
    value = component.get(name)
    if isinstance(value, list):
        value = value[0]
    return str(value) if value is not None else ""


def _wire(value, tz: str) -> str:
    """A DTSTART-like value as the REST API takes it: aware → RFC 3339 in `tz`; naive or date → wall clock."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return value.isoformat()
        return value.astimezone(event_timezones.get(tz)).isoformat()
    return datetime(value.year, value.month, value.day).isoformat()


def _end(component: Component, start) -> tuple[Any, str | None]:
    """The end of the VEVENT, and for an instant (RFC 5545 §3.6.1: a DATE-TIME DTSTART with no DTEND and no
    DURATION, or one that ends when it starts) the form it had (extra.INSTANT); our events last, so an
    instant ends extra.INSTANT_LENGTH after its start and the form is written back (ical/export.py)."""
    if "DTEND" in component:
        end = _decoded(component, "DTEND")
        if isinstance(start, datetime) != isinstance(end, datetime):
            raise _Refused("DTEND: a date and a date-time cannot be mixed with DTSTART")
        if isinstance(start, datetime) and _same_instant(start, end):
            return start + extra_properties.INSTANT_LENGTH, "DTEND"
        return end, None
    if "DURATION" in component:
        duration = component.decoded("DURATION")
        if not isinstance(duration, timedelta) or duration < timedelta(0):
            raise _Refused("DURATION: not a positive duration")
        if isinstance(start, datetime) and not duration:
            return start + extra_properties.INSTANT_LENGTH, "DURATION"
        return start + duration, None
    if not isinstance(start, datetime):
        return start + timedelta(days=1), None  # a DATE DTSTART alone: that one day
    return start + extra_properties.INSTANT_LENGTH, "DTSTART"


def _same_instant(start: datetime, end: datetime) -> bool:
    if (start.tzinfo is None) != (end.tzinfo is None):
        raise _Refused("DTEND: a floating time and a time with a zone cannot be mixed with DTSTART")
    return start == end


def _read_master(obj: ICalObject, component: Component, default_tz: str, calendar_tz: str | None) -> None:
    if "DTSTART" not in component:
        raise _Refused("DTSTART: missing")
    if isinstance(component["DTSTART"], list):
        raise _Refused("DTSTART: more than one")
    start = _decoded(component, "DTSTART")
    if not isinstance(start, date):
        raise _Refused("DTSTART: not a date or date-time")
    end, instant_form = _end(component, start)
    rrules = component.get("RRULE")
    if isinstance(rrules, list):
        raise _Refused("RRULE: more than one RRULE in one VEVENT is not supported")
    if "EXRULE" in component:
        raise _Refused("EXRULE: not supported (deprecated by RFC 5545)")
    periods: list = []
    exdates, rdates = _values(component, "EXDATE"), _values(component, "RDATE", periods)
    tz = _zone_of(component, [start, end, *exdates, *rdates], default_tz, calendar_tz, single=rrules is None)
    rrule_text = rrules.to_ical().decode() if rrules is not None else None
    if tz == NO_MATCH:
        # Exact instants instead of rules: see ical/timezones.py.
        tzid = str(component["DTSTART"].params.get("TZID", ""))
        tz = timezones.fixed_zone(start)
        if rrule_text is not None:
            rdates = timezones.expand_in_custom_zone(tzid, rrule_text, start, exdates, rdates)
            rrule_text, exdates = ONLY_DTSTART, []
    is_all_day = not isinstance(start, datetime)
    fields: dict[str, Any] = {
        "uid": obj.uid,
        "title": _text(component, "SUMMARY") or extra_properties.UNTITLED,
        "description": _text(component, "DESCRIPTION"),
        "location": _text(component, "LOCATION"),
        "start_time": _wire(start, tz),
        "end_time": _wire(end, tz),
        "timezone": tz,
        "is_all_day": is_all_day,
        "recurrence_pattern": None,
    }
    if rrule_text is None and rdates:
        rrule_text = ONLY_DTSTART  # DTSTART and RDATEs: a rule that adds nothing to DTSTART carries the RDATEs
    if rrule_text is not None:
        fields["recurrence_pattern"] = {
            "rrule": rrule_text,
            "exdates": [_wire(v, tz) for v in exdates],
            "rdates": [_wire(v, tz) for v in rdates],
        }
    obj.fields = fields
    # An RDATE PERIOD is an occurrence with its own length: an RDATE and an override with that end.
    length = instant(end, tz) - instant(start, tz)
    for begins, ends in periods:
        original = instant(begins, tz)
        if instant(ends, tz) - original != length:
            obj.overrides.append(Override(recurrence_id=original, start=original, end=instant(ends, tz)))
    obj.extra = extra_properties.collect(component, modelled=MODELLED)
    if instant_form:
        obj.extra[extra_properties.INSTANT] = instant_form
    if "SUMMARY" not in component:
        obj.extra[extra_properties.NO_SUMMARY] = True  # so the export writes no SUMMARY either
    if rrule_text == ONLY_DTSTART and rrules is None:
        obj.extra[extra_properties.NO_RRULE] = True  # so the export writes no RRULE either
    if extra_properties.size(obj.extra) > extra_properties.MAX_EXTRA_CHARS:
        raise _Refused(f"the VEVENT's other properties exceed {extra_properties.MAX_EXTRA_CHARS} characters")


def instant(value, tz: str) -> datetime:
    """A decoded date or date-time as a UTC instant: naive ones and dates are read in `tz`."""
    if isinstance(value, datetime):
        aware = event_timezones.localize(value, tz) if value.tzinfo is None else value
        return aware.astimezone(UTC)
    return event_timezones.localize(datetime(value.year, value.month, value.day), tz).astimezone(UTC)


def _read_override(component: Component, fields: dict) -> Override:
    prop = component["RECURRENCE-ID"]
    if str(prop.params.get("RANGE", "")).upper() == "THISANDFUTURE":
        raise _Refused("RECURRENCE-ID: RANGE=THISANDFUTURE is not supported")
    if fields.get("recurrence_pattern") is None:
        raise _Refused("RECURRENCE-ID: an override of an event that does not recur")
    tz = fields["timezone"]
    override = Override(recurrence_id=instant(_decoded(component, "RECURRENCE-ID"), tz))
    status = str(component.get("STATUS", "")).upper()
    if status == "CANCELLED":
        override.cancelled = True
        return override
    instant_form = None
    if "DTSTART" in component:
        start = _decoded(component, "DTSTART")
        override.start = instant(start, tz)
        end, instant_form = _end(component, start)
        override.end = instant(end, tz)
    # An override is the whole instance (RFC 5545 §3.8.4.4): a text it lacks is empty there, not the series'.
    for name, prop_name in (("title", "SUMMARY"), ("description", "DESCRIPTION"), ("location", "LOCATION")):
        setattr(override, name, _text(component, prop_name))
    if "SUMMARY" not in component and fields["title"] == extra_properties.UNTITLED:
        override.title = None  # untitled like its series
    override.extra = extra_properties.collect(component, modelled=_OVERRIDE_MODELLED)
    if instant_form:
        override.extra[extra_properties.INSTANT] = instant_form
    if extra_properties.size(override.extra) > extra_properties.MAX_EXTRA_CHARS:
        raise _Refused(f"an override's other properties exceed {extra_properties.MAX_EXTRA_CHARS} characters")
    return override
