"""iCalendar writes: importing calendars and managing subscription feeds.

Service API (the REST views and the CalDAV app call these; nothing here writes an event row itself,
every change goes through events.services):

- `event_save_from_ical(*, actor, obj, reason, conflict_strategy="warn", action=Action.IMPORTED)
  -> ImportOutcome`: create or update ONE event from one parsed iCalendar object (ical/parse.py: the
  master and its overrides). The UID finds the event among those the caller can see: one they can edit is
  updated (a new version only when something changed), none is created (owned by the caller), one they
  may only view (or their own deleted one) is refused. Raises `ObjectRefused` (its `errors` are messages),
  SchedulingConflict (409) under `reject`. CalDAV PUT calls it with conflict_strategy="allow".
- `calendar_import(*, actor, data, default_tz, conflict_strategy="warn", reason=None, dry_run=False)
  -> ImportResult`: every object of a file, all or nothing: `ImportRejected` (400, `errors: [{index, uid,
  errors}]`) or `ICalendarSyntaxError` (400) change nothing; `dry_run` answers the same and keeps nothing.
- `feed_create(*, owner, name) -> (Feed, secret)`, `feed_revoke(*, feed, actor)`.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import transaction
from rest_framework.exceptions import APIException, ValidationError

from common.exceptions import DomainError
from events import services as event_services
from events.models import Event
from events.serializers import EventInputSerializer
from history.audit import audit_record
from history.models import Action
from recurrence import overrides as series_exceptions
from recurrence import timezones
from sharing.models import EventPermission
from sharing.roles import Role

from .models import Feed
from .parse import ICalObject, Override, parse_calendar

IMPORT_REASON = "iCalendar import"
MAX_FEEDS = 20  # per user
SECRET_BYTES = 32  # 256 bits


class ObjectRefused(Exception):
    """One iCalendar object cannot be saved; `errors` says why."""

    def __init__(self, errors: list[str]):
        super().__init__("; ".join(errors))
        self.errors = errors


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
class ImportResult:
    created: list[int | None] = field(default_factory=list)
    updated: list[int] = field(default_factory=list)
    unchanged: list[int] = field(default_factory=list)
    conflicts: list[dict] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)
    dry_run: bool = False


def _messages(detail: Any, prefix: str = "") -> list[str]:
    """A DRF error detail (dict / list / string) as flat "field: message" strings."""
    if isinstance(detail, dict):
        return [m for key, value in detail.items() for m in _messages(value, f"{prefix}{key}: ")]
    if isinstance(detail, list):
        return [m for value in detail for m in _messages(value, prefix)]
    return [f"{prefix}{detail}"]


def _target(*, actor, uid: str) -> Event | None:
    """The event a UID names for `actor`: one they can edit, else None (a new event); ObjectRefused when the
    UID is taken by an event they cannot edit or by their own deleted event."""
    permission = (
        EventPermission.objects.filter(user=actor, event__uid=uid, event__deleted_at__isnull=True)
        .select_related("event")
        .order_by("-event__owner_id")  # any order; the caller's own event first below
    )
    found = list(permission)
    found.sort(key=lambda p: p.event.owner_id != actor.pk)
    for p in found:
        if p.role in (Role.OWNER, Role.EDITOR):
            p.event.my_role = p.role
            return p.event
    if found:
        raise ObjectRefused([f"UID: belongs to an event shared with you as {found[0].role}; you cannot change it"])
    if Event.objects.filter(owner=actor, uid=uid, deleted_at__isnull=False).exists():
        raise ObjectRefused(["UID: belongs to an event of yours that was deleted; restore it first"])
    return None


def _exceptions(obj: ICalObject, changes: dict, event: Event | None) -> dict:
    """The stored exceptions (events/exceptions.py) the object's overrides make of the series."""
    if not obj.overrides:
        return {}
    start = changes.get("start_time", event.start_time if event else None)
    end = changes.get("end_time", event.end_time if event else None)
    schedule = series_exceptions.Schedule(
        start,
        end,
        changes.get("timezone", event.timezone if event else "UTC"),
        changes.get("is_all_day", event.is_all_day if event else False),
        changes.get("recurrence", event.recurrence if event else None),
    )
    pattern = schedule.pattern
    length = end - start
    texts = {"title": obj.fields["title"], "description": obj.fields["description"], "location": obj.fields["location"]}
    found: dict[datetime, series_exceptions.SeriesException] = {}
    errors = []
    for override in obj.overrides:
        original = override.recurrence_id
        if not schedule.has_occurrence_at(original, pattern):
            errors.append(f"RECURRENCE-ID: {series_exceptions.key(original)} is not an occurrence of the series")
            continue
        if override.cancelled:
            found[original] = series_exceptions.SeriesException(original, cancelled=True)
            continue
        start_at, end_at = override.start or original, override.end or original + length
        moved = (start_at, end_at) != (original, original + length)
        if moved and end_at < start_at:
            errors.append(f"DTEND: before DTSTART in the override of {series_exceptions.key(original)}")
            continue
        found[original] = series_exceptions.SeriesException(
            original,
            start=start_at if moved else None,
            end=end_at if moved else None,
            **{
                name: value
                for name in series_exceptions.TEXT_FIELDS
                if (value := getattr(override, name)) is not None and value != texts[name]
            },
            ical=override.extra or None,
        )
    if len(found) > series_exceptions.MAX_EXCEPTIONS:
        errors.append(f"RECURRENCE-ID: a series keeps at most {series_exceptions.MAX_EXCEPTIONS} changed occurrences")
    if errors:
        raise ObjectRefused(errors)
    return series_exceptions.dump(found)


