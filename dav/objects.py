"""Calendar object resources (RFC 4791 §4.1): one event, its changed occurrences inside, as iCalendar.

Reading and writing the iCalendar data is the iCalendar app's (`ical`): its mapping renders an event
and creates or updates one from one object, through the same event services as the REST API (rules,
version with author and reason, audit, notifications, sync feed, cache). What is here is CalDAV's part:
preconditions (ETags, RFC 4791 §5.3.2.1), the resource's name, and the reason naming the client.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from django.core.cache import caches
from django.db import transaction

from common.after_answer import after_answer
from events import services as event_services
from events.locks import calendar_lock
from events.models import Event
from history.audit import audit_record
from history.models import Action
from ical.export import calendar_bytes
from ical.parse import ICalendarSyntaxError, ICalObject, ObjectRefused, parse_calendar
from ical.selectors import event_for_uid
from ical.services import event_save_from_ical
from sharing.roles import Role, role_allows

from . import calendars
from .answers import DavError, need_privileges
from .calendars import Calendar, Member
from .models import NAME_MAX as STORED_NAME_MAX
from .models import ResourceName
from .xml import CALDAV, DAV, element, tag

RENDER_CACHE_SECONDS = 24 * 3600


def _render_key(event: Event) -> str:
    return f"dav:ics:{event.pk}:{event.version}"


def render(events: list[Event]) -> dict[int, str]:
    """{event id: its iCalendar text (one VCALENDAR: the event, its changed occurrences, its VTIMEZONEs)}.

    Kept in the cache by (event, version): every change to what the text says is a new version, so an
    entry never goes stale, and an initial sync of a large calendar does not export every event again.
    """
    if not events:
        return {}
    cache = caches["calendar_data"]
    cached = cache.get_many([_render_key(event) for event in events])
    texts: dict[int, str] = {}
    fresh: dict[str, str] = {}
    for event in events:
        key = _render_key(event)
        text = cached.get(key)
        if text is None:
            text = fresh[key] = calendar_bytes([event]).decode("utf-8")
        texts[event.pk] = text
    if fresh:
        after_answer(partial(cache.set_many, fresh, timeout=RENDER_CACHE_SECONDS))  # once the answer is sent
    return texts


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


def _precondition(status: int, name: str, message: str, *, namespace: str = CALDAV, href: str | None = None):
    condition = element(tag(namespace, name), None, *([element(tag(DAV, "href"), href)] if href else []))
    return DavError(status, message, condition)


def _parse(request):
    """The one calendar object of a PUT body, or the RFC 4791 §5.3.2.1 precondition it fails."""
    content_type = request.content_type or ""
    if content_type.lower() != "text/calendar":
        raise _precondition(403, "supported-calendar-data", "The body must be text/calendar.")
    try:
        parsed = parse_calendar(request.body)
    except ICalendarSyntaxError as exc:
        raise _precondition(403, "valid-calendar-data", f"Not valid iCalendar: {exc}") from None
    if parsed.skipped:
        kinds = ", ".join(sorted(parsed.skipped))
        raise _precondition(403, "supported-calendar-component", f"Only VEVENT is stored here, not {kinds}.")
    if not parsed.objects:
        raise _precondition(403, "supported-calendar-component", "The body holds no VEVENT.")
    if len(parsed.objects) > 1:
        raise _precondition(
            403, "valid-calendar-object-resource", "One resource holds one event (one UID) and its overrides."
        )
    obj = parsed.objects[0]
    if obj.errors:
        raise _precondition(403, "valid-calendar-data", "; ".join(obj.errors)[:1000])
    return obj


def object_put(
    *,
    user,
    calendar: Calendar,
    name: str,
    href: str,
    request,
    client: str,
    changes_of: Callable[[ICalObject, Event | None], dict],
) -> tuple[Event, bool]:
    """Create (201) or replace (204) the event at `name` from the PUT body, through the iCalendar import of one
    object: the same event services as the REST API. `changes_of(obj, event)` validates the object against the
    event as the iCalendar input does (the view passes it: validation is the HTTP layer's). Scheduling
    conflicts never refuse it (apps cannot resolve a 409): they are saved and recorded in the audit trail.
    Returns (event, created)."""
    obj = _parse(request)
    with transaction.atomic():
        calendar_lock(user.pk)  # the order event writes take their locks in: the calendar, then the row
        # Its row locked as it is read: If-Match is judged against the last write, and the changes made against it.
        current = calendars.by_name(user=user, calendar=calendar, name=name, lock=True)
        member = Member.of(current, user) if current is not None else None
        check_if_match(request, member)
        if current is None and (calendars.is_reserved(name) or len(name) > STORED_NAME_MAX):
            raise need_privileges(href, "bind")  # another owner's form of name, or longer than names are kept
        if current is not None and obj.uid != current.uid:
            raise _precondition(403, "no-uid-conflict", "A resource keeps its UID; this one is another.", href=href)
        if current is None:
            taken = calendars.members(user=user, calendar=calendar).filter(uid=obj.uid).select_related("dav_name")
            other = taken.first()
            if other is not None:
                existing = calendars.resource_href(user, calendar, Member.of(other, user).name)
                raise _precondition(403, "no-uid-conflict", "This UID is already in the calendar.", href=existing)
        try:
            # The event this href names; a UID alone may name several (one per owner) in a shared calendar.
            target = current if current is not None else event_for_uid(user=user, uid=obj.uid)
            outcome = event_save_from_ical(
                actor=user,
                event=target,
                changes=changes_of(obj, target),
                reason=client,
                conflict_strategy="warn",
                action=Action.UPDATED,
            )
        except ObjectRefused as exc:
            uid_taken = any(message.startswith("UID:") for message in exc.errors)
            raise _precondition(
                403, "no-uid-conflict" if uid_taken else "valid-calendar-data", "; ".join(exc.errors)[:1000]
            ) from None
        event = outcome.event
        if outcome.conflicts:
            audit_record(
                actor=user,
                action="event.conflicts_saved",
                target=event,
                data={"conflicts": len(outcome.conflicts), "client": client, "version": event.version},
            )
        created = current is None
        if created and name != f"{event.uid}{calendars.ICS}":
            # The name this app chose; a deleted event of the owner that held it lets it go.
            ResourceName.objects.filter(owner=event.owner, name=name).delete()
            ResourceName.objects.create(event=event, owner=event.owner, name=name)
    return event, created
