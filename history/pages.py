"""History as HTML pages for people, side by side like Wikipedia: `/events/{id}/history` and
`/events/{id}/diff/{v1}/{v2}`, with their own ways in: a Django session (a person), a Bearer header, or a
read-only history link (`?link=<secret>`, history/links.py) for a browser that has neither."""

from __future__ import annotations

import re
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpResponseRedirect
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.authentication import BaseAuthentication, SessionAuthentication
from rest_framework.exceptions import AuthenticationFailed, NotFound, PermissionDenied, ValidationError
from rest_framework.parsers import FormParser
from rest_framework.permissions import SAFE_METHODS
from rest_framework.renderers import JSONRenderer, TemplateHTMLRenderer
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from accounts.authentication import JWTAuthentication
from common.schema import problem_responses
from common.views import ThrottleRefusalsMixin
from events.request_options import ID_PARAMETER
from events.rollback import event_rollback
from sharing.permissions import require_role
from sharing.roles import Role

from . import diff, links, selectors
from .models import Action, HistoryLink
from .serializers import RollbackInputSerializer, VersionSerializer

HTML_LINK_PARAMETER = OpenApiParameter(
    "link",
    OpenApiTypes.STR,
    description=(
        "The secret of a history link (`POST /api/events/{id}/history-links`): reads this event's pages as the "
        "link's creator, for a browser that has no session. A link that no longer works (revoked, expired, "
        "its creator without access or deactivated) answers the 401 page saying so."
    ),
)


class HistoryLinkGone(AuthenticationFailed):
    default_detail = (
        "This history link no longer works: it was revoked or has expired, or it is for another event, or the "
        "person who made it can no longer see the event."
    )


class HistoryLinkAuthentication(BaseAuthentication):
    """`?link=<secret>` of a history link (history/links.py): the link's creator, for reading this event's pages.

    Read-only: a write carrying a link is refused (a restore takes a session with its CSRF token, or a Bearer
    token). A link that does not work is a 401 page saying so, whatever the reason (unknown, revoked, expired,
    for another event, its creator deactivated or without access now): the same answer, so it tells nothing.
    """

    def authenticate(self, request):
        secret = request.query_params.get("link")
        if secret is None:
            return None
        if request.method not in SAFE_METHODS:
            raise PermissionDenied("A history link only reads the history; log in to restore a version.")
        link = links.history_link_find(secret=secret, event_id=request.parser_context["kwargs"].get("id"))
        if link is None:
            raise HistoryLinkGone()
        return link.creator, link


PAGE_HEADERS = {
    # Nothing on these pages runs or loads from elsewhere, even if escaping ever failed; forms go to this site
    # only; a history link's secret in the URL is neither cached nor sent on as a referrer.
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    # same-origin, not no-referrer: a browser then sends `Origin: null` with the pages' forms, which the CSRF
    # check refuses; a link's secret in a URL still never leaves this site.
    "Referrer-Policy": "same-origin",
    "Cache-Control": "private, no-store",
}
VERSION_PATH = OpenApiParameter(
    "version", OpenApiTypes.INT, OpenApiParameter.PATH, description="A version number (1, 2, 3 ... per event)."
)
HTML_PAGE_SIZE = 50
_PAGE = re.compile(r"[1-9][0-9]{0,29}")


class PageRenderer(TemplateHTMLRenderer):
    """The pages' HTML; an error is a page too (history/error.html): what happened and how to get back in."""

    exception_template_names = ["history/error.html"]


class HtmlPageView(ThrottleRefusalsMixin, APIView):
    renderer_classes = [PageRenderer]
    authentication_classes = [JWTAuthentication, HistoryLinkAuthentication, SessionAuthentication]

    def handle_exception(self, exc):
        self.failed_with = exc  # the error page words a link that no longer works on its own
        return super().handle_exception(exc)

    @property
    def via_link(self) -> bool:
        return isinstance(getattr(self.request, "auth", None), HistoryLink)

    def event(self, id):
        """The event, read as the caller (or as the link's creator, now); a link that no longer reaches it says so."""
        try:
            return selectors.event_for_history(user=self.request.user, event_id=id)
        except NotFound:
            if self.via_link:
                raise HistoryLinkGone() from None
            raise

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        # (A refusal from before content negotiation, such as a 406, is a plain problem: no page to fill in.)
        if getattr(response, "exception", False) and isinstance(getattr(response, "data", None), dict):
            # The error page's links: back to the history (when the event is known) and the login form, which
            # brings the person back here (without a history link that did not work).
            response.data = {**response.data, "login_url": f"{settings.LOGIN_URL}?{urlencode({'next': request.path})}"}
            response.data["history_url"] = f"/events/{self.kwargs['id']}/history" if "id" in self.kwargs else None
            response.data["link_gone"] = isinstance(getattr(self, "failed_with", None), HistoryLinkGone)
            if response.data["link_gone"]:
                response.data["history_url"] = None
            response.data["via_link"] = self.via_link
        for key, value in PAGE_HEADERS.items():
            response.setdefault(key, value)
        return response

    def get_renderers(self):
        # OPTIONS answers the view's metadata, as on every API view; there is no template for it.
        if self.request.method == "OPTIONS":
            return [JSONRenderer()]
        return super().get_renderers()

    def carried_link(self) -> str:
        """`?link=...` when the page was opened through a history link: links between the pages carry it on."""
        return "?" + urlencode({"link": self.request.query_params["link"]}) if self.via_link else ""

    def page(self, template: str, context: dict) -> Response:
        context["query"] = self.carried_link()
        context["link"] = self.request.query_params["link"] if self.via_link else ""
        context["via_link"] = self.via_link
        return Response(context, template_name=template, headers=PAGE_HEADERS)


