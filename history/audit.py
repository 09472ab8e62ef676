"""The audit trail: who did what, to what, from where.

`audit_record` is called by every service that changes something, inside that service's transaction:
a change that is rolled back leaves no audit row. The request's IP, user agent and id come from
`common.request_context`, so services need no request argument.
"""

from __future__ import annotations

from typing import Any

from django.db import models

from common import request_context

from .models import AuditEntry


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
