"""Rollback: a new version of an event whose content equals an earlier version's (history is never
rewritten). It is an edit like any other, so it goes through `event_update`."""

from __future__ import annotations

from django.db import transaction
from rest_framework.exceptions import NotFound

from common.exceptions import Conflict
from history.models import Action

from . import content
from .merge import base_snapshot
from .services import EventWritten, event_update


class EventDeleted(Conflict):
    slug = "event-deleted"
    title = "The event is deleted."
    default_detail = "The event is deleted; restore it first."


@transaction.atomic
def event_rollback(
    *,
    event,
    actor,
    version: int,
    reason: str | None = None,
    conflict_strategy: str = "reject",
    expected_version: int | None = None,
    on_conflict: str = "reject",
) -> EventWritten:
    """Give `event` a new version whose fields equal those of `version` (history is never rewritten).

    Goes through `event_update`, so locking, If-Match (412), conflicts (409) and notifications are the
    same as for an edit; a rollback to what the event already is makes no version. Raises EventDeleted
    (409) for a deleted event and NotFound (404) for a version that does not exist.
    """
    if event.deleted_at is not None:
        raise EventDeleted()
    row = base_snapshot(event.pk, version)
    if row is None:
        raise NotFound(f"The event has no version {version}.")
    return event_update(
        event=event,
        actor=actor,
        changes=content.values_of(row),
        reason=reason,
        conflict_strategy=conflict_strategy,
        expected_version=expected_version,
        on_conflict=on_conflict,
        action=Action.ROLLED_BACK,
        audit_data={"rolled_back_to": version},
    )
