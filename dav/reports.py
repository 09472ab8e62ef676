"""REPORTs on a calendar: calendar-multiget and calendar-query (RFC 4791 §7.8, §7.9) and
sync-collection (RFC 6578)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from urllib.parse import unquote, urlsplit
from xml.etree.ElementTree import Element

from django.db.models import QuerySet

from events.models import Event
from notifications.models import FeedEntry

from . import calendar_data, calendars, filters, properties, sync
from .answers import DavError, Propstat
from .calendars import Calendar, Member
from .requests import wanted_properties
from .xml import CALDAV, DAV, tag

MAX_HREFS = 1000  # in one calendar-multiget
SERVER_LIMIT = 1000  # results of one sync-collection when the client sets no lower limit

# Given the events whose iCalendar text is asked for: {event id: text}.
Renderer = Callable[[list[Event]], dict[int, str]]


@dataclass(frozen=True)
class Scope:
    """Whose calendar a report (or a PROPFIND listing) reads, and how it renders calendar-data."""

    user: object
    calendar: Calendar
    render: Renderer


def _with_calendar_data(root: Element, scope: Scope) -> Scope:
    """`scope` rendering calendar-data as the report's `<C:calendar-data>` asks (expanded, limited, whole)."""
    for child in root:
        if child.tag == tag(DAV, "prop"):
            asked = next((p for p in child if p.tag == tag(CALDAV, "calendar-data")), None)
            return replace(scope, render=calendar_data.renderer(asked, scope.render))
    return scope


def _report_props(root: Element) -> tuple[list[str] | None, bool]:
    for child in root:
        if child.tag == tag(DAV, "prop"):
            return wanted_properties(child), False
        if child.tag == tag(DAV, "allprop"):
            return None, False
        if child.tag == tag(DAV, "propname"):
            return None, True
    return [tag(DAV, "getetag")], False


def answers(scope: Scope, queryset: QuerySet[Event], wanted: list[str] | None, names_only: bool) -> list[Propstat]:
    """A Propstat per event of `queryset` (loaded whole only when calendar-data or its length is asked for)."""
    needs_data = wanted is not None and not names_only and bool(properties.EXPENSIVE & set(wanted))
    if needs_data:
        events = list(queryset.select_related("dav_name").order_by("pk"))
        texts = scope.render(events)
        members = [(Member.of(event, scope.user), texts.get(event.pk)) for event in events]
    else:
        members = [(member, None) for member in calendars.member_rows(queryset, scope.user)]
    answers = []
    for member, text in members:
        href = calendars.resource_href(scope.user, scope.calendar, member.name)
        context = properties.Context(
            user=scope.user,
            href=href,
            calendar=scope.calendar,
            member=member,
            calendar_data=lambda t=text: t,
        )
        found, missing = properties.answer(properties.RESOURCE, context, wanted, names_only=names_only)
        answers.append(Propstat(href, found, missing))
    return answers


# --- calendar-multiget ------------------------------------------------------------------------------------


def multiget(root: Element, scope: Scope) -> list:
    wanted, names_only = _report_props(root)
    scope = _with_calendar_data(root, scope)
    hrefs = [child.text or "" for child in root if child.tag == tag(DAV, "href")]
    if len(hrefs) > MAX_HREFS:
        raise DavError(400, f"At most {MAX_HREFS} hrefs in one calendar-multiget.")
    prefix = calendars.calendar_href(scope.user, scope.calendar)
    names: dict[str, str] = {}  # name -> href as the client sent it
    result: list = []
    for href in dict.fromkeys(hrefs):
        path = urlsplit(href.strip()).path
        name = unquote(path[len(prefix) :]) if path.startswith(prefix) else ""
        if not name or "/" in name:
            result.append((href, 404))
        else:
            names[name] = href
    found = calendars.pks_by_name(user=scope.user, calendar=scope.calendar, names=list(names))
    queryset = Event.objects.filter(pk__in=found.values())
    by_href = {answer.href: answer for answer in answers(scope, queryset, wanted, names_only)}
    for name, href in names.items():
        answer = by_href.get(calendars.resource_href(scope.user, scope.calendar, name)) if name in found else None
        if answer is None:
            result.append((href, 404))
        else:
            answer.href = href  # answered under the href asked for
            result.append(answer)
    return result


# --- calendar-query ---------------------------------------------------------------------------------------


def query(root: Element, scope: Scope) -> list:
    wanted, names_only = _report_props(root)
    scope = _with_calendar_data(root, scope)
    comps = filters.parse(root)
    return answers(
        scope, filters.matching(comps, calendars.members(user=scope.user, calendar=scope.calendar)), wanted, names_only
    )


