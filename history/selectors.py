"""History reads, scoped to the caller: versions, changelog, time travel, deleted events, the audit trail.

A version is a historical event row; its number (`version`, 1, 2, 3 ... per event) is what URLs name.
Rows written by hard deletes (history_type "-") repeat the last number and are never shown.
Every read here costs a fixed number of queries, whatever the number of versions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Exists, F, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.utils import timezone
from django_filters import utils
from rest_framework.exceptions import NotFound

from common.fields import parse_id
from events.filters import EventFilter
from events.models import Event
from sharing.models import EventPermission
from sharing.roles import Role

from . import diff
from .models import RESTORE_WINDOW, Action, AuditEntry

HistoricalEvent = Event.history.model
HistoricalPermission = EventPermission.history.model

MAX_VERSION = 2**31 - 1  # versions are 32-bit integers
PERMISSION_KINDS = {"+": "permission_granted", "~": "permission_changed", "-": "permission_revoked"}


def event_for_history(*, user, event_id) -> Event:
    """The event if `user` holds a role on it now, with `my_role`; a deleted event only for its owners.

    Raises NotFound (404) otherwise, the same answer whether it exists or not.
    """
    event = (
        Event.objects.filter(pk=parse_id(event_id), permissions__user=user)
        .annotate(my_role=EventPermission.objects.role_of(user))
        .select_related("owner")
        .first()
    )
    if event is None or (event.deleted_at is not None and event.my_role != Role.OWNER):
        raise NotFound("No such event.")
    return event


def versions(*, event, descending: bool = False) -> QuerySet:
    """The event's versions in number order, each with who made it."""
    order = "-version" if descending else "version"
    return (
        HistoricalEvent.objects.filter(id=event.pk)
        .exclude(history_type="-")
        .select_related("history_user", "owner")
        .order_by(order)
    )


def version_get(*, event, version) -> Any:
    """One version of the event by its number; NotFound (404) for a number it never had."""
    number = parse_id(version, maximum=MAX_VERSION, detail="No such version.")
    row = versions(event=event).filter(version=number).first()
    if row is None:
        raise NotFound(f"The event has no version {version}.")
    return row


def versions_pair(*, event, first, second) -> tuple[Any, Any]:
    """Two versions in one query (for a diff); NotFound (404) if either does not exist."""
    numbers = [parse_id(value, maximum=MAX_VERSION, detail="No such version.") for value in (first, second)]
    rows = {row.version: row for row in versions(event=event).filter(version__in=numbers)}
    missing = [n for n in numbers if n not in rows]
    if missing:
        raise NotFound(f"The event has no version {missing[0]}.")
    return rows[numbers[0]], rows[numbers[1]]


@dataclass
class VersionInfo:
    """A version with what it changed from the one before."""

    row: Any
    previous: dict | None
    snapshot: dict
    changed_fields: list[str]
    size_change: dict[str, int]
    summary: str
    rolled_back_to: int | None


def describe_versions(*, event, rows: list) -> list[VersionInfo]:
    """What each row changed: one query for the rows before them, one for rollback targets (only if needed)."""
    have = {row.version: row for row in rows}
    wanted = {row.version - 1 for row in rows if row.version > 1} - have.keys()
    if wanted:
        have.update(
            {
                row.version: row
                for row in HistoricalEvent.objects.filter(id=event.pk, version__in=wanted).exclude(history_type="-")
            }
        )
    targets = rollback_targets(event=event, numbers=[r.version for r in rows if r.history_action == Action.ROLLED_BACK])
    described = []
    for row in rows:
        before = have.get(row.version - 1)
        previous = diff.snapshot(before) if before is not None else None
        current = diff.snapshot(row)
        target = targets.get(row.version)
        described.append(
            VersionInfo(
                row=row,
                previous=previous,
                snapshot=current,
                changed_fields=diff.changed_fields(previous, current)
                if row.history_action not in (Action.DELETED, Action.RESTORED)
                else [],
                size_change=diff.size_change(previous, current),
                summary=diff.version_summary(row.history_action, previous, current, rolled_back_to=target),
                rolled_back_to=target,
            )
        )
    return described


def rollback_targets(*, event, numbers: list[int]) -> dict[int, int]:
    """{version: the version it rolled back to}, from the audit trail (one query, none if `numbers` is empty)."""
    if not numbers:
        return {}
    entries = AuditEntry.objects.filter(
        action=f"event.{Action.ROLLED_BACK}", target_type="event", target_id=str(event.pk), data__version__in=numbers
    ).values_list("data", flat=True)
    return {data["version"]: data.get("rolled_back_to") for data in entries if isinstance(data, dict)}


# --- changelog -----------------------------------------------------------------------------------


