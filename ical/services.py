"""iCalendar writes: importing calendars and managing subscription feeds.

Service API (the REST views and the CalDAV app call these; nothing here writes an event row itself, every
change goes through events.services). Saving one iCalendar object (a CalDAV PUT, one object of an import):

    parsed = ical.parse.parse_calendar(body, default_tz)                   # ICalendarSyntaxError → 400
    event = ical.selectors.event_for_uid(user=actor, uid=obj.uid)          # ObjectRefused: not theirs to edit
    changes = ical.serializers.ical_changes(obj=obj, event=event)          # ObjectRefused: breaks a rule
    outcome = ical.services.event_save_from_ical(actor=actor, event=event, changes=changes,
                                                 reason=..., conflict_strategy="allow")

- `event_save_from_ical(...) -> ImportOutcome(event, outcome created|updated|unchanged, conflicts)`: ONE
  event created or updated (a new version only when something changed), its history action `imported`
  (a new event's first version: `created`).
- `calendar_import(*, actor, planned, skipped, conflict_strategy="warn", reason=None, dry_run=False)
  -> ImportResult`: every object of a file (ical/serializers.py `import_plan` validates them first), all or
  nothing (ImportRejected, 400 with `errors: [{index, uid, errors}]`); `dry_run` keeps nothing.
- `feed_create(*, owner, name) -> (Feed, secret)`, `feed_revoke(*, feed, actor)`, `feed_touch(feed, now)`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from rest_framework.exceptions import APIException, ValidationError

from common.exceptions import DomainError, SchedulingConflict
from common.secret_tokens import new_secret
from events import services as event_services
from events.models import Event
from history.audit import audit_record
from history.models import Action

from .models import Feed
from .parse import ObjectRefused
from .selectors import secret_hash

IMPORT_REASON = "iCalendar import"
MAX_FEEDS = 20  # per user
SECRET_BYTES = 32  # 256 bits


class ImportRejected(DomainError):
    slug = "validation-error"
    title = "Invalid input."
    default_detail = "Some objects of the calendar cannot be imported; nothing was changed."


@dataclass
class ImportOutcome:
    event: Event
    outcome: str  # created | updated | unchanged
    conflicts: list[dict] = field(default_factory=list)


@dataclass
class PlannedObject:
    """One object of an import, validated (ical/serializers.py `import_plan`): its target and changes."""

    index: int
    uid: str
    event: Event | None  # None: a new event
    changes: dict[str, Any]


@dataclass
class ImportResult:
    created: list[int | None] = field(default_factory=list)
    updated: list[int] = field(default_factory=list)
    unchanged: list[int] = field(default_factory=list)
    conflicts: list[dict] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)
    dry_run: bool = False


def event_save_from_ical(
    *,
    actor,
    event: Event | None,
    changes: dict[str, Any],
    reason: str | None = None,
    conflict_strategy: str = "warn",
    action: str = Action.IMPORTED,
) -> ImportOutcome:
    """Create (`event` None) or update ONE event with the validated `changes` of one iCalendar object: a
    normal event_create / event_update (version, history, audit, notifications, sync). No changes: nothing
    happens (`unchanged`). Raises ObjectRefused (a rule the services check), SchedulingConflict under reject,
    NotFound when the event was deleted meanwhile."""
    try:
        if event is None:
            written = event_services.event_create(
                actor=actor, changes=changes, reason=reason, conflict_strategy=conflict_strategy
            )
            return ImportOutcome(written.event, "created", written.conflicts)
        if not changes:
            return ImportOutcome(event, "unchanged")
        written = event_services.event_update(
            event=event,
            actor=actor,
            changes=changes,
            reason=reason,
            conflict_strategy=conflict_strategy,
            action=action,
            audit_data={"source": "ical"},
        )
        updated = written.event
        return ImportOutcome(updated, "updated" if updated.version != event.version else "unchanged", written.conflicts)
    except ValidationError as exc:
        raise ObjectRefused(error_messages(exc.detail)) from None


def error_messages(detail: Any, prefix: str = "") -> list[str]:
    """A DRF error detail (dict / list / string) as flat "field: message" strings."""
    if isinstance(detail, dict):
        return [m for key, value in detail.items() for m in error_messages(value, f"{prefix}{key}: ")]
    if isinstance(detail, list):
        return [m for value in detail for m in error_messages(value, prefix)]
    return [f"{prefix}{detail}"]


def _refusal(item: PlannedObject, exc: APIException) -> dict:
    entry = {"index": item.index, "uid": item.uid, "errors": error_messages(exc.detail)}
    if "conflicts" in getattr(exc, "extra", {}):
        entry["conflicts"] = exc.extra["conflicts"]
    return entry


def _create_all(actor, creates: list[PlannedObject], note: str, conflict_strategy: str, result) -> list[dict]:
    """Create the new events of an import in one batch; their errors (a conflict under reject), if any."""
    try:
        with transaction.atomic():
            batch = event_services.event_create_batch(
                actor=actor, items=[item.changes for item in creates], reason=note, conflict_strategy=conflict_strategy
            )
            created, found = batch.events, batch.conflicts
    except SchedulingConflict as exc:
        hits: dict[int, list] = {}
        for hit in exc.extra.get("conflicts", []):
            hits.setdefault(hit["index"], []).append(hit)
        return [
            {
                "index": creates[index].index,
                "uid": creates[index].uid,
                "errors": ["The event overlaps your calendar; send conflict_strategy=warn or allow to import anyway."],
                "conflicts": found_hits,
            }
            for index, found_hits in sorted(hits.items())
        ]
    except (ValidationError, APIException) as exc:
        return [{"index": item.index, "uid": item.uid, "errors": error_messages(exc.detail)} for item in creates]
    by_index: dict[int, list] = {}
    for hit in found:
        by_index.setdefault(hit["index"], []).append({k: v for k, v in hit.items() if k != "index"})
    for index, (item, event) in enumerate(zip(creates, created, strict=True)):
        result.created.append(event.pk)
        if index in by_index:
            result.conflicts.append(
                {"index": item.index, "uid": item.uid, "event_id": event.pk, "conflicts": by_index[index]}
            )
    return []


class _DryRun(Exception):
    pass


def calendar_import(
    *,
    actor,
    planned: list[PlannedObject],
    skipped: dict[str, int] | None = None,
    conflict_strategy: str = "warn",
    reason: str | None = None,
    dry_run: bool = False,
) -> ImportResult:
    """Save every planned object (ical/serializers.py `import_plan`) in one transaction, all or nothing:
    ImportRejected (400, `errors: [{index, uid, errors}]`) when any cannot be saved (a scheduling conflict
    under reject, ...). Each is a normal create or update, its reason starting "iCalendar import"; one audit
    entry sums the import up. `dry_run`: the same answer, nothing kept."""
    result = ImportResult(skipped=skipped or {}, dry_run=dry_run)
    note = f"{IMPORT_REASON}: {reason}" if reason else IMPORT_REASON
    errors: list[dict] = []
    try:
        with transaction.atomic():
            # New events: one event_create_batch (the service behind POST /api/events/batch: the same rules,
            # bulk inserts, one conflict check for them all); existing ones: one event_update each.
            creates = [item for item in planned if item.event is None]
            if creates:
                errors += _create_all(actor, creates, note, conflict_strategy, result)
            for item in planned:
                if item.event is None:
                    continue
                try:
                    with transaction.atomic():  # a savepoint: a refused object leaves nothing behind
                        outcome = event_save_from_ical(
                            actor=actor,
                            event=item.event,
                            changes=item.changes,
                            reason=note,
                            conflict_strategy=conflict_strategy,
                        )
                except ObjectRefused as exc:
                    errors.append({"index": item.index, "uid": item.uid, "errors": exc.errors})
                    continue
                except APIException as exc:  # SchedulingConflict under reject, NotFound, ...
                    errors.append(_refusal(item, exc))
                    continue
                event_id = outcome.event.pk
                getattr(result, outcome.outcome).append(event_id)
                if outcome.conflicts:
                    result.conflicts.append(
                        {"index": item.index, "uid": item.uid, "event_id": event_id, "conflicts": outcome.conflicts}
                    )
            if errors:
                raise ImportRejected(
                    f"{len(errors)} of {len(planned)} objects cannot be imported; nothing was changed.", errors=errors
                )
            if planned:
                audit_record(
                    actor=actor,
                    action="event.imported",
                    target=None,
                    data={
                        "created": result.created,
                        "updated": result.updated,
                        "unchanged": len(result.unchanged),
                        "dry_run": dry_run,
                    },
                )
            if dry_run:
                raise _DryRun
    except _DryRun:
        result.created = [None] * len(result.created)  # rolled back: those events do not exist
    return result


@transaction.atomic
def feed_create(*, owner, name: str) -> tuple[Feed, str]:
    """A new feed of `owner`'s calendar and its secret (shown once; only its hash is kept). ValidationError
    above MAX_FEEDS."""
    if Feed.objects.select_for_update().filter(owner=owner).count() >= MAX_FEEDS:
        raise ValidationError({"name": [f"You have {MAX_FEEDS} feeds already; revoke one first."]})
    secret = new_secret(SECRET_BYTES)
    feed = Feed.objects.create(owner=owner, name=name, secret_hash=secret_hash(secret))
    audit_record(actor=owner, action="feed.created", target=("feed", feed.pk), data={"name": name})
    return feed, secret


@transaction.atomic
def feed_revoke(*, feed: Feed, actor) -> None:
    """Delete `feed`: its URL answers 404 from now on."""
    audit_record(actor=actor, action="feed.revoked", target=("feed", feed.pk), data={"name": feed.name})
    feed.delete()


def feed_touch(feed: Feed, now: datetime) -> None:
    """Record a use of the feed (at most once a minute: pollers must not write on every request)."""
    if feed.last_used_at is None or now - feed.last_used_at > timedelta(minutes=1):
        Feed.objects.filter(pk=feed.pk).update(last_used_at=now)
