"""History writes: the audit trail and rollback.

`audit_record` is called by every service that changes something, inside that service's transaction:
a change that is rolled back leaves no audit row. The request's IP, user agent and id come from
`common.request_context`, so services need no request argument.
"""

from __future__ import annotations

from typing import Any

from django.db import models, transaction

from common import request_context
from common.exceptions import Conflict

from .models import Action, AuditEntry


class EventDeleted(Conflict):
    slug = "event-deleted"
    title = "The event is deleted."
    default_detail = "The event is deleted; restore it first."


def _target_of(target: Any) -> tuple[str, str]:
    if target is None:
        return "", ""
    if isinstance(target, models.Model):
        return target._meta.model_name or "", str(target.pk)
    kind, key = target
    return kind, str(key)


def audit_record(*, actor, action: str, target: Any = None, data: dict | None = None) -> AuditEntry:
    """Append one entry to the audit trail. `target` is a model instance or a (type, id) pair.

    Joins the caller's transaction when there is one (so it disappears with a rolled-back change).
    """
    context = request_context.current()
    target_type, target_id = _target_of(target)
    user = actor if getattr(actor, "is_authenticated", False) else None
    return AuditEntry.objects.create(
        actor=user,
        actor_username=getattr(user, "username", "") or "",
        action=action,
        target_type=target_type,
        target_id=target_id,
        data=data or {},
        ip=context.ip,
        user_agent=context.user_agent[: AuditEntry._meta.get_field("user_agent").max_length],
        request_id=context.request_id,
    )


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
):
    """Give `event` a new version whose fields equal those of `version` (history is never rewritten).

    Goes through `event_update`, so locking, If-Match (412), conflicts (409) and notifications are the
    same as for an edit; a rollback to what the event already is makes no version. Raises EventDeleted
    (409) for a deleted event and NotFound (404) for a version that does not exist.
    """
    from rest_framework.exceptions import NotFound

    from events import services as event_services
    from events.merge import base_snapshot
    from events.models import CONTENT_FIELDS

    if event.deleted_at is not None:
        raise EventDeleted()
    row = base_snapshot(event.pk, version)
    if row is None:
        raise NotFound(f"The event has no version {version}.")
    return event_services.event_update(
        event=event,
        actor=actor,
        changes={field: getattr(row, field) for field in CONTENT_FIELDS},
        reason=reason,
        conflict_strategy=conflict_strategy,
        expected_version=expected_version,
        on_conflict=on_conflict,
        action=Action.ROLLED_BACK,
        audit_data={"rolled_back_to": version},
    )
