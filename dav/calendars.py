"""Which calendars a user has over CalDAV, which events are in each, and what each is called.

Every user has two calendars in their calendar home: `events` (what they own or edit: writable)
and `shared` (what is shared with them as viewer: read-only). An event is in exactly one of them
for each user with access, so a role change moves it from one to the other (the sync report says
so: gone from one, new in the other).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple
from urllib.parse import quote, unquote

from django.db.models import Case, IntegerField, Q, QuerySet, Value, When

from events.models import Event
from events.selectors import events_visible
from sharing.roles import Role

from .models import CalendarSettings

ROOT = "/dav/"
ICS = ".ics"
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
    """A member's resource name: the one an app gave it, else `<uid>.ics`."""
    return name or f"{uid}{ICS}"


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
    name: str
    updated_at: datetime

    @property
    def etag(self) -> str:
        return etag_of(self.pk, self.version)

    @classmethod
    def of(cls, event: Event) -> Member:
        stored = getattr(event, "dav_name", None)
        return cls(
            event.pk, event.version, name_of(name=stored.name if stored else None, uid=event.uid), event.updated_at
        )


def member_rows(queryset: QuerySet[Event]) -> list[Member]:
    """The members of `queryset` by id, read as the few columns naming and tagging them need."""
    rows = queryset.order_by("pk").values_list("pk", "version", "dav_name__name", "uid", "updated_at")
    return [Member(pk, version, name_of(name=name, uid=uid), updated) for pk, version, name, uid, updated in rows]


def pks_by_name(*, user, calendar: Calendar, names: list[str]) -> dict[str, int]:
    """{name: event id} of the members of `calendar` named `names`. Apps of two owners may have used one name
    for events that end up in one calendar: the caller's own wins, then the oldest."""
    if not names:
        return {}
    query = Q(dav_name__name__in=names) | Q(dav_name__isnull=True, uid__in=_default_uids(names))
    rows = (
        members(user=user, calendar=calendar)
        .filter(query)
        .annotate(mine=Case(When(owner=user, then=Value(0)), default=Value(1), output_field=IntegerField()))
        .order_by("mine", "pk")
        .values_list("pk", "dav_name__name", "uid")
    )
    found: dict[str, int] = {}
    for pk, name, uid in rows:
        found.setdefault(name_of(name=name, uid=uid), pk)
    return found


def by_name(*, user, calendar: Calendar, name: str) -> Event | None:
    """The member of `calendar` named `name`, with the caller's role (`my_role`) and its stored name."""
    pk = pks_by_name(user=user, calendar=calendar, names=[name]).get(name)
    if pk is None:
        return None
    return members(user=user, calendar=calendar).select_related("dav_name").filter(pk=pk).first()


def etag_of(pk: int, version: int) -> str:
    """A strong ETag: the version (what If-Match is checked against) and the event, so a resource deleted and
    made again under the same name never repeats a tag."""
    return f'"{version}-{pk:x}"'


def settings_of(*, user) -> dict[str, CalendarSettings]:
    return {row.calendar: row for row in CalendarSettings.objects.filter(user=user)}
