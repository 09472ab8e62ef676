"""DAV sync tokens (RFC 6578) over our per-user change feed.

A token is a position in the caller's gap-free feed (`notifications.SyncStream`): everything that
happened to their events up to it has been reported. `data:,<user>-<position>` (a URI, as RFC 6578
asks), or `data:,<user>-<position>-<after>` while an initial listing truncated by `limit` is paged
through (members with ids above `after` are still to come). Every collection of a user shares the
position, so a change anywhere moves both tokens (and getctag): a client then asks and learns
nothing changed in the other one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from notifications.selectors import stream_state

from .answers import DavError
from .xml import DAV, tag

_TOKEN = re.compile(r"^data:,(\d{1,19})-(\d{1,19})(?:-(\d{1,19}))?$")


@dataclass(frozen=True)
class SyncToken:
    position: int
    after: int | None = None  # an initial listing in progress


def encode(user, token: SyncToken) -> str:
    suffix = f"-{token.after}" if token.after is not None else ""
    return f"data:,{user.pk}-{token.position}{suffix}"


def current(user) -> SyncToken:
    return SyncToken(stream_state(user_id=user.pk)[0])


def decode(user, raw: str) -> tuple[SyncToken | None, int]:
    """(the token `raw`, None for the empty token of a first sync; the user's position now). Raises DavError
    403 valid-sync-token for anything we did not issue to this user, or a position whose entries were pruned."""
    seq, pruned_through = stream_state(user_id=user.pk)
    raw = raw.strip()
    if not raw:
        return None, seq
    match = _TOKEN.match(raw)
    invalid = DavError(403, "Unknown or expired sync token: sync again from scratch.", tag(DAV, "valid-sync-token"))
    if match is None or int(match.group(1)) != user.pk:
        raise invalid
    position = int(match.group(2))
    after = int(match.group(3)) if match.group(3) is not None else None
    if position > seq or position < pruned_through:
        raise invalid
    return SyncToken(position, after), seq