def changelog_timeline(*, event, descending: bool = False) -> QuerySet:
    """Versions and sharing changes of the event on one timeline, as (at, kind, row id, version) tuples.

    kind 0 is a version, 1 a permission change. The creator's own owner grant, made with the event, is
    part of "created" and left out. One UNION query, so it counts and pages in the database.
    """
    version_rows = (
        HistoricalEvent.objects.filter(id=event.pk)
        .exclude(history_type="-")
        .annotate(at=F("history_date"), kind=Value(0, IntegerField()), row=F("history_id"), number=F("version"))
        .values_list("at", "kind", "row", "number")
    )
    permission_rows = (
        HistoricalPermission.objects.filter(event_id=event.pk)
        .filter(~Q(history_type="+") | Q(history_user__isnull=True) | ~Q(user_id=F("history_user_id")))
        .annotate(
            at=F("history_date"),
            kind=Value(1, IntegerField()),
            row=F("history_id"),
            number=Value(None, IntegerField()),
        )
        .values_list("at", "kind", "row", "number")
    )
    # Historical models have a default ordering, which a UNION's parts may not carry.
    timeline = version_rows.order_by().union(permission_rows.order_by(), all=True)
    return timeline.order_by("-at", "-kind", "-row") if descending else timeline.order_by("at", "kind", "row")


@dataclass
class ChangelogEntry:
    kind: str  # "version" or "sharing"
    at: datetime
    actor: Any
    action: str
    version: int | None
    changed_fields: list[str]
    summary: str
    change_reason: str | None
    size_change: dict[str, int] | None
    permission: dict | None


def changelog_entries(*, event, page: list[tuple]) -> list[ChangelogEntry]:
    """The entries of one page of `changelog_timeline`: at most four queries, whatever the page holds."""
    version_ids = [row for _, kind, row, _ in page if kind == 0]
    permission_ids = [row for _, kind, row, _ in page if kind == 1]
    by_id: dict[tuple[int, int], ChangelogEntry] = {}
    if version_ids:
        rows = list(versions(event=event).filter(history_id__in=version_ids))
        for info in describe_versions(event=event, rows=rows):
            row = info.row
            by_id[(0, row.history_id)] = ChangelogEntry(
                kind="version",
                at=row.history_date,
                actor=row.history_user,
                action=row.history_action,
                version=row.version,
                changed_fields=info.changed_fields,
                summary=info.summary,
                change_reason=row.history_change_reason,
                size_change=info.size_change,
                permission=None,
            )
    if permission_ids:
        earlier = HistoricalPermission.objects.filter(id=OuterRef("id"), history_id__lt=OuterRef("history_id"))
        rows = (
            HistoricalPermission.objects.filter(history_id__in=permission_ids)
            .select_related("user", "history_user")
            .annotate(old_role=Subquery(earlier.order_by("-history_id").values("role")[:1]))
        )
        for row in rows:
            kind = PERMISSION_KINDS[row.history_type]
            username = row.user.username if row.user is not None else f"user {row.user_id}"
            old_role = row.old_role if kind == "permission_changed" else None
            by_id[(1, row.history_id)] = ChangelogEntry(
                kind="sharing",
                at=row.history_date,
                actor=row.history_user,
                action=kind,
                version=None,
                changed_fields=[],
                summary=diff.permission_summary(
                    kind,
                    username=username,
                    role=row.role,
                    old_role=old_role,
                    self_change=row.history_user_id == row.user_id,
                ),
                change_reason=None,
                size_change=None,
                permission={"user": row.user, "user_id": row.user_id, "role": row.role, "old_role": old_role},
            )
    return [by_id[(kind, row)] for _, kind, row, _ in page if (kind, row) in by_id]


# --- time travel ---------------------------------------------------------------------------------


def events_as_of(*, user, as_of: datetime) -> QuerySet:
    """The events `user` can see now, as they were at `as_of`: for each, its latest version then.

    "Can see now" is what the history reads allow: a role on the event now, and for an event deleted
    since, the owner role. Events that did not exist yet or were deleted at that moment are absent.
    Rows carry `my_role` (the caller's role now) and `updated_at` (when that version was made); they
    serialize like events.
    "Latest" is an anti-join (no later version at or before `as_of`) on the (id, history_date) index, so
    one query answers for all events and its cost follows the caller's events, not the whole history.
    """
    later = HistoricalEvent.objects.filter(id=OuterRef("id"), history_date__lte=as_of).filter(
        Q(history_date__gt=OuterRef("history_date"))
        | Q(history_date=OuterRef("history_date"), history_id__gt=OuterRef("history_id"))
    )
    role = EventPermission.objects.role_of(user, event_ref="id")
    return (
        Event.history.filter(  # the manager's queryset knows `overlapping`, for the window filters
            id__in=EventPermission.objects.filter(user=user)
            .filter(Q(event__deleted_at__isnull=True) | Q(role=Role.OWNER))
            .order_by()
            .values("event_id"),
            history_date__lte=as_of,
        )
        .filter(~Exists(later))
        .exclude(history_type="-")  # the latest row is a purge: the event was gone
        .filter(deleted_at__isnull=True)
        .annotate(my_role=role, updated_at=F("history_date"))
        .select_related("owner")
        .order_by("start_time", "id")
    )