def _html_version(info: selectors.VersionInfo) -> dict:
    return {
        **VersionSerializer.build(info),
        "size_total": info.size_change.get("total", 0),
        "action_label": Action(info.row.history_action).label.lower(),
    }


@extend_schema(tags=["history"])
class HistoryPageView(HtmlPageView):
    @extend_schema(
        operation_id="events_history_page",
        summary="The event's history as an HTML page (every role)",
        parameters=[ID_PARAMETER, HTML_LINK_PARAMETER, OpenApiParameter("page", OpenApiTypes.INT)],
        responses={
            (200, "text/html"): OpenApiResponse(OpenApiTypes.STR, description="An HTML page."),
            **problem_responses(400),  # a page that is not a number from 1
        },
        description=(
            f"Versions newest first, {HTML_PAGE_SIZE} per page, each with links to its diff against the previous "
            "and the current version. The way in: a Django session (`/session/login`), a Bearer header, or a history "
            "link's `?link=` (read-only)."
        ),
    )
    def get(self, request, id):
        event = self.event(id)
        raw = request.query_params.get("page", "1")
        if not _PAGE.fullmatch(raw):
            raise ValidationError({"page": ["A page number (1, 2, ...)."]})
        pages = (event.version + HTML_PAGE_SIZE - 1) // HTML_PAGE_SIZE
        number = min(int(raw), max(pages, 1))  # past the last page (however far): the last page
        rows = list(
            selectors.versions(event=event, descending=True)[(number - 1) * HTML_PAGE_SIZE : number * HTML_PAGE_SIZE]
        )
        described = selectors.describe_versions(event=event, rows=rows)
        return self.page(
            "history/history.html",
            {
                "event": event,
                "current": event.version,
                "versions": [_html_version(info) for info in described],
                "page_number": number,
                "newer_page": number - 1 if number > 1 else None,
                "older_page": number + 1 if number < pages else None,
            },
        )


@extend_schema(tags=["history"])
class DiffPageView(HtmlPageView):
    @extend_schema(
        operation_id="events_diff_page",
        summary="A side-by-side diff of two versions as an HTML page (every role)",
        parameters=[
            ID_PARAMETER,
            HTML_LINK_PARAMETER,
            OpenApiParameter("v1", OpenApiTypes.INT, OpenApiParameter.PATH),
            OpenApiParameter("v2", OpenApiTypes.INT, OpenApiParameter.PATH),
        ],
        responses={(200, "text/html"): OpenApiResponse(OpenApiTypes.STR, description="An HTML page.")},
        description="The older version on the left, the newer on the right, changed words highlighted.",
    )
    def get(self, request, id, v1, v2):
        event = self.event(id)
        first, second = selectors.versions_pair(event=event, first=v1, second=v2)
        if first.version > second.version:
            first, second = second, first
        old, new = diff.snapshot(first), diff.snapshot(second)
        changes = diff.field_changes(old, new)
        described = {info.row.version: info for info in selectors.describe_versions(event=event, rows=[first, second])}
        rows = []
        for field in diff.FIELDS:
            change = changes.get(field)
            rows.append(
                {
                    "field": field.replace("_", " "),
                    "changed": change is not None,
                    "runs": change.get("diff") if change else None,
                    "old": _display(field, old, change, "old"),
                    "new": _display(field, new, change, "new"),
                }
            )
        return self.page(
            "history/diff.html",
            {
                "event": event,
                "current": event.version,
                "left": _html_version(described[first.version]),
                "right": _html_version(described[second.version]),
                "rows": rows,
                "same": not changes,
                "between": _between(event, first.version, second.version),
                "previous_diff": (first.version - 1, first.version) if first.version > 1 else None,
                "next_diff": (second.version, second.version + 1) if second.version < event.version else None,
            },
        )


