"""The CalDAV endpoints: one view that authenticates the caller, finds what the path names in their
tree, and answers the method. Paths (all under /dav/, each user sees only their own):

    /dav/                                   the root (discovery starts here)
    /dav/principals/<user id>/              the caller's principal
    /dav/calendars/<user id>/               their calendar home
    /dav/calendars/<user id>/events/        events they own or edit (writable)
    /dav/calendars/<user id>/shared/        events shared with them as viewer (read-only)
    /dav/calendars/<user id>/<calendar>/<name>   one event (with its changed occurrences)

Another user's paths answer 404, as an event you cannot see does over the REST API.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.core.exceptions import RequestDataTooBig
from django.http import HttpResponse, HttpResponsePermanentRedirect
from django.utils.decorators import method_decorator
from django.utils.http import http_date
from django.views import View
from django.views.decorators.csrf import csrf_exempt

from common.conditional import matches_none
from common.views import not_found
from events.models import Event
from ical.serializers import ical_changes

from . import calendars, objects, properties, reports, requests, services, sync
from .answers import DAV_HEADER, DavError, Propstat, multistatus, need_privileges
from .auth import dav_user
from .calendars import CALENDARS, Calendar
from .xml import APPLE, CALDAV, DAV, element, tag

_PATH = re.compile(
    r"^/?(?:(?P<principals>principals/(?P<principal>[^/]+)/?)"
    r"|(?:calendars/(?P<home>[^/]+)/?(?:(?P<calendar>[^/]+)/?(?:(?P<name>[^/]+))?)?))?$"
)
ALLOW = {
    "root": "OPTIONS, PROPFIND",
    "principal": "OPTIONS, PROPFIND",
    "home": "OPTIONS, PROPFIND",
    "calendar": "OPTIONS, PROPFIND, PROPPATCH, REPORT",
    "resource": "OPTIONS, GET, HEAD, PUT, DELETE, PROPFIND",
}
DISPLAYNAME_MAX = 100
_COLOR = re.compile(r"^#[0-9A-Fa-f]{6}(?:[0-9A-Fa-f]{2})?$")


@dataclass
class Target:
    kind: str
    href: str
    calendar: Calendar | None = None
    name: str | None = None


def _resolve(user, path: str) -> Target:
    match = _PATH.match(path)
    not_found = DavError(404, "Nothing here.")
    if match is None:
        raise not_found
    if match["principals"]:
        if match["principal"] != str(user.pk):
            raise not_found
        return Target("principal", calendars.principal_href(user))
    if match["home"] is None:
        return Target("root", calendars.ROOT)
    if match["home"] != str(user.pk):
        raise not_found
    if match["calendar"] is None:
        return Target("home", calendars.home_href(user))
    calendar = CALENDARS.get(match["calendar"])
    if calendar is None:
        raise not_found
    if match["name"] is None:
        return Target("calendar", calendars.calendar_href(user, calendar), calendar)
    try:
        name = calendars.name_from_segment(match["name"])
    except UnicodeDecodeError:
        raise not_found from None
    if not name or len(name) > calendars.NAME_MAX:
        raise not_found
    return Target("resource", calendars.resource_href(user, calendar, name), calendar, name)


@method_decorator(csrf_exempt, name="dispatch")  # Basic auth on every request, no cookies: nothing to forge
class DavView(View):
    def dispatch(self, request, path: str = ""):
        try:
            user = dav_user(request)
            method = request.method.upper()
            if method in ("MKCALENDAR", "MKCOL"):  # wherever: no path is a place for a new calendar
                raise DavError(
                    403,
                    "Calendars are not made over CalDAV: yours are the two in your calendar home.",
                    tag(CALDAV, "calendar-collection-location-ok"),
                )
            target = _resolve(user, path)
            if method == "OPTIONS":
                return _with_dav(HttpResponse(status=200, headers={"Allow": ALLOW[target.kind]}))
            handler = getattr(self, f"{target.kind}_{method.lower()}", None) or getattr(self, method.lower(), None)
            if handler is None or method not in ALLOW[target.kind]:
                raise DavError(405, f"{method} is not allowed here.", headers={"Allow": ALLOW[target.kind]})
            return _with_dav(handler(request, user, target))
        except RequestDataTooBig:
            condition = tag(CALDAV, "max-resource-size") if request.method == "PUT" else None
            return _with_dav(DavError(413, "The body is too large.", condition).response())
        except DavError as error:
            return _with_dav(error.response())

    # --- PROPFIND --------------------------------------------------------------------------------------

    def propfind(self, request, user, target: Target):
        depth = requests.depth(request)
        wanted, names_only = requests.propfind(requests.body_xml(request))
        settings = calendars.settings_of(user=user) if target.kind in ("home", "calendar") else {}
        token = sync.encode(user, sync.current(user)) if target.kind in ("home", "calendar") else None

        def one(table, href, calendar=None, member=None) -> Propstat:
            context = properties.Context(
                user=user, href=href, calendar=calendar, settings=settings, sync_token=token, member=member
            )
            found, missing = properties.answer(table, context, wanted, names_only=names_only)
            return Propstat(href, found, missing)

        if target.kind == "root":
            return multistatus([one(properties.ROOT, target.href)])
        if target.kind == "principal":
            return multistatus([one(properties.PRINCIPAL, target.href)])
        if target.kind == "home":
            responses = [one(properties.HOME, target.href)]
            if depth == "1":
                responses += [one(properties.CALENDAR, calendars.calendar_href(user, c), c) for c in CALENDARS.values()]
            return multistatus(responses)
        if target.kind == "calendar":
            responses = [one(properties.CALENDAR, target.href, target.calendar)]
            if depth == "1":
                scope = reports.Scope(user, target.calendar, objects.render)
                responses += reports.answers(
                    scope, calendars.members(user=user, calendar=target.calendar), wanted, names_only
                )
            return multistatus(responses)
        event = _member(user, target)
        scope = reports.Scope(user, target.calendar, objects.render)
        return multistatus(reports.answers(scope, Event.objects.filter(pk=event.pk), wanted, names_only))

    # --- PROPPATCH on a calendar: its display name and colour, per user --------------------------------

    def calendar_proppatch(self, request, user, target: Target):
        root = requests.expect(requests.body_xml(request), tag(DAV, "propertyupdate"))
        changes: dict[str, str] = {}
        asked: list[str] = []
        refused: list[str] = []
        for action in root:
            if action.tag not in (tag(DAV, "set"), tag(DAV, "remove")):
                raise DavError(400, "A propertyupdate holds set and remove elements.")
            for prop in requests.wanted_properties(next((c for c in action if c.tag == tag(DAV, "prop")), None)):
                asked.append(prop)
                given = next(c for p in action if p.tag == tag(DAV, "prop") for c in p if c.tag == prop)
                value = "" if action.tag == tag(DAV, "remove") else (given.text or "").strip()
                if prop == tag(DAV, "displayname") and len(value) <= DISPLAYNAME_MAX:
                    changes["displayname"] = value
                elif prop == tag(APPLE, "calendar-color") and (value == "" or _COLOR.match(value)):
                    changes["color"] = value
                else:
                    refused.append(prop)
        if refused:  # all or nothing (RFC 4918 §9.2): the others fail with 424
            failed = [name for name in asked if name not in refused]
            return multistatus([Propstat(target.href, forbidden=refused, failed=failed)])
        if changes:
            services.calendar_settings_update(user=user, calendar=target.calendar, changes=changes)
        return multistatus([Propstat(target.href, found=[element(name) for name in asked])])

    # --- REPORT on a calendar ----------------------------------------------------------------------------

    def calendar_report(self, request, user, target: Target):
        root = requests.body_xml(request)
        if root is None:
            raise DavError(400, "A REPORT needs a body.")
        scope = reports.Scope(user, target.calendar, objects.render)
        if root.tag == tag(CALDAV, "calendar-multiget"):
            return multistatus(reports.multiget(root, scope))
        if root.tag == tag(CALDAV, "calendar-query"):
            requests.depth(request)
            return multistatus(reports.query(root, scope))
        if root.tag == tag(DAV, "sync-collection"):
            responses, token = reports.sync_collection(root, scope)
            return multistatus(responses, sync_token=token)
        raise DavError(403, f"The report {root.tag} is not supported here.", tag(DAV, "supported-report"))

    # --- one event: GET, HEAD, PUT, DELETE --------------------------------------------------------------

    def resource_get(self, request, user, target: Target):
        event = _member(user, target)
        member = calendars.Member.of(event, user)
        if matches_none(request.headers.get("If-None-Match"), member.etag):
            return HttpResponse(status=304, headers={"ETag": member.etag})
        text = objects.render([event])[event.pk]
        response = HttpResponse(text.encode(), content_type="text/calendar; charset=utf-8")
        response["ETag"] = member.etag
        response["Last-Modified"] = http_date(member.updated_at.timestamp())
        return response

    def resource_head(self, request, user, target: Target):
        response = self.resource_get(request, user, target)
        response.content = b""
        return response

    def resource_delete(self, request, user, target: Target):
        event = _member(user, target)  # 404 first: a stranger learns nothing about what is not theirs
        if not target.calendar.writable:
            raise need_privileges(target.href, "unbind")
        objects.check_if_match(request, calendars.Member.of(event, user))
        objects.object_delete(event=event, actor=user, client=_client(request), href=target.href)
        return HttpResponse(status=204)

    def resource_put(self, request, user, target: Target):
        if not target.calendar.writable:
            raise need_privileges(target.href, "write-content" if _exists(user, target) else "bind")
        _, created = objects.object_put(
            user=user,
            calendar=target.calendar,
            name=target.name,
            href=target.href,
            request=request,
            client=_client(request),
            changes_of=lambda obj, event: ical_changes(obj=obj, event=event),
        )
        # No ETag: what we store is not byte for byte what the app sent (our VTIMEZONEs, DTSTAMP...), and
        # RFC 4791 §5.3.4 then tells the server to leave it out, so that the app reads the object back.
        return HttpResponse(status=201 if created else 204)


def _client(request) -> str:
    """What the change reason says about where a CalDAV write came from."""
    agent = request.headers.get("User-Agent", "").strip() or "unknown client"
    return f"CalDAV ({agent[:150]})"


def _exists(user, target: Target) -> bool:
    return bool(calendars.pks_by_name(user=user, calendar=target.calendar, names=[target.name]))


def _member(user, target: Target):
    event = calendars.by_name(user=user, calendar=target.calendar, name=target.name)
    if event is None:
        raise DavError(404, "No such calendar object.")
    return event


def _with_dav(response: HttpResponse) -> HttpResponse:
    response["DAV"] = DAV_HEADER
    return response


@csrf_exempt
def well_known(request, *args, **kwargs):
    """RFC 6764 §5: /.well-known/caldav leads to the root, whatever the method; no credentials needed."""
    return HttpResponsePermanentRedirect(calendars.ROOT)


@csrf_exempt
def server_root(request):
    """The server's base URL, which is what people type into an app: WebDAV requests there (the first thing
    clients such as the caldav library send) are redirected to the DAV root; anything else is not found."""
    if request.method in ("PROPFIND", "OPTIONS", "REPORT"):
        return HttpResponsePermanentRedirect(calendars.ROOT)
    return not_found(request)