def _cancelled_stay_exceptions(event: Event, fields: dict, overrides: list) -> tuple[dict, list]:
    """Our exports write a cancelled occurrence as an EXDATE (the contract). Read back into the same event, an
    EXDATE of an occurrence the event holds as cancelled stays that cancelled exception, so that importing an
    export changes nothing."""
    pattern = fields.get("recurrence_pattern")
    cancelled = {k for k, v in (event.exceptions or {}).items() if v.get("cancelled")}
    if not pattern or not cancelled:
        return fields, overrides
    zone = timezones.get(fields["timezone"])
    kept, moved = [], []
    for text in pattern["exdates"]:
        value = datetime.fromisoformat(text)
        value = value.replace(tzinfo=zone) if value.tzinfo is None else value
        instant = value.astimezone(UTC)
        (moved if series_exceptions.key(instant) in cancelled else kept).append((text, instant))
    if not moved:
        return fields, overrides
    fields = {**fields, "recurrence_pattern": {**pattern, "exdates": [text for text, _ in kept]}}
    return fields, [*overrides, *(Override(recurrence_id=instant, cancelled=True) for _, instant in moved)]


def event_save_from_ical(
    *,
    actor,
    obj: ICalObject,
    reason: str | None = None,
    conflict_strategy: str = "warn",
    action: str = Action.IMPORTED,
) -> ImportOutcome:
    """Create or update the one event `obj` describes (see the module docstring). Atomic."""
    if obj.errors:
        raise ObjectRefused(obj.errors)
    with transaction.atomic():
        event = _target(actor=actor, uid=obj.uid)
        fields = dict(obj.fields)
        overrides = list(obj.overrides)
        if event is not None:
            fields.pop("uid")
            fields, overrides = _cancelled_stay_exceptions(event, fields, overrides)
        serializer = EventInputSerializer(instance=event, data=fields, partial=event is not None)
        if not serializer.is_valid():
            raise ObjectRefused(_messages(serializer.errors))
        changes = dict(serializer.validated_data["changes"])
        if event is not None:
            # The file states the whole event: times compare as instants, and the schedule as a whole.
            current = {k: getattr(event, k) for k in ("start_time", "end_time", "timezone", "is_all_day", "recurrence")}
            changes = {k: v for k, v in changes.items() if current.get(k, object()) != v}
        exceptions = _exceptions(replace(obj, overrides=overrides), changes, event)
        if event is None or exceptions != (event.exceptions or {}) or changes.keys() & set(current):
            changes["exceptions"] = exceptions
        if event is None or obj.extra != (event.ical_extra or {}):
            changes["ical_extra"] = obj.extra
        if event is not None:
            changes = {k: v for k, v in changes.items() if getattr(event, k) != v}
        try:
            if event is None:
                created, found = event_services.event_create(
                    actor=actor, changes=changes, reason=reason, conflict_strategy=conflict_strategy
                )
                return ImportOutcome(created, "created", found)
            if not changes:
                return ImportOutcome(event, "unchanged")
            updated, found = event_services.event_update(
                event=event,
                actor=actor,
                changes=changes,
                reason=reason,
                conflict_strategy=conflict_strategy,
                action=action,
                audit_data={"source": "ical"},
            )
            return ImportOutcome(updated, "updated", found)
        except ValidationError as exc:
            raise ObjectRefused(_messages(exc.detail)) from None


