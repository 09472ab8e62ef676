"""ETags and preconditions for single-resource answers.

An ETag is `"<version>-<digest>"`: the version is what writes are checked against (If-Match,
base_version), the digest of the representation makes If-None-Match see changes that are not
new versions (the caller's role, the permissions list).
"""

from __future__ import annotations

import hashlib
import json
import re

from rest_framework.utils.encoders import JSONEncoder

_TAG = re.compile(r'^\s*(?:W/)?"(\d+)(?:-[0-9a-f]*)?"\s*$')


def etag(version: int, data) -> str:
    digest = hashlib.sha256(json.dumps(data, cls=JSONEncoder, sort_keys=True).encode()).hexdigest()[:16]
    return f'"{version}-{digest}"'


def matches_none(header: str | None, tag: str) -> bool:
    """True when If-None-Match names this representation (so the answer is 304)."""
    if not header:
        return False
    candidates = [part.strip() for part in header.split(",")]
    weak = tag if not tag.startswith("W/") else tag[2:]
    return "*" in candidates or any(c.removeprefix("W/") == weak for c in candidates)


def expected_version(if_match: str | None) -> int | None:
    """The version an If-Match header expects; None for no header or `*`.

    Several tags: the write goes ahead if any of them is current, so the highest is not enough;
    we take the first, which is what every client we know of sends alone.
    """
    if not if_match or if_match.strip() == "*":
        return None
    first = if_match.split(",")[0]
    match = _TAG.match(first)
    return int(match.group(1)) if match else -1  # an unparseable tag matches nothing: 412