def events_as_of_filtered(*, user, as_of: datetime, params) -> QuerySet:
    """`events_as_of` narrowed by the event list's filters (the same EventFilter, applied to the versions)."""
    if not EventFilter.base_filters.keys() & params.keys():  # nothing to filter: skip building the filter form
        return events_as_of(user=user, as_of=as_of)
    filterset = EventFilter(params, queryset=events_as_of(user=user, as_of=as_of))
    if not filterset.is_valid():
        raise utils.translate_validation(filterset.errors)
    return filterset.qs


def as_event(row) -> Event:
    """A historical row as an (unsaved) Event, with `my_role` and `updated_at` kept, for code that needs its pk."""
    values = {
        field.attname: getattr(row, field.attname)
        for field in Event._meta.concrete_fields
        if field.attname != "updated_at"
    }
    event = Event(**values)
    event.updated_at = getattr(row, "updated_at", row.history_date)
    event.my_role = getattr(row, "my_role", None)
    if row.owner is not None:
        event.owner = row.owner
    return event


class AsOfEvents:
    """Wraps a time-travel queryset for the calendar expansion, which needs events' own ids."""

    def __init__(self, queryset: QuerySet) -> None:
        self.queryset = queryset

    def overlapping(self, start, end) -> list[Event]:
        return [as_event(row) for row in self.queryset.overlapping(start, end)]


def permissions_as_of(*, event_id: int, as_of: datetime) -> list:
    """Who held which role on the event at `as_of` (one query)."""
    latest = Subquery(
        HistoricalPermission.objects.filter(id=OuterRef("id"), history_date__lte=as_of)
        .order_by("-history_date", "-history_id")
        .values("history_id")[:1]
    )
    return list(
        HistoricalPermission.objects.filter(event_id=event_id, history_date__lte=as_of, history_id=latest)
        .exclude(history_type="-")
        .select_related("user", "granted_by")
        .order_by("granted_at", "id")
    )


def event_as_of(*, user, event_id, as_of: datetime, detail: bool = True) -> Event:
    """One event as it was at `as_of` (an unsaved Event; with `permission_list` as of then when `detail`).

    NotFound (404) when the caller holds no role on it now, or it did not exist or was deleted at `as_of`.
    """
    row = events_as_of(user=user, as_of=as_of).filter(id=parse_id(event_id)).first()
    if row is None:
        raise NotFound("No such event at that time.")
    event = as_event(row)
    if detail:
        event.permission_list = permissions_as_of(event_id=event.pk, as_of=as_of)
    return event


# --- deleted events ------------------------------------------------------------------------------


def events_deleted(*, user) -> QuerySet[Event]:
    """Events `user` owns that were deleted within RESTORE_WINDOW (so can still be restored), newest first."""
    return (
        Event.objects.filter(
            deleted_at__gte=timezone.now() - RESTORE_WINDOW,
            permissions__user=user,
            permissions__role=Role.OWNER,
        )
        .annotate(my_role=Value(Role.OWNER))
        .select_related("owner")
        .order_by("-deleted_at", "-id")
    )


# --- audit ---------------------------------------------------------------------------------------


def audit_entries(*, filters: dict[str, Any]) -> QuerySet[AuditEntry]:
    """The audit trail, newest first, narrowed by actor, action (exact, or a prefix ending in '.'), target, time."""
    queryset = AuditEntry.objects.select_related("actor")
    if "actor" in filters:
        queryset = queryset.filter(actor_id=filters["actor"])
    if "action" in filters:
        action = filters["action"]
        queryset = (
            queryset.filter(action__startswith=action) if action.endswith(".") else queryset.filter(action=action)
        )
    if "target_type" in filters:
        queryset = queryset.filter(target_type=filters["target_type"])
    if "target_id" in filters:
        queryset = queryset.filter(target_id=filters["target_id"])
    if "since" in filters:
        queryset = queryset.filter(created_at__gte=filters["since"])
    if "until" in filters:
        queryset = queryset.filter(created_at__lt=filters["until"])
    return queryset.order_by("-created_at", "-id")