# --- sync-collection --------------------------------------------------------------------------------------


def _limit(root: Element) -> int | None:
    for child in root:
        if child.tag == tag(DAV, "limit"):
            numbers = [n for n in child if n.tag == tag(DAV, "nresults")]
            try:
                value = int((numbers[0].text or "").strip()) if numbers else -1
            except ValueError:
                value = -1
            if value < 1:
                raise DavError(400, "limit must hold nresults, a positive number.")
            return value
    return None


def sync_collection(root: Element, scope: Scope) -> tuple[list, str]:
    """(responses, new token). Changes since the token, one response per event: its properties when it is in
    this calendar now, 404 when it left (deleted, unshared, moved to the user's other calendar)."""
    level = next((child.text or "" for child in root if child.tag == tag(DAV, "sync-level")), "1").strip()
    if level != "1":
        raise DavError(
            403, "Only sync-level 1 is supported (calendars hold no collections).", tag(DAV, "supported-report")
        )
    raw = next((child.text or "" for child in root if child.tag == tag(DAV, "sync-token")), None)
    if raw is None:
        raise DavError(400, "A sync-collection holds a sync-token (empty for a first sync).")
    user = scope.user
    token, current = sync.decode(user, raw)
    wanted, names_only = _report_props(root)
    limit = min(_limit(root) or SERVER_LIMIT, SERVER_LIMIT)
    collection = calendars.calendar_href(user, scope.calendar)

    if token is not None and token.after is None and token.position == current:
        return [], raw.strip()  # nothing happened since: what an app's sync timer asks most of the time
    members = calendars.members(user=user, calendar=scope.calendar)
    if token is None or token.after is not None:
        # A first sync (or the rest of one): everything in the calendar now, by id, in pages of `limit`.
        position = current if token is None else token.position
        after = token.after if token is not None else 0
        page = list(members.filter(pk__gt=after).order_by("pk").values_list("pk", flat=True)[: limit + 1])
        responses = answers(scope, Event.objects.filter(pk__in=page[:limit]), wanted, names_only)
        if token is not None:  # what changed since the listing started, among what was already listed
            changed, _, _ = _changed_since(user, token.position, current, limit=SERVER_LIMIT, up_to_pk=after)
            responses += _state_of(scope, changed, members, wanted, names_only)
        if len(page) > limit:
            next_token = sync.SyncToken(position, after=page[limit - 1])
            return [*responses, (collection, 507)], sync.encode(user, next_token)
        return responses, sync.encode(user, sync.SyncToken(position))

    changed, position, truncated = _changed_since(user, token.position, current, limit=limit)
    responses = _state_of(scope, changed, members, wanted, names_only)
    if truncated:
        responses.append((collection, 507))
    return responses, sync.encode(user, sync.SyncToken(position))


def _changed_since(
    user, position: int, current: int, *, limit: int, up_to_pk: int | None = None
) -> tuple[list[int], int, bool]:
    """(ids of the events with feed entries in (`position`, `current`], in the order of their first entry; the
    position they bring the client to; whether more remain). At most `limit` events: the position then stops
    before the entry of the first event left out, so nothing is skipped."""
    if position >= current:
        return [], current, False  # nothing happened: no query (the common case of an app's sync timer)
    entries = FeedEntry.objects.filter(user=user, seq__gt=position, seq__lte=current)
    if up_to_pk is not None:
        entries = entries.filter(event_id__lte=up_to_pk)
    ids: dict[int, None] = {}
    reached = position
    for seq, event_id in entries.order_by("seq").values_list("seq", "event_id").iterator(chunk_size=2000):
        if event_id not in ids and len(ids) == limit:
            return list(ids), reached, True
        ids.setdefault(event_id, None)
        reached = seq
    return list(ids), current, False


def _state_of(scope: Scope, event_ids: list[int], members: QuerySet[Event], wanted, names_only: bool) -> list:
    """Each event's properties if it is in the calendar now, else a 404 under the name it had there."""
    if not event_ids:
        return []
    present = answers(scope, members.filter(pk__in=event_ids), wanted, names_only)
    listed = {item.href for item in present}
    rows = calendars.member_rows(Event.objects.filter(pk__in=event_ids), scope.user)
    gone = [calendars.resource_href(scope.user, scope.calendar, member.name) for member in rows]
    return [*present, *((href, 404) for href in gone if href not in listed)]
