"""`POST /api/transactions`: several writes in one database transaction, all or nothing.

Each operation runs exactly as its single endpoint would — the same selectors (unseen → 404), role
checks (→ 403), input serializers and services — in order, inside one `transaction.atomic`. The
first one that fails rolls everything back and is reported with its index. Notifications, sync
entries and cache invalidations are queued by the services with `transaction.on_commit`, so they
go out only when the whole transaction has committed, and never for one that failed.

This is API-layer code, like a view run once per operation: it reads the input with the endpoints' own
serializers and checks their roles; the writes themselves are the apps' services.

Operations:

| op | fields | result (status) |
|---|---|---|
| create | `data`: the body of `POST /api/events` | the event (201) |
| update | `event_id`, `data`: the body of `PATCH /api/events/{id}` (base_version, on_conflict...) | the event (200) |
| delete | `event_id`, optional `base_version`, `change_reason` | null (204) |
| share | `event_id`, `users`: as `POST /api/events/{id}/share` | `{results: [permissions]}` (200) |
| unshare | `event_id`, `user_id` | null (204) |
| rollback | `event_id`, `version`, the body of `POST /api/events/{id}/rollback/{v}` | the event (200) |

References: `event_id`, `user_id`, `version` and `users[].user_id` may be `"$N.path"`, the value at
`path` (dot-separated keys) in the result of the earlier operation N, e.g. `"$0.id"` for the id of
the event operation 0 created. Only these id fields are read as references, so text such as a
title of "$5.00" is never touched.
"""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.http import Http404
from rest_framework import exceptions

from common.declared_input import NOT_A_MEMBER, undeclared_members
from common.exceptions import DomainError, as_api_exception, problem_of
from events import selectors, services
from events.rollback import event_rollback
from events.serializers import DeleteInputSerializer, EventInputSerializer, EventWriteResultSerializer
from history import selectors as history_selectors
from history.audit import audit_record
from history.serializers import RollbackInputSerializer
from sharing import services as sharing_services
from sharing.permissions import require_role
from sharing.roles import Role
from sharing.selectors import permissions_for_event
from sharing.serializers import PermissionSerializer, ShareInputSerializer

MAX_OPERATIONS = 100
_REFERENCE = re.compile(r"^\$(\d{1,3})\.([A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*)$")
_REFERENCE_FIELDS = ("event_id", "user_id", "version")
# An operation's schema (transactions/views.py, `TransactionOperation` as a request body): the members it takes.
OPERATION_COMPONENT = "TransactionOperationRequest"


class OperationFailed(DomainError):
    """Operation `index` failed with `error`: its problem, plus `failed_index` and `failed_op`; nothing was changed."""

    def __init__(self, index: int, op: str, error: Exception) -> None:
        problem = as_api_exception(error)
        self.status_code = problem.status_code
        self.slug, self.title, detail, extra = problem_of(problem)
        super().__init__(
            f"Operation {index} ({op}) failed: {detail} Nothing was changed.",
            failed_index=index,
            failed_op=op,
            **extra,
        )


_FAILURES = (exceptions.APIException, Http404, DjangoPermissionDenied, DjangoValidationError)


@transaction.atomic
def transaction_execute(*, actor, operations: list[dict], reason: str | None = None) -> list[dict]:
    """Run `operations` in order, all or nothing; `[{op, status, result}]`. Raises OperationFailed (4xx)."""
    results: list[dict] = []
    for index, operation in enumerate(operations):
        op = operation.get("op") if isinstance(operation, dict) else None
        try:
            if not isinstance(op, str) or op not in _EXECUTORS:
                raise exceptions.ValidationError({"op": [f"Must be one of {', '.join(OPS)}."]})
            if unknown := undeclared_members(operation, OPERATION_COMPONENT):  # as its own endpoint would refuse
                raise exceptions.ValidationError({name: [NOT_A_MEMBER] for name in unknown})
            resolved = _resolve_references(operation, results)
            status, result = _EXECUTORS[op](actor=actor, operation=resolved, reason=reason)
        except _FAILURES as error:
            raise OperationFailed(index, str(op), error) from error
        results.append({"op": op, "status": status, "result": result})
    # Each operation audits itself too; this row ties them to the one call that ran them together.
    audit_record(actor=actor, action="transaction.executed", data={"operations": [r["op"] for r in results]})
    return results


def _resolve_references(operation: dict, results: list[dict]) -> dict:
    resolved = dict(operation)
    for name in _REFERENCE_FIELDS:
        if name in resolved:
            resolved[name] = _dereference(resolved[name], results, name)
    users = resolved.get("users")
    if isinstance(users, list):
        resolved["users"] = [
            {**user, "user_id": _dereference(user["user_id"], results, "users")}
            if isinstance(user, dict) and "user_id" in user
            else user
            for user in users
        ]
    return resolved