@extend_schema(tags=["history"])
class ComparePageView(HtmlPageView):
    @extend_schema(
        operation_id="events_compare_page",
        summary="Compare two versions chosen on the history page (every role)",
        parameters=[
            ID_PARAMETER,
            HTML_LINK_PARAMETER,
            OpenApiParameter("from", OpenApiTypes.INT, required=True, description="One version."),
            OpenApiParameter("to", OpenApiTypes.INT, required=True, description="The other version."),
        ],
        responses={302: OpenApiResponse(description="To the diff page of the two versions.")},
        description="What the history page's compare button sends: redirects to `/events/{id}/diff/{from}/{to}`.",
    )
    def get(self, request, id):
        event = self.event(id)
        first, second = selectors.versions_pair(
            event=event, first=request.query_params.get("from", ""), second=request.query_params.get("to", "")
        )
        low, high = sorted((first.version, second.version))
        return HttpResponseRedirect(f"/events/{event.pk}/diff/{low}/{high}{self.carried_link()}")


@extend_schema(tags=["history"])
class VersionPageView(HtmlPageView):
    parser_classes = [FormParser, *api_settings.DEFAULT_PARSER_CLASSES]

    @extend_schema(
        operation_id="events_version_page",
        summary="One version of the event alone, as an HTML page (every role)",
        parameters=[ID_PARAMETER, HTML_LINK_PARAMETER, VERSION_PATH],
        responses={(200, "text/html"): OpenApiResponse(OpenApiTypes.STR, description="An HTML page.")},
        description="Every field as it was at that version; editors and owners get a button to restore it.",
    )
    def get(self, request, id, version):
        event = self.event(id)
        row = selectors.version_get(event=event, version=version)
        info = selectors.describe_versions(event=event, rows=[row])[0]
        snap = diff.snapshot(row)
        return self.page(
            "history/version.html",
            {
                "event": event,
                "current": event.version,
                "version": _html_version(info),
                "fields": [{"field": f.replace("_", " "), "value": _display(f, snap, None, "")} for f in diff.FIELDS],
                "can_restore": row.version != event.version
                and not event.deleted_at
                and not self.via_link
                and _may_edit(request, event),
            },
        )

    @extend_schema(
        operation_id="events_version_page_restore",
        summary="Restore this version from the page (owners and editors)",
        parameters=[ID_PARAMETER, VERSION_PATH],
        request={"application/x-www-form-urlencoded": RollbackInputSerializer},
        responses={303: OpenApiResponse(description="Restored: to the history page."), **problem_responses(403, 409)},
        description=(
            "The page's restore button: the same rollback as `POST /api/events/{id}/rollback/{version}` (a new "
            "version equal to this one; scheduling conflicts refuse it). With a session, the form's CSRF token "
            "is required; a history link never restores (403)."
        ),
    )
    def post(self, request, id, version):
        event = self.event(id)
        require_role(event, Role.EDITOR)
        data = RollbackInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        target = selectors.version_get(event=event, version=version)
        event_rollback(
            event=event,
            actor=request.user,
            version=target.version,
            reason=data.validated_data.get("change_reason") or f"Restored version {target.version} from its page",
        )
        return HttpResponseRedirect(f"/events/{event.pk}/history{self.carried_link()}", status=303)


INTERMEDIATE_SHOWN = 20


def _between(event, low: int, high: int) -> dict:
    """The versions between the two compared ones: how many, and the first few with their authors and reasons."""
    rows = selectors.versions(event=event).filter(version__gt=low, version__lt=high)
    return {
        "count": max(high - low - 1, 0),
        "shown": [
            _html_version(info)
            for info in selectors.describe_versions(event=event, rows=list(rows[:INTERMEDIATE_SHOWN]))
        ],
    }


def _may_edit(request, event) -> bool:
    try:
        require_role(event, Role.EDITOR)
    except PermissionDenied:
        return False
    return True


def _display(field: str, snap: dict, change: dict | None, side: str) -> str:
    """A field's value as the page shows it."""
    value = snap[field]
    if field in diff.TIME_FIELDS:
        return diff.readable_time(value, snap["timezone"], is_all_day=snap["is_all_day"], is_end=field == "end_time")
    if field == "recurrence_pattern":
        if not value:
            return "does not repeat"
        text = diff.readable_rule(value.get("rrule", ""))
        if value.get("exdates"):
            text += f"; except {len(value['exdates'])} date(s)"
        if value.get("rdates"):
            text += f"; plus {len(value['rdates'])} date(s)"
        return text
    if field == "is_all_day":
        return "yes" if value else "no"
    if field == "exceptions":
        return f"{len(value)} occurrence(s) changed or cancelled" if value else "none"
    return value
