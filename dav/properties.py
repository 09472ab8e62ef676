"""The WebDAV / CalDAV properties of each kind of resource we serve, as PROPFIND answers them.

Each kind has a table {property tag: function(context) -> Element}; a PROPFIND asks for names from
it (or all of them: `allprop` gives the cheap ones, never calendar-data).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import format_datetime
from xml.etree.ElementTree import Element

from django.conf import settings

from . import calendars
from .calendars import Calendar
from .xml import APPLE, CALDAV, CALSERVER, DAV, element, tag


@dataclass
class Context:
    """What a property may need: the caller and where in their tree we are."""

    user: object
    href: str
    calendar: Calendar | None = None
    settings: dict = field(default_factory=dict)  # calendar slug -> CalendarSettings
    sync_token: str | None = None
    member: calendars.Member | None = None  # a calendar resource
    calendar_data: Callable[[], str] | None = None


def _href(url: str, name: str) -> Element:
    return element(name, None, element(tag(DAV, "href"), url))


def _resourcetype(*kinds: str) -> Callable[[Context], Element]:
    return lambda c: element(tag(DAV, "resourcetype"), None, *(element(kind) for kind in kinds))


def _privileges(*names: str) -> Callable[[Context], Element]:
    def answer(c: Context) -> Element:
        return element(
            tag(DAV, "current-user-privilege-set"),
            None,
            *(element(tag(DAV, "privilege"), None, element(tag(DAV, name))) for name in names),
        )

    return answer


READ_ONLY = ("read", "read-current-user-privilege-set")
# Apps change a calendar's name and colour even where they cannot change its events (stored per user).
READ_ONLY_CALENDAR = (*READ_ONLY, "write-properties")
WRITABLE_CALENDAR = (*READ_ONLY, "write", "write-properties", "write-content", "bind", "unbind")
WRITABLE_RESOURCE = (*READ_ONLY, "write", "write-properties", "write-content")


def _common() -> dict[str, Callable[[Context], Element]]:
    return {
        tag(DAV, "current-user-principal"): lambda c: _href(
            calendars.principal_href(c.user), tag(DAV, "current-user-principal")
        ),
        tag(DAV, "principal-collection-set"): lambda c: _href(
            f"{calendars.ROOT}principals/", tag(DAV, "principal-collection-set")
        ),
    }


def _with(node: Element, **attributes: str) -> Element:
    for key, value in attributes.items():
        node.set(key, value)
    return node


def _displayname(c: Context) -> Element:
    stored = c.settings.get(c.calendar.slug)
    return element(tag(DAV, "displayname"), (stored.displayname if stored else "") or c.calendar.default_name)


def _color(c: Context) -> Element | None:
    stored = c.settings.get(c.calendar.slug)
    return element(tag(APPLE, "calendar-color"), stored.color) if stored and stored.color else None


def _supported_reports(*names: tuple[str, str]) -> Callable[[Context], Element]:
    def answer(c: Context) -> Element:
        reports = [
            element(tag(DAV, "supported-report"), None, element(tag(DAV, "report"), None, element(tag(ns, name))))
            for ns, name in names
        ]
        return element(tag(DAV, "supported-report-set"), None, *reports)

    return answer


ROOT: dict[str, Callable[[Context], Element | None]] = {
    tag(DAV, "resourcetype"): _resourcetype(tag(DAV, "collection")),
    tag(DAV, "displayname"): lambda c: element(tag(DAV, "displayname"), "CalDAV"),
    tag(DAV, "current-user-privilege-set"): _privileges(*READ_ONLY),
    **_common(),
}

PRINCIPAL: dict[str, Callable[[Context], Element | None]] = {
    tag(DAV, "resourcetype"): _resourcetype(tag(DAV, "collection"), tag(DAV, "principal")),
    tag(DAV, "displayname"): lambda c: element(tag(DAV, "displayname"), c.user.get_full_name() or c.user.username),
    tag(DAV, "principal-URL"): lambda c: _href(calendars.principal_href(c.user), tag(DAV, "principal-URL")),
    tag(CALDAV, "calendar-home-set"): lambda c: _href(calendars.home_href(c.user), tag(CALDAV, "calendar-home-set")),
    tag(CALDAV, "calendar-user-address-set"): lambda c: element(
        tag(CALDAV, "calendar-user-address-set"),
        None,
        *[element(tag(DAV, "href"), f"mailto:{c.user.email}")] * bool(c.user.email),
        element(tag(DAV, "href"), calendars.principal_href(c.user)),
    ),
    tag(DAV, "current-user-privilege-set"): _privileges(*READ_ONLY),
    **_common(),
}

HOME: dict[str, Callable[[Context], Element | None]] = {
    tag(DAV, "resourcetype"): _resourcetype(tag(DAV, "collection")),
    tag(DAV, "displayname"): lambda c: element(tag(DAV, "displayname"), "Calendars"),
    tag(DAV, "owner"): lambda c: _href(calendars.principal_href(c.user), tag(DAV, "owner")),
    tag(DAV, "current-user-privilege-set"): _privileges(*READ_ONLY),  # calendars are not made over CalDAV
    **_common(),
}

CALENDAR: dict[str, Callable[[Context], Element | None]] = {
    tag(DAV, "resourcetype"): _resourcetype(tag(DAV, "collection"), tag(CALDAV, "calendar")),
    tag(DAV, "displayname"): _displayname,
    tag(APPLE, "calendar-color"): _color,
    tag(CALDAV, "calendar-description"): lambda c: element(tag(CALDAV, "calendar-description"), c.calendar.description),
    tag(CALDAV, "supported-calendar-component-set"): lambda c: element(
        tag(CALDAV, "supported-calendar-component-set"), None, _with(element(tag(CALDAV, "comp")), name="VEVENT")
    ),
    tag(CALDAV, "supported-calendar-data"): lambda c: element(
        tag(CALDAV, "supported-calendar-data"),
        None,
        _with(element(tag(CALDAV, "calendar-data")), **{"content-type": "text/calendar", "version": "2.0"}),
    ),
    # The request body limit (BodySizeLimitMiddleware): a larger PUT fails the max-resource-size precondition.
    tag(CALDAV, "max-resource-size"): lambda c: element(
        tag(CALDAV, "max-resource-size"), str(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
    ),
    tag(CALSERVER, "getctag"): lambda c: element(tag(CALSERVER, "getctag"), c.sync_token),
    tag(DAV, "sync-token"): lambda c: element(tag(DAV, "sync-token"), c.sync_token),
    tag(DAV, "supported-report-set"): _supported_reports(
        (CALDAV, "calendar-multiget"), (CALDAV, "calendar-query"), (DAV, "sync-collection")
    ),
    tag(DAV, "owner"): lambda c: _href(calendars.principal_href(c.user), tag(DAV, "owner")),
    tag(DAV, "current-user-privilege-set"): lambda c: _privileges(
        *(WRITABLE_CALENDAR if c.calendar.writable else READ_ONLY_CALENDAR)
    )(c),
    **_common(),
}
RESOURCE: dict[str, Callable[[Context], Element | None]] = {
    tag(DAV, "resourcetype"): _resourcetype(),
    tag(DAV, "getetag"): lambda c: element(tag(DAV, "getetag"), c.member.etag),
    tag(DAV, "getcontenttype"): lambda c: element(
        tag(DAV, "getcontenttype"), "text/calendar; charset=utf-8; component=vevent"
    ),
    tag(DAV, "getlastmodified"): lambda c: element(
        tag(DAV, "getlastmodified"), format_datetime(c.member.updated_at, usegmt=True)
    ),
    tag(DAV, "current-user-privilege-set"): lambda c: _privileges(
        *(WRITABLE_RESOURCE if c.calendar.writable else READ_ONLY)
    )(c),
    **_common(),
}
# Asked for by name only: they need the event's iCalendar text.
EXPENSIVE = {tag(CALDAV, "calendar-data"), tag(DAV, "getcontentlength")}


def answer(table: dict, context: Context, wanted: list[str] | None, *, names_only: bool = False):
    """(found elements, missing tags) for `wanted` (None: allprop)."""
    found: list[Element] = []
    missing: list[str] = []
    for name in table if wanted is None else wanted:
        if names_only:
            found.append(element(name))
            continue
        if name in EXPENSIVE and table is RESOURCE and context.calendar_data is not None:
            text = context.calendar_data()
            if text is None:
                missing.append(name)
            elif name == tag(CALDAV, "calendar-data"):
                found.append(element(name, text))
            else:
                found.append(element(name, str(len(text.encode()))))
            continue
        producer = table.get(name)
        value = producer(context) if producer is not None else None
        if value is None:
            missing.append(name)
        else:
            found.append(value)
    return found, missing
