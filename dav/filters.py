"""The filter of a calendar-query (RFC 4791 §9.7): which calendar object resources it matches.

    filter → comp-filter VCALENDAR → comp-filter VEVENT → is-not-defined
                                                        | time-range?, prop-filter*, comp-filter* (VALARM ...)
    prop-filter  → is-not-defined | text-match?, param-filter*
    param-filter → is-not-defined | text-match?

A comp-filter matches when a component of its name matches everything inside it; a prop-filter when one
instance of the property does (no children: it exists), a param-filter likewise; `is-not-defined` when there
is none. text-match is a substring match under a collation (RFC 4790: i;octet, i;ascii-casemap, the default,
and RFC 5051's i;unicode-casemap), `negate-condition="yes"` inverting it.

How it is answered: the VEVENT's time-range by the event's occurrences in the database (the series, its moved
and cancelled occurrences: `events_in_window`), a UID text-match narrowed there too; everything else against
the VEVENTs the resource is written as (ical.export.event_components: the modelled properties and every kept
one, CATEGORIES, ATTENDEE, X-..., VALARM...), so a filter sees exactly what calendar-data shows. With a
time-range too, one VEVENT must match both: an override when its occurrence is in the range, the master when
one of the occurrences it still defines (not overridden) is.

What a filter may ask that we do not answer is refused (403 CALDAV:supported-filter) rather than guessed:
a time-range on a property or on a component other than VEVENT, and comp-filter VTIMEZONE. We store VEVENTs
only, so a comp-filter VTODO (VJOURNAL, VFREEBUSY) matches nothing.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from xml.etree.ElementTree import Element

from django.db.models import Q, QuerySet
from icalendar import Component, vCategory

from events.models import Event
from events.occurrences import iter_event_occurrences
from events.selectors import events_in_window
from ical.export import event_components

from .answers import DavError
from .calendar_data import instant_of
from .requests import utc_datetime
from .xml import CALDAV, tag

_VALID = tag(CALDAV, "valid-filter")
_SUPPORTED = tag(CALDAV, "supported-filter")
_COLLATION = tag(CALDAV, "supported-collation")
_IS_NOT_DEFINED = tag(CALDAV, "is-not-defined")
_TEXT_MATCH = tag(CALDAV, "text-match")
_TIME_RANGE = tag(CALDAV, "time-range")
_PROP_FILTER = tag(CALDAV, "prop-filter")
_PARAM_FILTER = tag(CALDAV, "param-filter")
_COMP_FILTER = tag(CALDAV, "comp-filter")


def _ascii_casemap(text: str) -> str:
    return text.upper() if text.isascii() else "".join(c.upper() if c.isascii() else c for c in text)


def _unicode_casemap(text: str) -> str:
    # RFC 5051: each character's simple titlecase mapping (one character; where Unicode's full mapping is
    # longer, such as ß → Ss, the simple one keeps the character), then NFKD.
    mapped = "".join(t if len(t := c.title()) == 1 else c for c in text)
    return unicodedata.normalize("NFKD", mapped)


COLLATIONS: dict[str, Callable[[str], str]] = {
    "i;octet": lambda text: text,
    "i;ascii-casemap": _ascii_casemap,
    "i;unicode-casemap": _unicode_casemap,
}


@dataclass(frozen=True)
class TextMatch:
    text: str
    collation: str
    negate: bool

    def matches(self, value: str) -> bool:
        fold = COLLATIONS[self.collation]
        return (fold(self.text) in fold(value)) != self.negate


@dataclass
class ParamFilter:
    name: str
    is_not_defined: bool = False
    text: TextMatch | None = None


@dataclass
class PropFilter:
    name: str
    is_not_defined: bool = False
    text: TextMatch | None = None
    params: list[ParamFilter] = field(default_factory=list)


@dataclass
class CompFilter:
    name: str
    is_not_defined: bool = False
    window: tuple[datetime | None, datetime | None] | None = None
    props: list[PropFilter] = field(default_factory=list)
    comps: list[CompFilter] = field(default_factory=list)


# --- reading the XML --------------------------------------------------------------------------------------


def _name(node: Element) -> str:
    name = (node.get("name") or "").strip().upper()
    if not name:
        raise DavError(403, f"A {node.tag.split('}')[-1]} needs a name.", _VALID)
    return name


def _text_match(node: Element) -> TextMatch:
    collation = node.get("collation", "i;ascii-casemap")
    if collation not in COLLATIONS:
        raise DavError(
            403, f"Unsupported collation {collation!r}: use one of {', '.join(sorted(COLLATIONS))}.", _COLLATION
        )
    negate = node.get("negate-condition", "no")
    if negate not in ("yes", "no"):
        raise DavError(403, 'negate-condition is "yes" or "no".', _VALID)
    return TextMatch(node.text or "", collation, negate == "yes")


def _utc(value: str | None, name: str) -> datetime | None:
    found = utc_datetime(value)
    if value is not None and found is None:
        raise DavError(403, f"time-range {name} must be a UTC date-time like 20300107T000000Z.", _VALID)
    return found


def _window(node: Element) -> tuple[datetime | None, datetime | None]:
    start, end = _utc(node.get("start"), "start"), _utc(node.get("end"), "end")
    if start is None and end is None:
        raise DavError(403, "A time-range needs a start or an end.", _VALID)
    if start is not None and end is not None and end <= start:
        raise DavError(403, "A time-range must end after it starts.", _VALID)
    return start, end


def _not_defined(node: Element, found=None) -> bool:
    """Whether `node` holds is-not-defined (which then must be all it holds); noted on `found`."""
    if not any(child.tag == _IS_NOT_DEFINED for child in node):
        return False
    if len(node) != 1:
        raise DavError(403, f"is-not-defined stands alone in a {node.tag.split('}')[-1]}.", _VALID)
    if found is not None:
        found.is_not_defined = True
    return True


def _value_filter(node: Element, found: ParamFilter | PropFilter) -> ParamFilter | PropFilter:
    """A prop-filter or param-filter: is-not-defined, or at most one text-match (and, in a prop-filter only,
    param-filters)."""
    if _not_defined(node, found):
        return found
    for child in node:
        if child.tag == _TEXT_MATCH and found.text is None:
            found.text = _text_match(child)
        elif child.tag == _PARAM_FILTER and isinstance(found, PropFilter):
            found.params.append(_value_filter(child, ParamFilter(_name(child))))
        elif child.tag == _TIME_RANGE and isinstance(found, PropFilter):
            raise DavError(403, "A time-range on a property is not supported; put it on the VEVENT.", _SUPPORTED)
        else:
            raise DavError(403, f"A {node.tag.split('}')[-1]} cannot hold {child.tag}.", _VALID)
    return found


def _comp_filter(node: Element, *, top: bool) -> CompFilter:
    found = CompFilter(_name(node))
    if found.name == "VTIMEZONE":
        raise DavError(403, "Filtering on VTIMEZONE is not supported.", _SUPPORTED)
    if _not_defined(node, found):
        return found
    for child in node:
        if child.tag == _TIME_RANGE and found.window is None:
            if not (top and found.name == "VEVENT"):
                raise DavError(403, f"A time-range on {found.name} is not supported (on VEVENT it is).", _SUPPORTED)
            found.window = _window(child)
        elif child.tag == _PROP_FILTER:
            found.props.append(_value_filter(child, PropFilter(_name(child))))
        elif child.tag == _COMP_FILTER:
            found.comps.append(_comp_filter(child, top=False))
        else:
            raise DavError(403, f"A comp-filter cannot hold {child.tag}.", _VALID)
    return found


def parse(root: Element) -> list[CompFilter] | None:
    """The comp-filters that a calendar-query's `filter` puts inside VCALENDAR (every one must match); None when
    it matches nothing at all (VCALENDAR is-not-defined). Raises DavError 403 valid-filter, supported-filter or
    supported-collation."""
    filters = [child for child in root if child.tag == tag(CALDAV, "filter")]
    if len(filters) != 1:
        raise DavError(403, "A calendar-query holds exactly one filter.", _VALID)
    top = list(filters[0])
    if len(top) != 1 or top[0].tag != _COMP_FILTER or (top[0].get("name") or "").upper() != "VCALENDAR":
        raise DavError(403, "The filter must hold one comp-filter named VCALENDAR.", _VALID)
    calendar = top[0]
    if _not_defined(calendar):
        return None
    comps = []
    for child in calendar:
        if child.tag != _COMP_FILTER:
            raise DavError(403, f"Filtering a VCALENDAR on {child.tag} is not supported.", _SUPPORTED)
        comps.append(_comp_filter(child, top=True))
    return comps


# --- matching ---------------------------------------------------------------------------------------------


def _texts(value) -> list[str]:
    if isinstance(value, vCategory):
        return [",".join(str(category) for category in value.cats)]
    if isinstance(value, str):
        return [str(value)]
    ical = value.to_ical() if hasattr(value, "to_ical") else str(value)
    return [ical.decode("utf-8", "replace") if isinstance(ical, bytes) else str(ical)]


def _instances(component: Component, name: str) -> list:
    found = component.get(name)
    if found is None:
        return []
    return found if isinstance(found, list) else [found]


def _param_matches(param: ParamFilter, value) -> bool:
    params = getattr(value, "params", {})
    present = param.name in params
    if param.is_not_defined:
        return not present
    if not present:
        return False
    if param.text is None:
        return True
    given = params[param.name]
    return any(param.text.matches(str(one)) for one in (given if isinstance(given, list) else [given]))


def _prop_matches(prop: PropFilter, component: Component) -> bool:
    instances = _instances(component, prop.name)
    if prop.is_not_defined:
        return not instances
    return any(
        (prop.text is None or any(prop.text.matches(text) for text in _texts(value)))
        and all(_param_matches(param, value) for param in prop.params)
        for value in instances
    )


def _comp_matches(comp: CompFilter, components: list[Component]) -> bool:
    named = [component for component in components if component.name == comp.name]
    if comp.is_not_defined:
        return not named
    return any(
        all(_prop_matches(prop, component) for prop in comp.props)
        and all(_comp_matches(sub, component.subcomponents) for sub in comp.comps)
        for component in named
    )


def _narrowed(comp: CompFilter, queryset: QuerySet[Event]) -> QuerySet[Event]:
    """`queryset` narrowed by what the database answers of a VEVENT comp-filter: a superset of its matches."""
    if comp.window is not None:
        queryset = events_in_window(queryset, *comp.window)
    for prop in comp.props:
        if prop.name == "UID" and prop.text is not None and not prop.text.negate and not prop.params:
            # Each lookup is at least as permissive as its collation (LIKE, case-insensitive for ascii-casemap):
            # the database keeps every match, and the components decide.
            lookup = {"i;octet": "uid__contains", "i;ascii-casemap": "uid__icontains"}.get(prop.text.collation)
            if lookup is not None:
                queryset = queryset.filter(Q(**{lookup: prop.text.text}))
    return queryset


def matching(comps: list[CompFilter] | None, queryset: QuerySet[Event]) -> QuerySet[Event]:
    """The events of `queryset` whose resource matches every comp-filter of `comps` (see `parse`)."""
    if comps is None:
        return queryset.none()
    checked: list[CompFilter] = []
    for comp in comps:
        if comp.name != "VEVENT":  # a VTODO, VJOURNAL...: we store none
            if comp.is_not_defined:
                continue  # none here: matched by every resource
            return queryset.none()
        if comp.is_not_defined:
            return queryset.none()  # every resource here is a VEVENT
        queryset = _narrowed(comp, queryset)
        if comp.props or comp.comps:
            checked.append(comp)
    if not checked:
        return queryset
    kept = []
    for event in queryset.select_related(None).order_by("pk"):
        components = event_components(event)
        if all(_comp_matches(comp, _in_window(event, components, comp.window)) for comp in checked):
            kept.append(event.pk)
    return queryset.filter(pk__in=kept)


def _in_window(event: Event, components: list[Component], window) -> list[Component]:
    """The VEVENTs of `components` (the master, then the overrides) with an occurrence in `window` (all of them
    without one): an override when its own occurrence is there, the master when one it still defines is."""
    if window is None:
        return components
    master, overrides = components[0], components[1:]
    by_original = {instant_of(override["RECURRENCE-ID"].dt, event): override for override in overrides}
    found: dict[int, Component] = {}
    for occurrence in iter_event_occurrences(event, window_start=window[0], window_end=window[1]):
        component = by_original.get(occurrence.original_start, master) if occurrence.is_exception else master
        found[id(component)] = component
        if len(found) == len(components):
            break
    return list(found.values())
