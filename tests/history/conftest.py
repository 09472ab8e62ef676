"""Helpers shared by the history tests."""

from __future__ import annotations

from events import services as event_services


def edit(event, actor, reason=None, **changes):
    """A new version of `event` through the real service (conflicts allowed); returns the fresh event."""
    updated, _ = event_services.event_update(
        event=event, actor=actor, changes=changes, reason=reason, conflict_strategy="allow"
    )
    return updated
