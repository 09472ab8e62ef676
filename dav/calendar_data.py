"""What `calendar-data` in a REPORT answers (RFC 4791 §9.6): the whole object, or with `expand` the instances
of a time range, or with `limit-recurrence-set` the object without the changed occurrences far from it.

- `<C:expand start= end=>` (§9.6.5): one VEVENT per occurrence overlapping [start, end), its changes applied
  (a moved or retitled occurrence is answered as it is now, a cancelled one not at all), each with a
  RECURRENCE-ID (for a series), every date-time in UTC, no RRULE, RDATE or EXDATE and so no VTIMEZONE. An
  all-day event's dates stay dates. What an app stored that we do not model (VALARM, ATTENDEE, X-...) comes
  with every instance, as it does in the master or the override it came from.
- `<C:limit-recurrence-set start= end=>` (§9.6.6): the object as stored, with only the overrides that impact
  the range (their new or their original time overlaps it).

Partial retrieval (`<C:comp>`, `<C:prop>` inside calendar-data) is not offered: the whole object is answered,
which RFC 4791 lets a client handle as a superset.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from functools import partial
from xml.etree.ElementTree import Element

from icalendar import Calendar
from icalendar import Event as VEvent

from events.models import Event
from events.occurrences import event_occurrences
from ical.export import PRODID, event_components
from recurrence import timezones

from .answers import DavError
from .requests import utc_datetime
from .xml import CALDAV, tag

MAX_INSTANCES = 1000  # of one resource in one answer: an unbounded daily series over ten years is refused
_RECURRENCE = ("RRULE", "RDATE", "EXDATE")


def _range(node: Element) -> tuple[datetime, datetime]:
    values = []
    for name in ("start", "end"):
        value = utc_datetime(node.get(name))
        if value is None:
            raise DavError(400, f"{node.tag.split('}')[-1]} needs {name}, a UTC date-time like 20300107T000000Z.")
        values.append(value)
    if values[1] <= values[0]:
        raise DavError(400, f"{node.tag.split('}')[-1]} must end after it starts.")
    return values[0], values[1]


def renderer(calendar_data: Element | None, whole):
    """The function that gives {event id: text} for the events of an answer: `whole` (the stored object,
    cached) unless the calendar-data element asks for an expansion or a limited recurrence set."""
    for child in calendar_data if calendar_data is not None else ():
        if child.tag == tag(CALDAV, "expand"):
            return partial(expanded, window=_range(child))
        if child.tag == tag(CALDAV, "limit-recurrence-set"):
            return partial(limited, window=_range(child), whole=whole)
    return whole


def _value(instant: datetime, event: Event) -> datetime | date:
    if event.is_all_day:
        return instant.astimezone(timezones.get(event.timezone)).date()
    return instant.astimezone(UTC)


def instant_of(value: datetime | date, event: Event) -> datetime:
    """The instant a DTSTART, DTEND or RECURRENCE-ID value of `event` names (a date: its midnight there)."""
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else timezones.localize(value, event.timezone)
    return timezones.localize(datetime.combine(value, time()), event.timezone)


def _set(component: VEvent, name: str, value: datetime | date) -> None:
    component.pop(name, None)
    component.add(name, value)


def _copy(component: VEvent) -> VEvent:
    copied = VEvent()
    for name, value in component.items():
        if name not in _RECURRENCE:
            copied[name] = value
    copied.subcomponents = list(component.subcomponents)
    return copied


def _instances(event: Event, window: tuple[datetime, datetime]) -> list[VEvent]:
    components = event_components(event)
    master, overrides = components[0], components[1:]
    by_original = {instant_of(override["RECURRENCE-ID"].dt, event): override for override in overrides}
    found, more = event_occurrences(event, window_start=window[0], window_end=window[1], limit=MAX_INSTANCES)
    if more:
        raise DavError(
            403,
            f"The event {event.uid} has more than {MAX_INSTANCES} occurrences in the expanded range: ask for a "
            "shorter one.",
            tag(CALDAV, "max-instances"),
        )
    instances = []
    for occurrence in found:
        component = by_original.get(occurrence.original_start, master)
        instance = _copy(component)
        start = _value(occurrence.start, event)
        _set(instance, "DTSTART", start)
        if "DTEND" in component:  # else a DURATION, kept, or an instant's DTSTART alone (RFC 5545 §3.6.1)
            instant = component["DTEND"].dt == component["DTSTART"].dt
            _set(instance, "DTEND", start if instant else _value(occurrence.end, event))
        if event.recurrence:
            _set(instance, "RECURRENCE-ID", _value(occurrence.original_start, event))
        instances.append(instance)
    return instances


def expanded(events: list[Event], *, window: tuple[datetime, datetime]) -> dict[int, str]:
    """{event id: a VCALENDAR of its instances in `window`, in UTC} (see the module's docstring)."""
    texts = {}
    for event in events:
        calendar = Calendar()
        calendar.add("PRODID", PRODID)
        calendar.add("VERSION", "2.0")
        calendar.add("CALSCALE", "GREGORIAN")
        for instance in _instances(event, window):
            calendar.add_component(instance)
        texts[event.pk] = calendar.to_ical(sorted=False).decode("utf-8")
    return texts


def _impacts(override: VEvent, event: Event, window: tuple[datetime, datetime]) -> bool:
    start, end = (instant_of(override[name].dt, event) for name in ("DTSTART", "DTEND"))
    original = instant_of(override["RECURRENCE-ID"].dt, event)
    original_end = original + (event.end_time - event.start_time)
    return any(s < window[1] and (e > window[0] or s == window[0]) for s, e in ((start, end), (original, original_end)))


def limited(events: list[Event], *, window: tuple[datetime, datetime], whole) -> dict[int, str]:
    """{event id: its stored object without the overrides that do not impact `window`}."""
    texts = whole(events)
    for event in events:
        if not event.exceptions:
            continue  # nothing to leave out: the cached text as it is
        calendar = Calendar.from_ical(texts[event.pk])
        calendar.subcomponents = [
            component
            for component in calendar.subcomponents
            if component.name != "VEVENT" or "RECURRENCE-ID" not in component or _impacts(component, event, window)
        ]
        texts[event.pk] = calendar.to_ical(sorted=False).decode("utf-8")
    return texts
