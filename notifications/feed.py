"""Recording changes for everyone concerned: the change feed, notifications, and the live send queued after commit.

Event and sharing services call `event_changed` (or `events_created` for a batch) inside their own
transaction, after their writes. In that transaction we append one entry to the change feed of
every user who has access (the actor included: their other devices sync too), a notification for
everyone but the actor, and queue the WebSocket messages with `transaction.on_commit`: a write that
rolls back leaves no entry and sends nothing.

Gap-free feeds. Auto-increment ids are handed out at insert, not at commit, so a reader can see
id 11 committed while id 10 is still in flight, move its cursor past 10 and never see it. Instead,
each user's entries are numbered by their own `SyncStream` counter, whose row stays locked from the
moment we number an entry until the transaction ends. A second writer touching the same user waits
for the first to commit (or roll back, and then reuses the number), so a user's positions become
visible strictly in order and without holes: once a reader sees position n, everything before n
is committed. Counters are locked in user-id order, after the event row: two writers never hold
them crosswise. Writers that share no user never wait for each other.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.db.models import F, JSONField
from django.utils import timezone
from psycopg.types.json import Jsonb

from events.models import Event
from events.representation import event_data
from history.models import Action
from sharing.models import EventPermission

from . import live
from .models import Change, ChangeKind, FeedEntry, FeedKind, Notification, SyncStream

logger = logging.getLogger(__name__)


# Kinds whose message carries the event's state (the others: it is gone for the recipient).
_WITH_STATE = {kind for kind in ChangeKind if kind not in (ChangeKind.DELETED, ChangeKind.ACCESS_REVOKED)}

# The history actions event services record, as change kinds: ChangeKind is made from them (the member of
# the same name). An update made by an import is an update to every client (`event_updated`); its history
# says `imported`.
_ACTION_KINDS = {
    action.value: ChangeKind.UPDATED if action == Action.IMPORTED else ChangeKind[action.name] for action in Action
}


@dataclass
class _Pending:
    event: Event
    kind: str
    data: dict
    # user id → (feed kind, role after the change)
    recipients: dict[int, tuple[str, str]] = field(default_factory=dict)


def kind_of(kind_or_action: str) -> str:
    """A ChangeKind from a ChangeKind or a history action ("updated", "rolled_back", ...)."""
    if kind_or_action in ChangeKind.values:
        return kind_or_action
    try:
        return _ACTION_KINDS[kind_or_action]
    except KeyError:
        raise ValueError(f"Unknown change kind {kind_or_action!r}") from None


def _feed_kind(kind: str, user_id: int, granted: set[int]) -> str:
    if kind in (ChangeKind.CREATED, ChangeKind.RESTORED):
        return FeedKind.CREATED
    if kind == ChangeKind.DELETED:
        return FeedKind.DELETED
    if kind == ChangeKind.ACCESS_REVOKED:
        return FeedKind.ACCESS_LOST
    if kind == ChangeKind.SHARED and user_id in granted:
        return FeedKind.CREATED  # the event enters this user's calendar
    return FeedKind.UPDATED


@transaction.atomic(savepoint=False)
def event_changed(
    *,
    event: Event,
    actor,
    kind: str,
    data: dict | None = None,
    granted_user_ids=(),
    revoked_users=(),
) -> None:
    """Record a change to `event` for every user with access (and `access_revoked` for `revoked_users`).

    Call it inside the writing transaction, after the writes. `kind` is a ChangeKind or a history
    action. Side effects after commit: one WebSocket message per recipient other than the actor.
    Raises ValueError for an unknown kind.
    """
    kind = kind_of(kind)
    # Taking the event row here orders this change after any other write to the event still in
    # flight (they hold the row until they commit), so the state and recipients we read are those
    # of our position in the feeds. Event services already hold it; sharing services do not.
    current = Event.objects.select_for_update(of=("self",)).select_related("owner").get(pk=event.pk)
    roles = dict(EventPermission.objects.filter(event_id=current.pk).values_list("user_id", "role"))
    granted = set(granted_user_ids)
    base = {"title": current.title, **(data or {})}
    pending = [
        _Pending(
            event=current,
            kind=kind,
            data=base,
            recipients={uid: (_feed_kind(kind, uid, granted), role) for uid, role in sorted(roles.items())},
        )
    ]
    revoked = [user for user in revoked_users if user.pk not in roles]
    if revoked:
        pending.append(
            _Pending(
                event=current,
                kind=ChangeKind.ACCESS_REVOKED,
                data={"title": current.title},
                recipients={user.pk: (FeedKind.ACCESS_LOST, "") for user in sorted(revoked, key=lambda u: u.pk)},
            )
        )
    _record(pending, actor=actor)


@transaction.atomic(savepoint=False)
def events_created(*, events: list[Event], actor) -> None:
    """Record a batch of new events (owned by `actor`, so in nobody else's feed yet). Nothing is sent live."""
    pending = []
    for event in events:
        event.owner = actor  # the serializer needs it; spare a query per event
        pending.append(
            _Pending(
                event=event,
                kind=ChangeKind.CREATED,
                data={"title": event.title},
                recipients={actor.pk: (FeedKind.CREATED, "owner")},
            )
        )
    _record(pending, actor=actor)


def _json(value: Any) -> Any:
    # Channel layers and JSONField want plain JSON types; serializer output has ReturnDicts and lazy strings.
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def _payload(pending: _Pending, actor, now: datetime) -> dict:
    event = pending.event
    payload = {
        "type": pending.kind,
        "event_id": event.pk,
        "actor": {"id": actor.pk, "username": actor.username} if actor is not None else None,
        "version": event.version,
        "at": now.isoformat(),
        "data": pending.data,
    }
    if pending.kind in _WITH_STATE:
        event.my_role = None  # set per recipient
        payload["event"] = event_data(event)
    return _json(payload)


def _assign_positions(counts: dict[int, int]) -> dict[int, int]:
    """The first new feed position of each user, for `counts[user]` new entries; locks their counters."""
    ids = sorted(counts)
    if not ids:
        return {}
    locked = dict(
        SyncStream.objects.select_for_update().filter(user_id__in=ids).order_by("user_id").values_list("user_id", "seq")
    )
    missing = [uid for uid in ids if uid not in locked]
    if missing:
        # First change for these users. Inserted in id order too; a concurrent insert of the same row
        # makes us wait for that transaction, then the select below locks the row it made.
        SyncStream.objects.bulk_create([SyncStream(user_id=uid) for uid in missing], ignore_conflicts=True)
        locked.update(
            SyncStream.objects.select_for_update()
            .filter(user_id__in=missing)
            .order_by("user_id")
            .values_list("user_id", "seq")
        )
    by_increment: dict[int, list[int]] = defaultdict(list)
    for uid in ids:
        by_increment[counts[uid]].append(uid)
    for increment, uids in by_increment.items():
        SyncStream.objects.filter(user_id__in=uids).update(seq=F("seq") + increment)
    return {uid: locked[uid] + 1 for uid in ids}


def _record(pending: list[_Pending], *, actor) -> None:
    counts: dict[int, int] = defaultdict(int)
    for item in pending:
        for uid in item.recipients:
            counts[uid] += 1
    if not counts:
        return
    next_position = _assign_positions(counts)
    # After the counters: the time is then in the users' feed order too.
    now = timezone.now()
    actor_id = actor.pk if actor is not None else None
    changes = Change.objects.bulk_create(
        [
            Change(
                event_id=item.event.pk,
                kind=item.kind,
                actor_id=actor_id,
                version=item.event.version,
                payload=_payload(item, actor, now),
                created_at=now,
            )
            for item in pending
        ]
    )
    entries: list[dict] = []
    notifications: list[dict] = []
    for change, item in zip(changes, pending, strict=True):
        for uid, (feed_kind, role) in item.recipients.items():
            seq = next_position[uid]
            next_position[uid] += 1
            own = uid == actor_id
            entries.append(
                {
                    "user_id": uid,
                    "seq": seq,
                    "change_id": change.pk,
                    "event_id": change.event_id,
                    "kind": feed_kind,
                    "own": own,
                    "role": role,
                    "created_at": now,
                }
            )
            if not own:
                notifications.append(
                    {
                        "recipient_id": uid,
                        "event_id": change.event_id,
                        "change_id": change.pk,
                        "kind": item.kind,
                        "version": change.version,
                        "actor_id": actor_id,
                        "data": change.payload["data"],
                        "created_at": now,
                    }
                )
    _insert(FeedEntry, entries)
    notification_ids = _insert(Notification, notifications, key=("change_id", "recipient_id"))
    by_change = {change.pk: change for change in changes}
    per_change: dict[int, tuple[dict, dict[int, list]]] = {}
    for entry in entries:
        if not entry["own"]:
            change_id, uid = entry["change_id"], entry["user_id"]
            recipients = per_change.setdefault(change_id, (by_change[change_id].payload, {}))[1]
            recipients[uid] = [entry["seq"], entry["kind"], entry["role"], notification_ids[(change_id, uid)]]
    if per_change:
        transaction.on_commit(partial(live.publish, list(per_change.values())))


def _insert(model, rows: list[dict], *, key: tuple[str, ...] | None = None) -> dict[tuple, int]:
    """Insert `rows` (attribute → value) in one statement; with `key`, return {key values: primary key}.

    A change for an event shared with hundreds is hundreds of rows: on PostgreSQL they go in as one
    array per column (`INSERT ... SELECT FROM unnest(...)`), several times cheaper than the ORM
    building and quoting a VALUES tuple per object. Elsewhere, bulk_create.
    """
    if not rows:
        return {}
    if connection.vendor != "postgresql":
        objects = model.objects.bulk_create([model(**row) for row in rows])
        return {tuple(getattr(o, name) for name in key): o.pk for o in objects} if key else {}
    names = list(rows[0])
    by_attname = {f.attname: f for f in model._meta.concrete_fields}
    fields = [by_attname[name] for name in names]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    arrays = ", ".join(f"%s::{_array_type(f)}" for f in fields)
    values = [[_db_value(f, row[name]) for row in rows] for name, f in zip(names, fields, strict=True)]
    table = connection.ops.quote_name(model._meta.db_table)
    sql = f"INSERT INTO {table} ({columns}) SELECT * FROM unnest({arrays})"  # noqa: S608 (our identifiers)
    with connection.cursor() as cursor:
        if not key:
            cursor.execute(sql, values)
            return {}
        key_columns = ", ".join(connection.ops.quote_name(by_attname[name].column) for name in key)
        cursor.execute(f"{sql} RETURNING {connection.ops.quote_name(model._meta.pk.column)}, {key_columns}", values)
        return {tuple(found[1:]): found[0] for found in cursor.fetchall()}


def _array_type(field) -> str:
    base = field.target_field.db_type(connection) if field.is_relation else field.db_type(connection)
    return "jsonb[]" if base == "jsonb" else f"{base.split('(')[0]}[]"


def _db_value(field, value):
    if isinstance(field, JSONField) and value is not None:
        return Jsonb(value)
    return value
