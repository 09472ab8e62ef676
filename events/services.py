"""Event writes. Every change goes through here: it checks the rules, writes the new version with
who/why/what, and takes the calendar lock so conflict checks see each other."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from common.exceptions import PreconditionFailed, SchedulingConflict
from history.models import Action
from sharing.models import EventPermission
from sharing.roles import Role

from . import conflicts as conflict_rules
from .locks import calendar_lock
from .models import Event
from .occurrences import pattern_of, series_end_of

SCHEDULE_FIELDS = ("start_time", "end_time", "timezone", "is_all_day", "recurrence")
MAX_BATCH = 500


def _stamp(event: Event, *, actor, reason: str | None, action: str) -> None:
    """What simple-history records with the next version of `event`."""
    event._history_user = actor
    event._change_reason = reason or None
    event._history_action = action


def _derive(event: Event) -> None:
    event.is_recurring = event.recurrence is not None
    event.series_end = series_end_of(event)


def _check_conflicts(*, actor, event: Event, strategy: str, exclude_ids=()) -> list[dict]:
    """Conflicts of `event`'s occurrences with the caller's calendar, per conflict_strategy."""
    if strategy == "allow":
        return []
    occurrences = conflict_rules.candidate_occurrences(
        start=event.start_time,
        end=event.end_time,
        tz=event.timezone,
        pattern=pattern_of(event),
        is_all_day=event.is_all_day,
    )
    bounds = conflict_rules.span(occurrences)
    if bounds is None:
        return []
    busy = conflict_rules.calendar_busy(user=actor, start=bounds[0], end=bounds[1], exclude_ids=exclude_ids)
    found = conflict_rules.find_conflicts(occurrences, busy)
    if found and strategy == "reject":
        raise SchedulingConflict(
            f"The event overlaps {len(found)} occurrence(s) on your calendar; "
            "send conflict_strategy=warn or allow to save it anyway.",
            conflicts=found,
        )
    return found


def _check_version(event: Event, expected: int | None) -> None:
    if expected is not None and event.version != expected:
        raise PreconditionFailed(
            f"The event is at version {event.version}, not {expected}.", current_version=event.version
        )


@transaction.atomic
def event_create(
    *, actor, changes: dict[str, Any], reason: str | None = None, conflict_strategy: str = "reject"
) -> tuple[Event, list[dict]]:
    """Create an event owned by `actor` at version 1. Raises SchedulingConflict (409) under `reject`."""
    calendar_lock(actor.pk)
    event = Event(**changes, owner=actor, version=1)
    _derive(event)
    found = _check_conflicts(actor=actor, event=event, strategy=conflict_strategy)
    _stamp(event, actor=actor, reason=reason, action=Action.CREATED)
    event.save()
    permission = EventPermission(event=event, user=actor, role=Role.OWNER, granted_by=actor)
    permission._history_user = actor
    permission.save()
    return event, found


@transaction.atomic
def event_update(
    *,
    event: Event,
    actor,
    changes: dict[str, Any],
    reason: str | None = None,
    conflict_strategy: str = "reject",
    expected_version: int | None = None,
    action: str = Action.UPDATED,
) -> tuple[Event, list[dict]]:
    """Apply `changes` as one new version. Raises PreconditionFailed (412) when stale, SchedulingConflict (409).

    A request that changes nothing makes no version.
    """
    calendar_lock(actor.pk)
    # The row lock serializes writers of one event: each sees the version the previous one wrote.
    locked = Event.objects.select_for_update().get(pk=event.pk, deleted_at__isnull=True)
    _check_version(locked, expected_version)
    changed = {key: value for key, value in changes.items() if getattr(locked, key) != value}
    if not changed:
        return locked, []
    for key, value in changed.items():
        setattr(locked, key, value)
    found: list[dict] = []
    if any(key in SCHEDULE_FIELDS for key in changed):
        _derive(locked)
        found = _check_conflicts(actor=actor, event=locked, strategy=conflict_strategy, exclude_ids=[locked.pk])
    locked.version += 1
    _stamp(locked, actor=actor, reason=reason, action=action)
    locked.save()
    return locked, found


@transaction.atomic
def event_delete(*, event: Event, actor, reason: str | None = None, expected_version: int | None = None) -> Event:
    """Delete an event: it disappears for everyone, keeping its history (a new version marks the deletion)."""
    locked = Event.objects.select_for_update().get(pk=event.pk, deleted_at__isnull=True)
    _check_version(locked, expected_version)
    locked.deleted_at = timezone.now()
    locked.version += 1
    _stamp(locked, actor=actor, reason=reason, action=Action.DELETED)
    locked.save()
    return locked


@transaction.atomic
def event_create_batch(
    *, actor, items: list[dict[str, Any]], reason: str | None = None, conflict_strategy: str = "reject"
) -> tuple[list[Event], list[dict]]:
    """Create all `items` or none: conflicts within the batch and with the calendar are checked first,
    then events, owner permissions and first versions are inserted in bulk."""
    calendar_lock(actor.pk)
    events = []
    for changes in items:
        event = Event(**changes, owner=actor, version=1)
        _derive(event)
        events.append(event)

    found: list[dict] = []
    if conflict_strategy != "allow":
        found = _batch_conflicts(actor=actor, events=events)
        if found and conflict_strategy == "reject":
            raise SchedulingConflict(
                f"{len(found)} item(s) of the batch overlap your calendar or each other; nothing was created.",
                conflicts=found,
            )

    now = timezone.now()
    for event in events:
        event.created_at = event.updated_at = now
    created = bulk_create_with_history(
        events,
        Event,
        batch_size=250,
        default_user=actor,
        default_change_reason=reason or None,
        default_date=now,
        custom_historical_attrs={"history_action": Action.CREATED},
    )
    if any(event.pk is None for event in created):  # a backend that cannot return ids from bulk inserts
        raise RuntimeError("bulk insert did not return primary keys")
    permissions = [
        EventPermission(event=event, user=actor, role=Role.OWNER, granted_by=actor, granted_at=now) for event in created
    ]
    bulk_create_with_history(permissions, EventPermission, batch_size=250, default_user=actor, default_date=now)
    return created, found


def _batch_conflicts(*, actor, events: list[Event]) -> list[dict]:
    per_item = [
        conflict_rules.candidate_occurrences(
            start=e.start_time, end=e.end_time, tz=e.timezone, pattern=pattern_of(e), is_all_day=e.is_all_day
        )
        for e in events
    ]
    everything = [o for occurrences in per_item for o in occurrences]
    if not everything:
        return []
    start = min(o.start for o in everything)
    end = max(o.end for o in everything)
    calendar = conflict_rules.calendar_busy(user=actor, start=start, end=end)
    within = conflict_rules.BusyIndex(
        [
            conflict_rules.Busy(o.start, o.end, None, events[index].title, batch_index=index)
            for index, occurrences in enumerate(per_item)
            for o in occurrences
        ]
    )
    found: list[dict] = []
    for index, occurrences in enumerate(per_item):
        hits = conflict_rules.find_conflicts(occurrences, calendar)
        hits += [hit for hit in conflict_rules.find_conflicts(occurrences, within) if hit["batch_index"] != index]
        found.extend({"index": index, **hit} for hit in hits)
        if len(found) >= conflict_rules.MAX_REPORTED:
            break
    return found[: conflict_rules.MAX_REPORTED]
