"""History as HTML pages for people, side by side like Wikipedia: `/events/{id}/history` and
`/events/{id}/diff/{v1}/{v2}`, with their own ways in (a Bearer header, `?token=<access>` for a browser
link, or a Django session)."""

from __future__ import annotations

import re
from urllib.parse import urlencode

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import ValidationError
from rest_framework.renderers import JSONRenderer, TemplateHTMLRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.authentication import JWTAuthentication
from common.schema import problem_responses
from common.views import ThrottleRefusalsMixin
from events.request_options import ID_PARAMETER

from . import diff, selectors
from .models import Action
from .serializers import VersionSerializer

HTML_TOKEN_PARAMETER = OpenApiParameter(
    "token",
    OpenApiTypes.STR,
    description="An access token, for opening the page in a browser (which cannot send an Authorization header).",
)


class QueryTokenAuthentication(JWTAuthentication):
    """`?token=<access>` for the HTML pages only: a browser following a link cannot send a header."""

    def authenticate(self, request):
        raw = request.query_params.get("token")
        if not raw:
            return None
        token = self.get_validated_token(raw.encode())
        return self.get_user(token), token


class QueryTokenScheme(OpenApiAuthenticationExtension):
    target_class = QueryTokenAuthentication
    name = "tokenQuery"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "query",
            "name": "token",
            "description": "An access token in the URL, for the HTML pages only (a browser cannot send a header).",
        }


PAGE_HEADERS = {
    # Nothing on these pages runs or loads from elsewhere, even if escaping ever failed; the token in the
    # URL (if one was used) is neither cached nor sent on as a referrer.
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "private, no-store",
}
HTML_PAGE_SIZE = 50
_PAGE = re.compile(r"[1-9][0-9]{0,29}")


class HtmlPageView(ThrottleRefusalsMixin, APIView):
    renderer_classes = [TemplateHTMLRenderer]
    authentication_classes = [JWTAuthentication, QueryTokenAuthentication, SessionAuthentication]

    def get_renderers(self):
        # OPTIONS answers the view's metadata, as on every API view; there is no template for it.
        if self.request.method == "OPTIONS":
            return [JSONRenderer()]
        return super().get_renderers()

    def page(self, template: str, context: dict) -> Response:
        by_query = isinstance(self.request.successful_authenticator, QueryTokenAuthentication)
        # Links between the pages carry the token on when it came in the URL (a browser has no other way).
        context["query"] = "?" + urlencode({"token": self.request.query_params["token"]}) if by_query else ""
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
        parameters=[ID_PARAMETER, HTML_TOKEN_PARAMETER, OpenApiParameter("page", OpenApiTypes.INT)],
        responses={
            (200, "text/html"): OpenApiResponse(OpenApiTypes.STR, description="An HTML page."),
            **problem_responses(400),  # a page that is not a number from 1
        },
        description=(
            f"Versions newest first, {HTML_PAGE_SIZE} per page, each with links to its diff against the previous "
            "and the current version. Authenticate with a Bearer header, `?token=<access>`, or a Django session."
        ),
    )
    def get(self, request, id):
        event = selectors.event_for_history(user=request.user, event_id=id)
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
            HTML_TOKEN_PARAMETER,
            OpenApiParameter("v1", OpenApiTypes.INT, OpenApiParameter.PATH),
            OpenApiParameter("v2", OpenApiTypes.INT, OpenApiParameter.PATH),
        ],
        responses={(200, "text/html"): OpenApiResponse(OpenApiTypes.STR, description="An HTML page.")},
        description="The older version on the left, the newer on the right, changed words highlighted.",
    )
    def get(self, request, id, v1, v2):
        event = selectors.event_for_history(user=request.user, event_id=id)
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
                "previous_diff": (first.version - 1, first.version) if first.version > 1 else None,
                "next_diff": (second.version, second.version + 1) if second.version < event.version else None,
            },
        )


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
