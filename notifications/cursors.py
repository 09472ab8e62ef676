"""Sync cursors: opaque to clients, signed so they cannot be forged or moved to another account.

A cursor is a position in one user's change feed: everything up to `position` has been delivered,
except the user's own changes after `floor` (a WebSocket never echoes your own changes, so a cursor
taken from a socket message still owes them to your other devices). `snapshot_after` is set while
the initial listing of events (`GET /api/sync` without a cursor) is being paged through.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core import signing

from common.exceptions import Gone

_SALT = "notifications.sync-cursor"
MAX_LENGTH = 512


class InvalidCursor(Exception):
    """Not a cursor we issued for this user."""


@dataclass(frozen=True)
class Cursor:
    user_id: int
    position: int
    floor: int
    snapshot_after: int | None = None

    @classmethod
    def at(cls, user_id: int, position: int) -> Cursor:
        return cls(user_id=user_id, position=position, floor=position)


def encode(cursor: Cursor) -> str:
    data = {"u": cursor.user_id, "p": cursor.position}
    if cursor.floor != cursor.position:
        data["f"] = cursor.floor
    if cursor.snapshot_after is not None:
        data["a"] = cursor.snapshot_after
    return signing.dumps(data, salt=_SALT, compress=False)


def decode(raw: str, *, user_id: int) -> Cursor:
    """The cursor in `raw`; raises InvalidCursor unless we signed it for `user_id` and it is well formed."""
    if not raw or len(raw) > MAX_LENGTH:
        raise InvalidCursor("malformed")
    try:
        data = signing.loads(raw, salt=_SALT)
    except signing.BadSignature:
        raise InvalidCursor("bad signature") from None
    if not isinstance(data, dict):
        raise InvalidCursor("malformed")
    values = {key: data.get(key) for key in ("u", "p", "f", "a")}
    if values["f"] is None:
        values["f"] = values["p"]
    numbers = [values["u"], values["p"], values["f"]] + ([values["a"]] if values["a"] is not None else [])
    if not all(isinstance(value, int) and not isinstance(value, bool) and value >= 0 for value in numbers):
        raise InvalidCursor("malformed")
    if values["u"] != user_id:
        raise InvalidCursor("another user's cursor")
    if values["f"] > values["p"]:
        raise InvalidCursor("malformed")
    return Cursor(user_id=values["u"], position=values["p"], floor=values["f"], snapshot_after=values["a"])


class CursorGone(Gone):
    """The cursor points into entries that were pruned, past anything recorded, or is not the caller's (410)."""

    slug = "sync-cursor-gone"
    title = "Resync needed."
    default_detail = (
        "This cursor is unknown, not yours, or older than the changes we keep. "
        "Call GET /api/sync without a cursor to list your events again."
    )