def _dereference(value: Any, results: list[dict], field: str) -> Any:
    if not isinstance(value, str) or not value.startswith("$"):
        return value
    match = _REFERENCE.match(value)
    if match is None:
        raise exceptions.ValidationError({field: [f"{value!r} is not a reference like '$0.id'."]})
    index, path = int(match.group(1)), match.group(2)
    if index >= len(results):
        raise exceptions.ValidationError({field: [f"{value!r} refers to operation {index}, which has not run yet."]})
    found: Any = results[index]["result"]
    for key in path.split("."):
        if isinstance(found, list) and key.isdigit() and int(key) < len(found):
            found = found[int(key)]
        elif isinstance(found, dict) and key in found:
            found = found[key]
        else:
            raise exceptions.ValidationError({field: [f"The result of operation {index} has no {path!r}."]})
    return found


def _valid(serializer_class, data, **kwargs) -> dict:
    serializer = serializer_class(data=data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _event_answer(actor, written: services.EventWritten) -> dict:
    """The event as this operation left it (later operations of the transaction may change it again)."""
    event = selectors.event_as_written(written.event, user=actor)
    event.conflicts = written.conflicts
    event.merged = written.merged
    return EventWriteResultSerializer(event).data


def _data(operation: dict) -> Any:
    data = operation.get("data")
    if not isinstance(data, dict):
        raise exceptions.ValidationError({"data": ["An object with the event's fields is required."]})
    return data


def _reason_of(valid: dict, reason: str | None) -> str | None:
    return valid.get("change_reason") or reason or None


def _create(*, actor, operation: dict, reason: str | None) -> tuple[int, dict]:
    valid = _valid(EventInputSerializer, _data(operation))
    written = services.event_create(
        actor=actor,
        changes=valid["changes"],
        reason=_reason_of(valid, reason),
        conflict_strategy=valid.get("conflict_strategy", "reject"),
    )
    return 201, _event_answer(actor, written)


def _update(*, actor, operation: dict, reason: str | None) -> tuple[int, dict]:
    event = selectors.event_get(user=actor, event_id=operation.get("event_id"), detail=False)
    require_role(event, Role.EDITOR)
    valid = _valid(EventInputSerializer, _data(operation), instance=event, partial=True)
    written = services.event_update(
        event=event,
        actor=actor,
        changes=valid["changes"],
        reason=_reason_of(valid, reason),
        conflict_strategy=valid.get("conflict_strategy", "reject"),
        expected_version=valid.get("base_version"),
        on_conflict=valid.get("on_conflict", "reject"),
    )
    return 200, _event_answer(actor, written)


def _delete(*, actor, operation: dict, reason: str | None) -> tuple[int, None]:
    event = selectors.event_get(user=actor, event_id=operation.get("event_id"), detail=False)
    require_role(event, Role.OWNER)
    valid = _valid(DeleteInputSerializer, operation)
    services.event_delete(
        event=event, actor=actor, reason=_reason_of(valid, reason), expected_version=valid.get("base_version")
    )
    return 204, None


def _share(*, actor, operation: dict, reason: str | None) -> tuple[int, dict]:
    event = selectors.event_get(user=actor, event_id=operation.get("event_id"), detail=False)
    require_role(event, Role.OWNER)
    valid = _valid(ShareInputSerializer, operation)
    sharing_services.event_share(event=event, actor=actor, targets=valid["users"])
    return 200, {"results": PermissionSerializer(permissions_for_event(event=event), many=True).data}


def _unshare(*, actor, operation: dict, reason: str | None) -> tuple[int, None]:
    event = selectors.event_get(user=actor, event_id=operation.get("event_id"), detail=False)
    if "user_id" not in operation:
        raise exceptions.ValidationError({"user_id": ["This field is required."]})
    target = selectors.parse_id(operation["user_id"])
    if target != actor.pk:  # leaving an event needs no special role, as on the single endpoint
        require_role(event, Role.OWNER)
    sharing_services.permission_revoke(event=event, actor=actor, user_id=target)
    return 204, None


def _rollback(*, actor, operation: dict, reason: str | None) -> tuple[int, dict]:
    event = history_selectors.event_for_history(user=actor, event_id=operation.get("event_id"))
    require_role(event, Role.EDITOR)
    valid = _valid(RollbackInputSerializer, operation)
    if "version" not in operation:
        raise exceptions.ValidationError({"version": ["This field is required."]})
    target = history_selectors.version_get(event=event, version=operation["version"])
    written = event_rollback(
        event=event,
        actor=actor,
        version=target.version,
        reason=_reason_of(valid, reason),
        conflict_strategy=valid.get("conflict_strategy", "reject"),
        expected_version=valid.get("base_version"),
        on_conflict=valid.get("on_conflict", "reject"),
    )
    return 200, _event_answer(actor, written)


_EXECUTORS = {
    "create": _create,
    "update": _update,
    "delete": _delete,
    "share": _share,
    "unshare": _unshare,
    "rollback": _rollback,
}
OPS = list(_EXECUTORS)
