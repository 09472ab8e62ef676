"""What an iCalendar component carries that our fields do not model, kept so that it can be written back.

Stored form (`Event.ical_extra` for a series or single event, `exceptions[...]["ical"]` for an override):

    {"lines": ["ATTENDEE;CN=Ann;PARTSTAT=ACCEPTED:mailto:ann@example.com", "BEGIN:VALARM", ..., "END:VALARM"],
     "params": {"SUMMARY": {"LANGUAGE": "de"}}}

`lines` are the unmodelled properties and every subcomponent (VALARM, ...), as unfolded content lines in
the order the client sent them, parameters and all: exactly what came in, so it goes out the same.
`params` are the parameters of modelled properties (SUMMARY;LANGUAGE=de, DESCRIPTION;ALTREP=...), apart
from TZID and VALUE, which the event's own fields decide. Markers say what the fields cannot: `no_summary`,
`no_rrule`, `instant` (below). Empty parts are left out; nothing kept is `{}`.
"""

from __future__ import annotations

from datetime import timedelta
from functools import lru_cache

from icalendar import Component

from events import content

from .mapping import MODELLED_PARAMETERS

NO_SUMMARY = "no_summary"  # the VEVENT had no SUMMARY: its title is UNTITLED, and the export writes none
UNTITLED = "(no title)"
NO_RRULE = "no_rrule"  # the VEVENT had RDATEs but no RRULE: ours is FREQ=DAILY;COUNT=1, not written back
# The VEVENT took no time (RFC 5545 §3.6.1): its form, "DTSTART" (no DTEND, no DURATION), "DTEND" (equal to
# DTSTART) or "DURATION" (PT0S). Our events last (the REST API refuses an end equal to the start), so such an
# event, or override, lasts INSTANT_LENGTH from its start; while it still does, the export writes the form.
INSTANT = content.ICAL_INSTANT  # a write giving the event or override another length ends it (events/content.py)
INSTANT_LENGTH = timedelta(minutes=1)
MAX_EXTRA_CHARS = 65_536  # of one component's kept lines: an event is not an attachment store


def collect(component: Component, *, modelled: frozenset[str] | set[str], skip=()) -> dict:
    """The stored form of what `component` holds besides the `modelled` properties (and those in `skip`,
    pairs of a name and a predicate on the value, e.g. STATUS:CANCELLED of an override)."""
    lines: list[str] = []
    params: dict[str, dict[str, str]] = {}
    for name, value in component.property_items(recursive=False, sorted=False):
        if name in ("BEGIN", "END"):
            continue
        if any(name == skipped and test(value) for skipped, test in skip):
            continue
        if name in modelled:
            kept = {
                key: str(val) for key, val in getattr(value, "params", {}).items() if key not in MODELLED_PARAMETERS
            }
            if kept:
                params[name] = kept
            continue
        lines.append(str(component.content_line(name, value, sorted=False)))
    for sub in component.subcomponents:
        lines.extend(str(line) for line in sub.content_lines(sorted=False) if line)
    found: dict = {}
    if lines:
        found["lines"] = lines
    if params:
        found["params"] = params
    return found


def size(extra: dict) -> int:
    return sum(len(line) for line in extra.get("lines", ()))


@lru_cache(maxsize=4096)
def _parsed(lines: tuple[str, ...]) -> Component:
    return Component.from_ical("BEGIN:VEVENT\r\n" + "\r\n".join(lines) + "\r\nEND:VEVENT\r\n")


def apply(component: Component, extra: dict | None) -> None:
    """Write `extra` (the stored form) back onto `component`, after its modelled properties were set."""
    if not extra:
        return
    for name, kept in extra.get("params", {}).items():
        if name in component:
            found = component[name]
            for value in found if isinstance(found, list) else [found]:
                value.params.update(kept)
    lines = extra.get("lines")
    if not lines:
        return
    parsed = _parsed(tuple(lines))
    for name, value in parsed.property_items(recursive=False, sorted=False):
        if name not in ("BEGIN", "END"):
            component.add(name, value, encode=False)
    for sub in parsed.subcomponents:
        component.add_component(sub)
