"""WebDAV XML in and out: requests parsed with entities and DTDs refused, bounded in size and depth;
answers built with the standard library's ElementTree (nothing we write is parsed back).
"""

from __future__ import annotations

from xml.etree import ElementTree as ET  # building only; parsing goes through defusedxml
from xml.sax.saxutils import escape

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

DAV = "DAV:"
CALDAV = "urn:ietf:params:xml:ns:caldav"
CALSERVER = "http://calendarserver.org/ns/"
APPLE = "http://apple.com/ns/ical/"

MAX_XML_BYTES = 256 * 1024  # a multiget of a few hundred hrefs; nothing a client sends is larger
MAX_DEPTH = 32  # calendar-query filters nest 5 deep; the margin is generous, a bomb is not
_ATTRIBUTE = {'"': "&quot;", "\n": "&#10;", "\r": "&#13;", "\t": "&#9;"}

MESSAGES = "urn:x-calendar-api:dav"  # our own namespace, for a human-readable message in error bodies

PREFIXES = {DAV: "D", CALDAV: "C", CALSERVER: "CS", APPLE: "A", MESSAGES: "M"}


class BadXml(ValueError):
    """The body is not XML we accept (malformed, too large, too deep, with a DTD or entities)."""


def tag(namespace: str, name: str) -> str:
    return f"{{{namespace}}}{name}"


def parse(body: bytes) -> ET.Element | None:
    """The root element of a request body; None for an empty body. Raises BadXml."""
    if not body.strip():
        return None
    if len(body) > MAX_XML_BYTES:
        raise BadXml(f"The XML body is larger than {MAX_XML_BYTES} bytes.")
    try:
        root = SafeET.fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (ET.ParseError, DefusedXmlException, ValueError) as exc:  # ValueError: bad encodings
        raise BadXml(f"The body is not well-formed XML without DTDs or entities: {exc}") from exc
    _check_depth(root)
    return root


def _check_depth(root: ET.Element) -> None:
    stack = [(root, 1)]
    while stack:
        element, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise BadXml(f"The XML is nested deeper than {MAX_DEPTH} levels.")
        stack.extend((child, depth + 1) for child in element)


def element(name: str, text: str | None = None, *children: ET.Element) -> ET.Element:
    node = ET.Element(name)
    if text is not None:
        node.text = text
    node.extend(children)
    return node


def serialize(root: ET.Element) -> bytes:
    """UTF-8 XML of `root` with our fixed prefixes declared once on it.

    Written by hand rather than with ElementTree.tostring, which walks the whole tree twice (once to
    collect namespaces): a multistatus of a thousand members is most of a PROPFIND's time otherwise.
    """
    prefixes = dict(PREFIXES)
    parts: list[str] = ['<?xml version="1.0" encoding="utf-8"?>\n']
    _write(root, parts, prefixes, top=True)
    return "".join(parts).encode("utf-8")


def _qname(name: str, prefixes: dict[str, str]) -> str:
    if name[0] != "{":
        return name
    uri, local = name[1:].split("}", 1)
    prefix = prefixes.get(uri)
    if prefix is None:
        prefix = prefixes[uri] = f"ns{len(prefixes)}"
    return f"{prefix}:{local}"


def _write(node: ET.Element, parts: list[str], prefixes: dict[str, str], *, top: bool = False) -> None:
    name = _qname(node.tag, prefixes)
    start = len(parts)
    parts.append("")  # the start tag, written once the children have declared any namespace they brought
    for child in node:
        _write(child, parts, prefixes)
    attributes = "".join(f' {_qname(key, prefixes)}="{escape(value, _ATTRIBUTE)}"' for key, value in node.items())
    if top:
        attributes += "".join(f' xmlns:{prefix}="{uri}"' for uri, prefix in prefixes.items())
    text = escape(node.text) if node.text else ""
    if len(parts) == start + 1 and not text:
        parts[start] = f"<{name}{attributes}/>"
        return
    parts[start] = f"<{name}{attributes}>{text}"
    parts.append(f"</{name}>")
