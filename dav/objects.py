"""Calendar object resources (RFC 4791 §4.1): one event, its changed occurrences inside, as iCalendar.

Reading and writing the iCalendar data is the iCalendar app's (`ical`): its mapping renders an event
and creates or updates one from one object, through the same event services as the REST API (rules,
version with author and reason, audit, notifications, sync feed, cache). What is here is CalDAV's part:
preconditions (ETags, RFC 4791 §5.3.2.1), the resource's name, and the reason naming the client.
"""

from __future__ import annotations

from django.db import transaction

from events import services as event_services
from events.models import Event
from sharing.roles import Role, role_allows

from .answers import DavError, need_privileges
from .calendars import Member


def render(events: list[Event]) -> dict[int, str]:
    """{event id: its iCalendar text}: none until the iCalendar mapping lands (calendar-data answers 404)."""
    return {}


def check_if_match(request, member: Member | None) -> None:
    """RFC 7232 preconditions on a write: If-Match names the current tag (or `*`: it exists), If-None-Match: *
    that nothing is there. Tags are compared whole (strong comparison)."""
    if_match = request.headers.get("If-Match")
    if if_match is not None:
        tags = {part.strip() for part in if_match.split(",")}
        if member is None or ("*" not in tags and member.etag not in tags):
            raise DavError(412, "The calendar object changed since you read it (If-Match); read it again.")
    if_none_match = request.headers.get("If-None-Match")
    if if_none_match is not None and member is not None:
        tags = {part.strip() for part in if_none_match.split(",")}
        if "*" in tags or member.etag in tags:
            raise DavError(412, "A calendar object already exists here (If-None-Match).")


@transaction.atomic
def object_delete(*, event: Event, actor, client: str, href: str) -> None:
    """Delete the event as DELETE /api/events/{id} does (owners only: need-privileges for anyone else)."""
    if not role_allows(event.my_role, Role.OWNER):
        raise need_privileges(href, "unbind")
    # The name stays with the deleted event, so the next sync reports it gone under the name the app knows;
    # a new object PUT under that name takes it over.
    event_services.event_delete(event=event, actor=actor, reason=client, expected_version=event.version)
