"""Sharing writes: grant, change and revoke roles, always leaving an event with an owner."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models.functions import Lower
from rest_framework.exceptions import NotFound, ValidationError
from simple_history.utils import bulk_create_with_history

from common.exceptions import LastOwner
from history.audit import audit_record
from notifications.feed import event_changed
from notifications.models import ChangeKind

from .models import EventPermission
from .roles import Role

User = get_user_model()


def _users_by_reference(targets: list[dict]) -> list[tuple[User, str]]:
    """Resolve [{user_id|username|email, role}] in one query per kind; unknown users → 400 naming them."""
    ids = {t["user_id"] for t in targets if "user_id" in t}
    names = {t["username"].lower() for t in targets if "username" in t}
    emails = {t["email"].lower() for t in targets if "email" in t}
    by_id = {u.pk: u for u in User.objects.filter(pk__in=ids, is_active=True)} if ids else {}
    by_name = (
        {u.username.lower(): u for u in User.objects.alias(key=Lower("username")).filter(key__in=names, is_active=True)}
        if names
        else {}
    )
    by_email = (
        {u.email.lower(): u for u in User.objects.alias(key=Lower("email")).filter(key__in=emails, is_active=True)}
        if emails
        else {}
    )
    resolved, errors = [], {}
    for index, target in enumerate(targets):
        user = (
            by_id.get(target.get("user_id"))
            or by_name.get(target.get("username", "").lower())
            or by_email.get(target.get("email", "").lower())
        )
        if user is None:
            errors[str(index)] = ["No such user."]
        else:
            resolved.append((user, target["role"]))
    if errors:
        raise ValidationError({"users": errors})
    return resolved


def _lock_permissions(event) -> list[EventPermission]:
    """The event's permissions, read after taking the event's row lock.

    Locking the permission rows alone is not enough: a concurrent share inserts a row this transaction's
    snapshot cannot see, and both would insert the same user. Every permission change takes the event row
    first (as every event write does), so they run one after another and each reads what the last committed.
    """
    if not list(type(event).objects.select_for_update().filter(pk=event.pk).values("pk")):
        raise NotFound("No such event.")
    return list(EventPermission.objects.filter(event=event).order_by("id"))


# --- the permissions of a new event: part of the event's own write (its services audit and notify) ------


def permission_create_owner(*, event, actor: User) -> EventPermission:
    """Make `actor` the owner of the event they just created (with a history row)."""
    permission = EventPermission(event=event, user=actor, role=Role.OWNER, granted_by=actor)
    permission._history_user = actor
    permission.save()
    return permission


def permissions_create_owner_bulk(*, events: list, actor: User, at) -> None:
    """Make `actor` the owner of each of the events they just created in bulk, granted at `at`."""
    permissions = [
        EventPermission(event=event, user=actor, role=Role.OWNER, granted_by=actor, granted_at=at) for event in events
    ]
    bulk_create_with_history(permissions, EventPermission, batch_size=250, default_user=actor, default_date=at)


def permissions_copy(*, source, target, actor: User, at) -> None:
    """Give the new event `target` the roles held on `source` (a series split in two), granted at `at`.

    Bulk rows send no history signal: the caller invalidates what the holders have cached.
    """
    permissions = [
        EventPermission(event=target, user_id=p.user_id, role=p.role, granted_by_id=p.granted_by_id, granted_at=at)
        for p in EventPermission.objects.filter(event=source).order_by("granted_at", "id")
    ]
    bulk_create_with_history(permissions, EventPermission, default_user=actor, default_date=at)


@transaction.atomic
def event_share(*, event, actor: User, targets: list[dict]) -> list[EventPermission]:
    """Grant each target its role (changing an existing one). Raises 400 for unknown users, 409 for the last owner."""
    resolved = _users_by_reference(targets)
    current = {p.user_id: p for p in _lock_permissions(event)}
    before = set(current)
    wanted: dict[int, tuple[User, str]] = {user.pk: (user, role) for user, role in resolved}  # last one wins
    changed = []
    for user_id, (user, role) in wanted.items():
        permission = current.get(user_id)
        if permission is None:
            permission = EventPermission(event=event, user=user, role=role, granted_by=actor)
            permission._history_user = actor
            permission.save()
            changed.append(permission)
            audit_record(actor=actor, action="permission.granted", target=event, data={"user": user.pk, "role": role})
        elif permission.role != role:
            old_role = permission.role
            permission.role = role
            permission.granted_by = actor
            permission._history_user = actor
            permission.save()
            changed.append(permission)
            audit_record(
                actor=actor,
                action="permission.changed",
                target=event,
                data={"user": user.pk, "role": role, "old_role": old_role},
            )
        current[user_id] = permission
    _ensure_owner(event, current.values())
    if changed:
        event_changed(
            event=event,
            actor=actor,
            kind=ChangeKind.SHARED,
            data={"users": [{"id": p.user.pk, "username": p.user.username, "role": p.role} for p in changed]},
            granted_user_ids=[p.user_id for p in changed if p.user_id not in before],
        )
    return changed


@transaction.atomic
def permission_set_role(*, event, actor: User, user_id: int, role: str) -> EventPermission:
    """Change one collaborator's role. 404 if they have none; 409 if it would leave no owner."""
    current = {p.user_id: p for p in _lock_permissions(event)}
    permission = current.get(user_id)
    if permission is None:
        raise NotFound("This user has no role on the event.")
    if permission.role != role:
        old_role = permission.role
        permission.role = role
        permission.granted_by = actor
        _ensure_owner(event, current.values())
        permission._history_user = actor
        permission.save()
        audit_record(
            actor=actor,
            action="permission.changed",
            target=event,
            data={"user": user_id, "role": role, "old_role": old_role},
        )
        event_changed(
            event=event,
            actor=actor,
            kind=ChangeKind.PERMISSION_CHANGED,
            data={"user": {"id": user_id, "username": permission.user.username}, "role": role, "old_role": old_role},
        )
    return permission


@transaction.atomic
def permission_revoke(*, event, actor: User, user_id: int) -> None:
    """Remove one collaborator. 404 if they have no role; 409 if they are the last owner."""
    current = {p.user_id: p for p in _lock_permissions(event)}
    permission = current.pop(user_id, None)
    if permission is None:
        raise NotFound("This user has no role on the event.")
    _ensure_owner(event, current.values())
    permission._history_user = actor
    permission.delete()
    audit_record(
        actor=actor, action="permission.revoked", target=event, data={"user": user_id, "role": permission.role}
    )
    event_changed(
        event=event,
        actor=actor,
        kind=ChangeKind.PERMISSION_REMOVED,
        data={"user": {"id": user_id, "username": permission.user.username}},
        revoked_users=[permission.user],
    )


def _ensure_owner(event, permissions) -> None:
    owners = [p for p in permissions if p.role == Role.OWNER]
    if not owners:
        raise LastOwner("An event must keep at least one owner; make someone else owner first.")
    if event.owner_id not in {p.user_id for p in owners}:
        # `owner` names the event's primary owner; when they step down the longest-standing owner takes over.
        event.owner_id = min(owners, key=lambda p: (p.granted_at, p.pk)).user_id
        type(event).objects.filter(pk=event.pk).update(owner_id=event.owner_id)