class _DryRun(Exception):
    pass


def calendar_import(
    *,
    actor,
    data: bytes,
    default_tz: str = "UTC",
    conflict_strategy: str = "warn",
    reason: str | None = None,
    dry_run: bool = False,
) -> ImportResult:
    """Import every VEVENT of `data` (see the module docstring). Each object is a normal create or update
    (version, history with action `imported` and a reason starting "iCalendar import", audit, notifications
    and sync after commit)."""
    parsed = parse_calendar(data, default_tz)
    result = ImportResult(skipped=parsed.skipped, dry_run=dry_run)
    note = f"{IMPORT_REASON}: {reason}" if reason else IMPORT_REASON
    errors: list[dict] = []
    try:
        with transaction.atomic():
            for obj in parsed.objects:
                try:
                    with transaction.atomic():  # a savepoint: a refused object leaves nothing behind
                        outcome = event_save_from_ical(
                            actor=actor, obj=obj, reason=note, conflict_strategy=conflict_strategy
                        )
                except ObjectRefused as exc:
                    errors.append({"index": obj.index, "uid": obj.uid, "errors": exc.errors})
                    continue
                except APIException as exc:  # SchedulingConflict under reject, PreconditionFailed, ...
                    item = {"index": obj.index, "uid": obj.uid, "errors": _messages(exc.detail)}
                    if getattr(exc, "extra", None) and "conflicts" in exc.extra:
                        item["conflicts"] = exc.extra["conflicts"]
                    errors.append(item)
                    continue
                event_id = outcome.event.pk
                getattr(result, outcome.outcome).append(event_id)
                if outcome.conflicts:
                    result.conflicts.append(
                        {"index": obj.index, "uid": obj.uid, "event_id": event_id, "conflicts": outcome.conflicts}
                    )
            if errors:
                raise ImportRejected(
                    f"{len(errors)} of {len(parsed.objects)} objects cannot be imported; nothing was changed.",
                    errors=errors,
                )
            if parsed.objects:
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


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@transaction.atomic
def feed_create(*, owner, name: str) -> tuple[Feed, str]:
    """A new feed of `owner`'s calendar and its secret (shown once; only its hash is kept). ValidationError
    above MAX_FEEDS."""
    if Feed.objects.select_for_update().filter(owner=owner).count() >= MAX_FEEDS:
        raise ValidationError({"name": [f"You have {MAX_FEEDS} feeds already; revoke one first."]})
    secret = secrets.token_urlsafe(SECRET_BYTES)
    feed = Feed.objects.create(owner=owner, name=name, secret_hash=_hash(secret))
    audit_record(actor=owner, action="feed.created", target=("feed", feed.pk), data={"name": name})
    return feed, secret


@transaction.atomic
def feed_revoke(*, feed: Feed, actor) -> None:
    """Delete `feed`: its URL answers 404 from now on."""
    audit_record(actor=actor, action="feed.revoked", target=("feed", feed.pk), data={"name": feed.name})
    feed.delete()


def feed_find(secret: str) -> Feed | None:
    """The feed of a URL secret, if it exists and its owner is active."""
    if not secret or len(secret) > 128:
        return None
    return Feed.objects.select_related("owner").filter(secret_hash=_hash(secret), owner__is_active=True).first()


def feed_touch(feed: Feed, now: datetime) -> None:
    """Record a use of the feed (at most once a minute: pollers must not write on every request)."""
    if feed.last_used_at is None or now - feed.last_used_at > timedelta(minutes=1):
        Feed.objects.filter(pk=feed.pk).update(last_used_at=now)
