"""Which calendars a user has over CalDAV, which events are in each, and what each is called.

Every user has two calendars in their calendar home: `events` (what they own or edit: writable)
and `shared` (what is shared with them as viewer: read-only). An event is in exactly one of them
for each user with access, so a role change moves it from one to the other (the sync report says
so: gone from one, new in the other).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple
from urllib.parse import quote, unquote

from django.db.models import QuerySet

from events.models import Event
from events.selectors import events_visible
from sharing.roles import Role

from .models import CalendarSettings, ResourceName

ROOT = "/dav/"
ICS = ".ics"
# The longest member name: `~<event id>~` before an owner's `<uid>.ics` (a UID is at most 255 characters).
NAME_MAX = len("~~") + 19 + 255 + 4
_SAFE = "@:+=~-._!$&'()*,;"  # kept as they are in a path segment (RFC 3986 pchar)


@dataclass(frozen=True)
class Calendar:
    slug: str
    roles: tuple[str, ...]
    writable: bool
    default_name: str
    description: str


CALENDARS = {
    "events": Calendar(
        "events", (Role.OWNER, Role.EDITOR), True, "Calendar", "Events you own or edit; changes here are saved."
    ),
    "shared": Calendar(
        "shared",
        (Role.VIEWER,),
        False,
        "Shared with me",
        "Events shared with you to read; they cannot be changed here.",
    ),
}


def principal_href(user) -> str:
    return f"{ROOT}principals/{user.pk}/"


def home_href(user) -> str:
    return f"{ROOT}calendars/{user.pk}/"


def calendar_href(user, calendar: Calendar) -> str:
    return f"{home_href(user)}{calendar.slug}/"


def name_of(*, name: str | None, uid: str) -> str:
    """What an event's owner calls its resource: the name an app gave it, else `<uid>.ics`."""
    return name or f"{uid}{ICS}"


# Names are unique per owner (as UIDs are), not per calendar: one editor's calendar may hold two owners' events
# that their apps both named `meeting.ics`. So the caller's own events are listed under their own names, and
# everyone else's under the owner's name qualified by the event's id: `~<event id>~<name>`. An event's href then
# depends on nothing but the event and the caller (not on the other events, nor on which owner is the primary
# one), so it never changes when other events come and go: sync tokens and ETags stay right. A new resource may
# not be given a name of that form (see `is_reserved`).
_QUALIFIED = re.compile(r"^~(\d{1,19})~(.+)$", re.DOTALL)


def member_name(*, user, pk: int, owner_id: int, name: str | None, uid: str) -> str:
    """The name of event `pk` (owned by `owner_id`, named `name` by its owner's app) in a calendar of `user`."""
    own = name_of(name=name, uid=uid)
    return own if owner_id == user.pk else f"~{pk}~{own}"


def is_reserved(name: str) -> bool:
    """Whether `name` has the form of another owner's event's name (not for a new resource of the caller)."""
    return _QUALIFIED.match(name) is not None


def _default_uids(names: list[str]) -> list[str]:
    """The UIDs that names of the `<uid>.ics` form stand for."""
    return [name[: -len(ICS)] for name in names if name.endswith(ICS)]


def resource_href(user, calendar: Calendar, name: str) -> str:
    return calendar_href(user, calendar) + quote(name, safe=_SAFE)


def name_from_segment(segment: str) -> str:
    return unquote(segment, errors="strict")


def members(*, user, calendar: Calendar) -> QuerySet[Event]:
    """The live events in `user`'s `calendar` (one permission join: the role filter reuses it)."""
    return events_visible(user=user).filter(my_role__in=calendar.roles)


class Member(NamedTuple):
    """What naming a member and tagging it needs, without loading the event."""

    pk: int
    version: int
    name: str  # in the caller's calendar (member_name)
    updated_at: datetime

    @property
    def etag(self) -> str:
        return etag_of(self.pk, self.version)

    @classmethod
    def of(cls, event: Event, user) -> Member:
        stored = getattr(event, "dav_name", None)
        name = member_name(
            user=user, pk=event.pk, owner_id=event.owner_id, name=stored.name if stored else None, uid=event.uid
        )
        return cls(event.pk, event.version, name, event.updated_at)


_NAMING = ("pk", "version", "dav_name__name", "uid", "owner_id", "updated_at")


def member_rows(queryset: QuerySet[Event], user) -> list[Member]:
    """The members of `queryset` by id, read as the few columns naming and tagging them need."""
    return [
        Member(pk, version, member_name(user=user, pk=pk, owner_id=owner, name=name, uid=uid), updated)
        for pk, version, name, uid, owner, updated in queryset.order_by("pk").values_list(*_NAMING)
    ]


def _named(*, user, calendar: Calendar, names: list[str]) -> QuerySet[Event]:
    """The members of `calendar` that may be named `names` (a superset: the names are compared after)."""
    own = [name for name in names if not _QUALIFIED.match(name)]
    others = [int(match[1]) for name in names if (match := _QUALIFIED.match(name))]
    # Each branch follows an index (the stored names by owner and name, the events by owner and UID, by id), so
    # a lookup costs the same in a calendar of ten or ten thousand events.
    ids = (
        ResourceName.objects.filter(owner_id=user.pk, name__in=own)
        .order_by()
        .values_list("event_id")
        .union(
            Event.objects.filter(owner_id=user.pk, uid__in=_default_uids(own)).order_by().values_list("pk"),
            Event.objects.filter(pk__in=others).order_by().values_list("pk"),
            all=True,
        )
    )
    return members(user=user, calendar=calendar).filter(pk__in=ids).order_by("pk")


def pks_by_name(*, user, calendar: Calendar, names: list[str]) -> dict[str, int]:
    """{name: event id} of the members of `calendar` named `names` (each names one event at most). One query."""
    if not names:
        return {}
    found: dict[str, int] = {}
    wanted = set(names)
    for member in member_rows(_named(user=user, calendar=calendar, names=names), user):
        if member.name in wanted:  # an app's name `<other uid>.ics` does not stand for the event of that uid
            found.setdefault(member.name, member.pk)  # an app's name equal to another's `<uid>.ics`: the older
    return found


def by_name(*, user, calendar: Calendar, name: str, lock: bool = False) -> Event | None:
    """The member of `calendar` named `name`, with the caller's role (`my_role`) and its stored name; its row
    locked (`lock`) until the transaction ends, so that it is read as the last write left it. One query."""
    candidates = _named(user=user, calendar=calendar, names=[name]).select_related("dav_name")
    if lock:
        candidates = candidates.select_for_update(of=("self",))
    return next((event for event in candidates if Member.of(event, user).name == name), None)


def etag_of(pk: int, version: int) -> str:
    """A strong ETag: the version (what If-Match is checked against) and the event, so a resource deleted and
    made again under the same name never repeats a tag."""
    return f'"{version}-{pk:x}"'


def settings_of(*, user) -> dict[str, CalendarSettings]:
    return {row.calendar: row for row in CalendarSettings.objects.filter(user=user)}
