"""Stale writes: what `on_conflict` does when a write names a version that is no longer current.

- `reject` (the default): 412 with `current_version`, nothing changed.
- `merge`: a three-way merge against the version the write was based on. For each field, a side
  that left it as it was in the base yields to the side that changed it; both sides making the
  same change is no conflict; both changing it differently is. No conflict: the write's changes
  are applied on top of the current version (answer `merged: true`). Any conflict: 409
  `/problems/merge-conflict` with `conflicts: {field: {base, current, yours}}`, nothing changed.
  The schedule (start_time, end_time, timezone, is_all_day, recurrence_pattern) merges as one
  unit: its parts are read and checked together (times in the zone, all-day snapping, the rule
  anchored at the start), so taking the start from one side and the end from the other could
  make an event nobody wrote, or an invalid one.
- `overwrite`: last writer wins, the write is applied as sent.

A merged or overwriting version is marked in its history row: its change reason starts with
`[merge base=vN]` or `[overwrite base=vN]` (query `history_change_reason__startswith="[overwrite"`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from common.exceptions import Conflict, PreconditionFailed
from recurrence import timezones

from . import content
from .models import Event

ON_CONFLICT = ["reject", "merge", "overwrite"]


class MergeConflict(Conflict):
    slug = "merge-conflict"
    title = "Conflicting changes."
    default_detail = "The fields you changed were also changed by someone else since your base version."


def base_snapshot(event_id: int, version: int):
    """The historical row of `event_id` at `version` (purge rows, which repeat a version, are ignored)."""
    return Event.history.filter(id=event_id, version=version).exclude(history_type="-").first()


def resolve_stale(
    current: Event, expected_version: int | None, changes: dict[str, Any], on_conflict: str
) -> tuple[dict[str, Any], str | None]:
    """The changes to apply to the locked `current` event and how a stale base was resolved (None: it was not).

    Raises PreconditionFailed (412) under `reject` or when the base is unknown, MergeConflict (409).
    """
    if expected_version is None or current.version == expected_version:
        return changes, None
    if on_conflict == "overwrite" and 1 <= expected_version < current.version:
        return changes, "overwrite"
    if on_conflict == "merge" and 1 <= expected_version < current.version:
        base = base_snapshot(current.pk, expected_version)
        if base is not None:
            merged, conflicts = three_way(base=base, current=current, changes=changes)
            if conflicts:
                raise MergeConflict(
                    f"{', '.join(conflicts)} changed since version {expected_version} both here and in your "
                    f"request; nothing was changed. The event is at version {current.version}.",
                    conflicts=conflicts,
                    current_version=current.version,
                )
            return merged, "merge"
    raise PreconditionFailed(
        f"The event is at version {current.version}, not {expected_version}.", current_version=current.version
    )


def three_way(*, base, current: Event, changes: dict[str, Any]) -> tuple[dict[str, Any], dict[str, dict]]:
    """(changes to apply on top of `current`, conflicts by API field name) for a write based on `base`."""
    groups = [(key,) for key in changes if key not in content.SCHEDULE]
    if any(key in changes for key in content.SCHEDULE):
        groups.append(content.SCHEDULE)
    apply: dict[str, Any] = {}
    conflicts: dict[str, dict] = {}
    for group in groups:
        yours = tuple(changes.get(key, getattr(current, key)) for key in group)
        theirs = tuple(getattr(current, key) for key in group)
        was = tuple(getattr(base, key) for key in group)
        if yours in (was, theirs):
            continue  # you changed nothing here, or made the very same change
        if theirs == was:
            apply.update(zip(group, yours, strict=True))
            continue
        for key, b, c, y in zip(group, was, theirs, yours, strict=True):
            if not b == c == y:
                conflicts[content.API_NAMES[key]] = {
                    "base": _show(b, base.timezone),
                    "current": _show(c, current.timezone),
                    "yours": _show(y, changes.get("timezone", current.timezone)),
                }
    return apply, conflicts


def _show(value: Any, tz: str) -> Any:
    """A value as the API writes it: instants in RFC 3339 with the offset of the event's zone."""
    if isinstance(value, datetime):
        return value.astimezone(timezones.get(tz)).isoformat()
    return value


def marked_reason(
    reason: str | None, resolution: str | None, base_version: int | None, limit: int | None
) -> str | None:
    """The change reason recorded with a version, marked when a stale base was merged or overwritten."""
    if resolution is None:
        return reason
    marker = f"[{resolution} base=v{base_version}]"
    text = f"{marker} {reason}" if reason else marker
    if limit is not None and len(text) > limit:  # the history column may be shorter than a reason may be
        text = text[: limit - 1] + "…"
    return text
