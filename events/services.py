"""Event writes. Every change goes through here: it checks the rules, writes the new version with
who/why/what, and takes the calendar lock so conflict checks see each other."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from rest_framework.exceptions import NotFound, ValidationError
from simple_history.utils import bulk_create_with_history

from common.exceptions import Conflict, Gone, PreconditionFailed, SchedulingConflict
from history.audit import audit_record
from history.models import RESTORE_WINDOW, Action
from notifications.feed import event_changed, events_created
from recurrence import overrides as series_overrides
from scheduling import conflicts as conflict_rules
from scheduling import free_slots
from scheduling.intervals import Busy, BusyIndex
from sharing import services as sharing_services

from . import cache as event_cache
from . import content, merge
from . import split as series_split
from .locks import calendar_lock
from .models import Event
from .occurrences import EventOccurrence, pattern_of, series_end_of, series_start_of

MAX_BATCH = 500
_HISTORY_REASON_MAX = Event.history.model._meta.get_field("history_change_reason").max_length


@dataclass(frozen=True)
class EventWritten:
    """What a write did: the event as it left it (the version it made, not a later one), the conflicts it
    accepted under conflict_strategy=warn, and whether a stale write was merged (on_conflict=merge)."""

    event: Event
    conflicts: list[dict] = field(default_factory=list)
    merged: bool = False


@dataclass(frozen=True)
class EventsCreated:
    """What a batch created, in the order of its items, and the conflicts it accepted under `warn`."""

    events: list[Event]
    conflicts: list[dict] = field(default_factory=list)


@dataclass(frozen=True)
class SeriesSplit:
    """A series split in two: the old one (now ending before the split) and the new one, and the new one's
    conflicts accepted under `warn`."""

    old: Event
    new: Event
    conflicts: list[dict] = field(default_factory=list)


def _stamp(event: Event, *, actor, reason: str | None, action: str) -> None:
    """What simple-history records with the next version of `event`."""
    event._history_user = actor
    event._change_reason = reason or None
    event._history_action = action


def _derive(event: Event) -> None:
    event.is_recurring = event.recurrence is not None
    if not event.is_recurring:
        event.exceptions = {}
    event.series_end = series_end_of(event)
    event.series_start = series_start_of(event)


def _per_strategy(
    strategy: str, find: Callable[[], list[dict]], refusal: Callable[[list[dict]], SchedulingConflict]
) -> list[dict]:
    """The one reading of conflict_strategy: `allow` looks for nothing; otherwise the conflicts `find`
    returns are raised as `refusal(found)` under `reject` and returned (to be reported) under `warn`."""
    if strategy == "allow":
        return []
    found = find()
    if found and strategy == "reject":
        raise refusal(found)
    return found


def _check_conflicts(*, actor, event: Event, strategy: str, exclude_ids=()) -> list[dict]:
    """Conflicts of `event`'s occurrences with the caller's calendar, per conflict_strategy."""
    return _per_strategy(
        strategy,
        lambda: conflict_rules.event_conflicts(user=actor, event=event, exclude_ids=exclude_ids),
        lambda found: SchedulingConflict(
            f"The event overlaps {len(found)} occurrence(s) on your calendar; "
            "send conflict_strategy=warn or allow to save it anyway.",
            conflicts=found,
            next_free_slots=free_slots.next_free_slots(
                user=actor, occurrences=conflict_rules.event_candidates(event), exclude_ids=exclude_ids
            ),
        ),
    )


def _occurrence_length(exception: series_overrides.SeriesException | None, occurrence: EventOccurrence) -> timedelta:
    """How long `occurrence` lasts under `exception` (none, or not moved: its own times)."""
    if exception is None or not exception.moved:
        return occurrence.end - occurrence.start
    return exception.end - exception.start


def _lock_live(event: Event) -> Event:
    """Lock the event's row for this transaction; NotFound (404) if it was deleted meanwhile.

    The row lock serializes writers of one event: each sees the version the previous one wrote.
    """
    locked = Event.objects.select_for_update().filter(pk=event.pk, deleted_at__isnull=True).first()
    if locked is None:
        raise NotFound("No such event.")
    return locked


def _check_version(event: Event, expected: int | None) -> None:
    if expected is not None and event.version != expected:
        raise PreconditionFailed(
            f"The event is at version {event.version}, not {expected}.", current_version=event.version
        )


def _check_uids_free(*, owner, uids: list[str]) -> None:
    """ValidationError (400) when one of `uids` is already taken among `owner`'s events (deleted ones too:
    they can be restored) or repeated. Runs under the calendar lock, so two creates cannot both pass."""
    repeated = {uid for uid in uids if uids.count(uid) > 1}
    taken = set(Event.objects.filter(owner=owner, uid__in=uids).values_list("uid", flat=True)) | repeated
    if taken:
        raise ValidationError({"uid": [f"An event of yours already has the UID {uid!r}." for uid in sorted(taken)]})


@transaction.atomic
def event_create(
    *, actor, changes: dict[str, Any], reason: str | None = None, conflict_strategy: str = "reject"
) -> EventWritten:
    """Create an event owned by `actor` at version 1. Raises SchedulingConflict (409) under `reject`."""
    calendar_lock(actor.pk)
    if "uid" in changes:
        _check_uids_free(owner=actor, uids=[changes["uid"]])
    event = Event(**changes, owner=actor, version=1)
    _derive(event)
    found = _check_conflicts(actor=actor, event=event, strategy=conflict_strategy)
    _stamp(event, actor=actor, reason=reason, action=Action.CREATED)
    event.save()
    sharing_services.permission_create_owner(event=event, actor=actor)
    audit_record(actor=actor, action="event.created", target=event, data={"version": 1, "reason": reason or None})
    event_changed(event=event, actor=actor, kind=Action.CREATED)
    return EventWritten(event, found)


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
    audit_data: dict | None = None,
    on_conflict: str = "reject",
) -> EventWritten:
    """Apply `changes` as one new version. Raises PreconditionFailed (412) when stale, SchedulingConflict (409).

    A request that changes nothing makes no version. A stale `expected_version` is resolved by
    `on_conflict` (events/merge.py): reject (412), merge (MergeConflict 409 when the changes overlap)
    or overwrite; the result's `merged` says whether a merge happened.
    """
    calendar_lock(actor.pk)
    locked = _lock_live(event)
    changes, resolution = merge.resolve_stale(locked, expected_version, changes, on_conflict)
    merged = resolution == "merge"
    changed = {key: value for key, value in changes.items() if getattr(locked, key) != value}
    if not changed:
        return EventWritten(locked, merged=merged)
    before = series_overrides.Schedule.of(locked)
    for key, value in changed.items():
        setattr(locked, key, value)
    found: list[dict] = []
    reschedules = any(key in content.SCHEDULE for key in changed)
    if reschedules and locked.end_time <= locked.start_time:
        # Another writer moved the other end meanwhile (or a rollback brings back a version from before the
        # rule): applying this change would leave the event ending when or before it starts.
        raise ValidationError(
            {"end_time": [f"end_time must be after start_time (the event is now at version {locked.version})."]}
        )
    if reschedules and "ical_extra" not in changes and locked.end_time - locked.start_time != before.end - before.start:
        locked.ical_extra = content.without_instant_mark(locked.ical_extra)
    if reschedules and "exceptions" not in changes and locked.exceptions:
        # Changed and cancelled occurrences move with the series (recurrence/overrides.py).
        locked.exceptions = series_overrides.follow(
            locked.exceptions, old=before, new=series_overrides.Schedule.of(locked)
        )
    if reschedules or "exceptions" in changed:
        _derive(locked)
    if reschedules:
        found = _check_conflicts(actor=actor, event=locked, strategy=conflict_strategy, exclude_ids=[locked.pk])
    locked.version += 1
    history_reason = merge.marked_reason(reason, resolution, expected_version, _HISTORY_REASON_MAX)
    _stamp(locked, actor=actor, reason=history_reason, action=action)
    locked.save()
    audit_record(
        actor=actor,
        action=f"event.{action}",
        target=locked,
        data={"version": locked.version, "fields": sorted(changed), "reason": reason or None, **(audit_data or {})},
    )
    event_changed(event=locked, actor=actor, kind=action, data={"fields": sorted(changed)})
    return EventWritten(locked, found, merged)


@transaction.atomic
def event_delete(*, event: Event, actor, reason: str | None = None, expected_version: int | None = None) -> Event:
    """Delete an event: it disappears for everyone, keeping its history (a new version marks the deletion)."""
    locked = _lock_live(event)
    _check_version(locked, expected_version)
    locked.deleted_at = timezone.now()
    locked.version += 1
    _stamp(locked, actor=actor, reason=reason, action=Action.DELETED)
    locked.save()
    audit_record(
        actor=actor, action="event.deleted", target=locked, data={"version": locked.version, "reason": reason or None}
    )
    event_changed(event=locked, actor=actor, kind=Action.DELETED)
    return locked


@transaction.atomic
def event_create_batch(
    *, actor, items: list[dict[str, Any]], reason: str | None = None, conflict_strategy: str = "reject"
) -> EventsCreated:
    """Create all `items` or none: conflicts within the batch and with the calendar are checked first,
    then events, owner permissions and first versions are inserted in bulk."""
    calendar_lock(actor.pk)
    given = [changes["uid"] for changes in items if "uid" in changes]
    if given:
        _check_uids_free(owner=actor, uids=given)
    events = []
    for changes in items:
        event = Event(**changes, owner=actor, version=1)
        _derive(event)
        events.append(event)

    found = _per_strategy(
        conflict_strategy,
        lambda: _batch_conflicts(actor=actor, events=events),
        lambda found: SchedulingConflict(
            f"{len(found)} item(s) of the batch overlap your calendar or each other; nothing was created.",
            conflicts=found,
        ),
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
    sharing_services.permissions_create_owner_bulk(events=created, actor=actor, at=now)
    event_cache.invalidate_users([actor.pk])  # bulk inserts send no history signals (events/cache.py)
    audit_record(
        actor=actor,
        action="event.batch_created",
        target=None,
        data={"count": len(created), "ids": [event.pk for event in created], "reason": reason or None},
    )
    events_created(events=created, actor=actor)
    return EventsCreated(created, found)


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
    around = [(o.start, o.end) for o in everything]
    calendar = conflict_rules.calendar_busy(user=actor, start=start, end=end, around=around)
    within = BusyIndex(
        [
            Busy(o.start, o.end, None, events[index].title, batch_index=index)
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


@transaction.atomic
def event_restore(
    *, event: Event, actor, reason: str | None = None, conflict_strategy: str = "reject", expected_version=None
) -> EventWritten:
    """Bring a deleted event back as a new version (action `restored`), within RESTORE_WINDOW of its deletion.

    Raises Conflict (409) if it is not deleted, Gone (410) after the window, PreconditionFailed (412) when
    stale, SchedulingConflict (409) when it now overlaps the caller's calendar under `reject`.
    """
    calendar_lock(actor.pk)
    locked = Event.objects.select_for_update().get(pk=event.pk)
    _check_version(locked, expected_version)
    if locked.deleted_at is None:
        raise Conflict("The event is not deleted.", current_version=locked.version)
    if locked.deleted_at + RESTORE_WINDOW < timezone.now():
        raise Gone(
            f"The event was deleted more than {RESTORE_WINDOW.days} days ago and can no longer be restored.",
            deleted_at=locked.deleted_at,
        )
    found = _check_conflicts(actor=actor, event=locked, strategy=conflict_strategy, exclude_ids=[locked.pk])
    locked.deleted_at = None
    locked.version += 1
    # The history column holds fewer characters than the API accepts; the audit row keeps the whole reason.
    _stamp(locked, actor=actor, reason=(reason or "")[:_HISTORY_REASON_MAX] or None, action=Action.RESTORED)
    locked.save()
    audit_record(
        actor=actor, action="event.restored", target=locked, data={"version": locked.version, "reason": reason or None}
    )
    event_changed(event=locked, actor=actor, kind=Action.RESTORED)
    return EventWritten(locked, found)


class OccurrenceCancelled(Conflict):
    slug = "occurrence-cancelled"
    title = "The occurrence is cancelled."
    default_detail = "This occurrence is cancelled; send cancelled: false to restore it."


@transaction.atomic
def event_occurrence_change(
    *,
    event: Event,
    actor,
    original_start,
    changes: dict[str, Any],
    reason: str | None = None,
    conflict_strategy: str = "reject",
    expected_version: int | None = None,
) -> EventWritten:
    """Change, cancel or restore one occurrence of a series, as a new version of the series (action
    `occurrence_changed`) whose exceptions hold the change; a change that changes nothing makes no version.

    `changes`: `cancelled`, `title`/`description`/`location` (None: the series' own again), `start`/`end`
    (UTC). A moved occurrence is checked against the caller's calendar and the series' other occurrences.
    Raises NotFound (no such occurrence), OccurrenceCancelled (409), PreconditionFailed (412),
    SchedulingConflict (409 under `reject`), ValidationError (too many exceptions).
    """
    calendar_lock(actor.pk)
    locked = _lock_live(event)
    _check_version(locked, expected_version)
    occurrence = series_split.occurrence_at(locked, original_start)
    exceptions = dict(series_overrides.of(locked))
    current = exceptions.get(occurrence.start)
    if current is not None and current.cancelled and "cancelled" not in changes:
        raise OccurrenceCancelled(current_version=locked.version)
    exception = series_overrides.changed(
        current, original_start=occurrence.start, original_end=occurrence.end, changes=changes
    )
    new_length = _occurrence_length(exception, occurrence) != _occurrence_length(current, occurrence)
    if exception is not None and exception.ical and new_length:
        exception = replace(exception, ical=content.without_instant_mark(exception.ical))
    exceptions.pop(occurrence.start, None)
    if exception is not None:
        exceptions[occurrence.start] = exception
    if len(exceptions) > series_overrides.MAX_EXCEPTIONS:
        raise ValidationError(
            {"original_start": [f"A series keeps at most {series_overrides.MAX_EXCEPTIONS} changed occurrences."]}
        )
    stored = series_overrides.dump(exceptions)
    if stored == locked.exceptions:
        return EventWritten(locked)
    found: list[dict] = []
    if exception is not None and exception.moved and not locked.is_all_day:
        moved = EventOccurrence(exception.start, exception.end, occurrence.start)
        skip = (locked.pk, occurrence.start)
        found = _per_strategy(
            conflict_strategy,
            lambda: conflict_rules.occurrence_conflicts(user=actor, occurrence=moved, skip=skip),
            lambda found: SchedulingConflict(
                f"The occurrence would overlap {len(found)} occurrence(s) on your calendar; "
                "send conflict_strategy=warn or allow to save it anyway.",
                conflicts=found,
                next_free_slots=free_slots.next_free_slots(user=actor, occurrences=[moved], skip=skip),
            ),
        )
    updated = event_update(
        event=locked,
        actor=actor,
        changes={"exceptions": stored},
        reason=reason,
        conflict_strategy="allow",
        action=Action.OCCURRENCE_CHANGED,
        audit_data={"occurrence": series_overrides.key(occurrence.start)},
    ).event
    return EventWritten(updated, found)


@transaction.atomic
def event_split(
    *,
    event: Event,
    actor,
    split: series_split.Split,
    changes: dict[str, Any],
    reason: str | None = None,
    conflict_strategy: str = "reject",
    expected_version: int | None = None,
) -> SeriesSplit:
    """Apply `changes` to a series from the occurrence `split` (series_split.plan(event, at)) cuts it at,
    atomically: the series ends before it (a version with action `split`) and a new series starts there with
    the changes (version 1, `created`, its reason naming the old series), the old one's permissions copied,
    exceptions split by side.

    The plan and `changes` (read against `split.tail` by events/schedule.py) were made from `event` as read,
    so the event must not have changed since
    (PreconditionFailed otherwise). Raises ValidationError, PreconditionFailed, SchedulingConflict.
    """
    calendar_lock(actor.pk)
    locked = _lock_live(event)
    _check_version(locked, expected_version)
    if locked.version != event.version:
        raise PreconditionFailed(
            f"The event changed while the request was read (now version {locked.version}); send it again.",
            current_version=locked.version,
        )
    tail = split.tail
    # `changes` were read against the tail (events/schedule.py: its rule parsed from the new start), and the
    # tail's own rule is the old one's cut by rules.split: nothing to parse again.
    new = Event(**{**content.values_of(tail), **changes})
    new.owner_id, new.version = locked.owner_id, 1
    if new.recurrence is not None:
        new.exceptions = series_overrides.follow(
            tail.exceptions,
            old=series_overrides.Schedule.of(tail),
            new=series_overrides.Schedule.of(new),
        )
    _derive(new)

    old = event_update(
        event=locked,
        actor=actor,
        changes={"recurrence": split.head.to_json(), "exceptions": split.head_exceptions},
        reason=reason,
        conflict_strategy="allow",
        action=Action.SPLIT,
        audit_data={"split_at": series_overrides.key(tail.start_time)},
    ).event
    # Checked after the old series was cut (same transaction), so it is not in the way of its own sequel.
    found = _check_conflicts(actor=actor, event=new, strategy=conflict_strategy)
    note = f"Split from event {old.pk}"
    _stamp(
        new, actor=actor, reason=f"{note}: {reason}"[:_HISTORY_REASON_MAX] if reason else note, action=Action.CREATED
    )
    new.save()
    # No history signal for bulk rows; the holders' cached lists went stale with the old series' new version.
    sharing_services.permissions_copy(source=old, target=new, actor=actor, at=timezone.now())
    audit_record(
        actor=actor,
        action="event.created",
        target=new,
        data={"version": 1, "split_from": old.pk, "reason": reason or None},
    )
    event_changed(event=new, actor=actor, kind=Action.CREATED, data={"split_from": old.pk})
    return SeriesSplit(old, new, found)
