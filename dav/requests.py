"""Reading a DAV request: Depth, the PROPFIND body, preconditions. Anything malformed is a DavError 400."""

from __future__ import annotations

from datetime import UTC, datetime
from xml.etree.ElementTree import Element

from . import xml
from .answers import DavError
from .xml import DAV, tag

MAX_PROPERTIES = 100  # properties named in one PROPFIND / REPORT


def depth(request, *, default: str = "0") -> str:
    """'0' or '1'. Infinity is refused as RFC 4918 §9.1 lets a server do (403 propfind-finite-depth)."""
    value = request.headers.get("Depth", default).strip().lower()
    if value == "infinity":
        raise DavError(403, "Depth: infinity is not supported; use 0 or 1.", tag(DAV, "propfind-finite-depth"))
    if value not in ("0", "1"):
        raise DavError(400, "Depth must be 0, 1 or infinity.")
    return value


def body_xml(request) -> Element | None:
    if len(request.body) > xml.MAX_XML_BYTES:
        raise DavError(413, f"The XML body is larger than {xml.MAX_XML_BYTES} bytes.")
    try:
        return xml.parse(request.body)
    except xml.BadXml as exc:
        raise DavError(400, str(exc)) from exc


def utc_datetime(text: str | None) -> datetime | None:
    """A CalDAV UTC date-time attribute (RFC 4791 §9.9: 20300107T000000Z); None when absent or malformed."""
    try:
        return datetime.strptime(text or "", "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        return None


def expect(root: Element | None, name: str) -> Element:
    if root is None or root.tag != name:
        raise DavError(400, f"The body must be a {name.split('}')[-1]} element.")
    return root


def wanted_properties(parent: Element | None) -> list[str]:
    """The tags named inside a DAV:prop element."""
    if parent is None:
        return []
    names = [child.tag for child in parent if isinstance(child.tag, str)]
    if len(names) > MAX_PROPERTIES:
        raise DavError(400, f"At most {MAX_PROPERTIES} properties may be asked for at once.")
    return names


def propfind(root: Element | None) -> tuple[list[str] | None, bool]:
    """(properties asked for, None for allprop; names only?) of a PROPFIND body (empty: allprop)."""
    if root is None:
        return None, False
    expect(root, tag(DAV, "propfind"))
    for child in root:
        if child.tag == tag(DAV, "allprop"):
            return None, False
        if child.tag == tag(DAV, "propname"):
            return None, True
        if child.tag == tag(DAV, "prop"):
            return wanted_properties(child), False
    raise DavError(400, "A propfind holds prop, allprop or propname.")
