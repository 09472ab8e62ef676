"""The shapes of DAV answers: multistatus bodies and error bodies (RFC 4918 §14.5, §16)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from xml.etree.ElementTree import Element

from django.http import HttpRequest, HttpResponse

from common.refusals import Refusal

from . import xml
from .xml import CALDAV, DAV, MESSAGES, tag

DAV_HEADER = "1, 3, calendar-access"  # RFC 4918 classes 1 and 3, RFC 4791 calendar-access
XML_TYPE = 'application/xml; charset="utf-8"'

STATUS_TEXT = {
    200: "OK",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    424: "Failed Dependency",
    507: "Insufficient Storage",
}


def need_privileges(href: str, privilege: str) -> DavError:
    """403 with RFC 3744 §7.1.1's DAV:need-privileges: which privilege on which resource was missing."""
    condition = xml.element(
        tag(DAV, "need-privileges"),
        None,
        xml.element(
            tag(DAV, "resource"),
            None,
            xml.element(tag(DAV, "href"), href),
            xml.element(tag(DAV, "privilege"), None, xml.element(tag(DAV, privilege))),
        ),
    )
    return DavError(403, f"You may not do this here (it needs the {privilege} privilege).", condition)


def status_line(code: int) -> str:
    return f"HTTP/1.1 {code} {STATUS_TEXT.get(code, '')}".rstrip()


class DavError(Exception):
    """A refusal answered as an RFC 4918 error body: `condition` is the pre/postcondition element's tag."""

    def __init__(
        self, status: int, message: str, condition: str | Element | None = None, *, headers: dict | None = None
    ):
        super().__init__(message)
        self.status, self.message, self.condition, self.headers = status, message, condition, headers or {}

    def response(self) -> HttpResponse:
        return error_response(self.status, self.message, self.condition, headers=self.headers)


def error_response(status: int, message: str, condition: str | Element | None = None, *, headers: dict | None = None):
    root = xml.element(tag(DAV, "error"))
    if condition is not None:
        root.append(condition if isinstance(condition, Element) else xml.element(condition))
    root.append(xml.element(tag(MESSAGES, "message"), message))
    response = HttpResponse(xml.serialize(root), status=status, content_type=XML_TYPE)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def refusal_response(request: HttpRequest, refusal: Refusal) -> HttpResponse:
    """A refusal made before a DAV view runs (the body size limit's 413, its 400 for a bad Content-Length, the
    429 of the rate limits they count against, Django's error handlers) as RFC 4918 §16's `DAV:error`: calendar
    apps read that, not JSON. Registered for /dav/ (apps.py, common/refusals.py). The status, the message and
    the headers (Retry-After) stay. A PUT over the limit fails CalDAV's `max-resource-size` precondition
    (RFC 4791 §5.3.2.1), the size every calendar advertises in its `max-resource-size` property."""
    too_large = refusal.status == 413 and request.method == "PUT"
    condition = tag(CALDAV, "max-resource-size") if too_large else None
    message = refusal.detail or "The request was refused."
    response = DavError(refusal.status, message, condition, headers=refusal.headers).response()
    response["DAV"] = DAV_HEADER
    return response


@dataclass
class Propstat:
    """One member's answer to a PROPFIND or REPORT: the properties found, and those we do not have (404)."""

    href: str
    found: list[Element] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # property tags
    forbidden: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # not changed because another property of the request failed


def multistatus(
    responses: Iterable[Propstat | tuple[str, int]], *, sync_token: str | None = None, extra: Iterable = ()
) -> HttpResponse:
    """207 with one DAV:response per member: a Propstat, or (href, status) for a member without properties."""
    root = xml.element(tag(DAV, "multistatus"))
    for item in [*responses, *extra]:
        node = xml.element(
            tag(DAV, "response"), None, xml.element(tag(DAV, "href"), item[0] if isinstance(item, tuple) else item.href)
        )
        if isinstance(item, tuple):
            node.append(xml.element(tag(DAV, "status"), status_line(item[1])))
        else:
            for code, props in ((200, item.found), (403, item.forbidden), (404, item.missing), (424, item.failed)):
                if not props:
                    continue
                prop = xml.element(tag(DAV, "prop"))
                prop.extend(p if isinstance(p, Element) else xml.element(p) for p in props)
                node.append(
                    xml.element(tag(DAV, "propstat"), None, prop, xml.element(tag(DAV, "status"), status_line(code)))
                )
        root.append(node)
    if sync_token is not None:
        root.append(xml.element(tag(DAV, "sync-token"), sync_token))
    return HttpResponse(xml.serialize(root), status=207, content_type=XML_TYPE)
