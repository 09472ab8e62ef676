"""Which query parameters and body members does an API operation take? Exactly those its OpenAPI schema declares.

Every view under /api/ checks its request against its own operation in the schema this process generates
(the one `/api/schema` serves): a query parameter the operation does not declare, or a body member its
request schema does not, is a 400 problem naming it (`errors: {name: [...]}`; a nested member by its path,
`operations.0.data.titel`), and nothing happens. A view declares what it takes once — its filterset,
its pagination class, `extend_schema(parameters=..., request=...)` — and that one declaration is both
the documentation and the check, so they cannot disagree. `format` is declared on every operation (it
picks the renderer; common/negotiation.py).

Bodies are checked where an operation declares a JSON body, through nested objects and lists as far as
the schema describes them (a free-form object, `{}`, takes anything). A write's query parameters (but
`format`) are also taken as top-level body members, as the API's description says (`scope`,
`conflict_strategy`, ...: "query parameter or body field"). A view whose body is a list of items that it
checks one by one, answering which item failed (a transaction's operations, with `failed_index`), sets
`checks_its_items = True` and calls `undeclared_members` on each item itself. A POST, PUT, PATCH or DELETE that
declares no body takes no members; a DELETE that takes one (`{base_version, change_reason}` of an event or an
occurrence) declares it like the others (common/schema.py).

Read-only members are accepted and ignored: a client may PUT back what it GET. An input serializer says
which representation its clients send back by inheriting `AcceptsRepresentation`; its request schema
then lists that representation's other members as `readOnly` (common/schema.py), and the check lets
them through without looking inside.

The check runs in `ThrottleRefusalsMixin.initial` (common/views.py), after authentication, permissions
and throttles, so a refused request is counted like any other and an anonymous one is still a 401.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Any, ClassVar

from django.urls import Resolver404, resolve
from drf_spectacular.settings import spectacular_settings
from rest_framework.exceptions import ValidationError

NOT_A_PARAMETER = "Not a query parameter of this endpoint."
NOT_A_MEMBER = "Not a member this endpoint takes."
_JSON_MEDIA = ("application/json", "application/msgpack", "application/x-msgpack")
_PLACEHOLDER = re.compile(r"\{[^}]+\}")


class AcceptsRepresentation:
    """An input serializer whose clients may send back what they read: the members of `representation` (an
    output serializer) that it does not take itself are accepted and ignored, and its request schema lists
    them as `readOnly`."""

    representation: ClassVar[type | None] = None


@dataclass(frozen=True)
class Operation:
    query: frozenset[str]
    body: dict | None  # the JSON request body's schema; None: the operation declares no body
    other_body: bool = False  # it declares a body of another type (an iCalendar file): no members to check


_operations: dict[tuple[Any, str], Operation] | None = None
_components: dict[str, dict] = {}
_lock = threading.Lock()


def operations() -> dict[tuple[Any, str], Operation]:
    """(view callback, method) → what the operation declares, from the schema (generated once per process)."""
    global _operations, _components
    if _operations is None:
        with _lock:
            if _operations is None:
                schema = spectacular_settings.DEFAULT_GENERATOR_CLASS().get_schema(request=None, public=True)
                _components = schema.get("components", {}).get("schemas", {})
                _operations = _index(schema)
    return _operations


def _index(schema: dict) -> dict[tuple[Any, str], Operation]:
    found = {}
    for path, item in schema["paths"].items():
        if not path.startswith("/api/"):
            continue
        try:
            callback = resolve(_PLACEHOLDER.sub("1", path)).func  # the view this path routes to
        except Resolver404:  # pragma: no cover - every schema path is routed
            continue
        for method, operation in item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            query = frozenset(p["name"] for p in operation.get("parameters", []) if p.get("in") == "query")
            content = operation.get("requestBody", {}).get("content", {})
            body = next((content[media]["schema"] for media in _JSON_MEDIA if media in content), None)
            found[callback, method.upper()] = Operation(query, body, other_body=body is None and bool(content))
    return found


def refuse_undeclared(request, view=None) -> None:
    """400 naming every query parameter and body member the request's operation does not declare."""
    if not request.path.startswith("/api/"):
        return
    match = getattr(request, "resolver_match", None)
    method = "GET" if request.method == "HEAD" else request.method
    operation = operations().get((match.func, method)) if match else None
    if operation is None:  # OPTIONS, and what the schema leaves out (its own views)
        return
    errors = {name: [NOT_A_PARAMETER] for name in request.query_params if name not in operation.query}
    if method in {"POST", "PUT", "PATCH", "DELETE"} and not operation.other_body and _has_members(request):
        options = operation.query - {"format"}
        if operation.body is None:
            unknown = [name for name in request.data if name not in options] if isinstance(request.data, dict) else []
        else:
            items = not getattr(view, "checks_its_items", False)
            unknown = [name for name in _undeclared(request.data, operation.body, "", items) if name not in options]
        errors.update({name: [NOT_A_MEMBER] for name in unknown})
    if errors:
        raise ValidationError(dict(sorted(errors.items())))


def _has_members(request) -> bool:
    media = (request.content_type or "").split(";")[0].strip().lower()
    return media in _JSON_MEDIA and bool(request.data) and isinstance(request.data, (dict, list))


def _resolve(schema: dict) -> dict:
    while "$ref" in schema:
        schema = _components.get(schema["$ref"].rsplit("/", 1)[-1], {})
    return schema


def _members(schema: dict, value: dict) -> dict | None:
    """The members an object schema declares for `value`; None when it takes any (free-form or open)."""
    schema = _resolve(schema)
    if schema.get("additionalProperties"):
        return None
    declared = dict(schema.get("properties", {}))
    for part in schema.get("allOf", []):
        more = _members(part, value)
        if more is None:
            return None
        declared.update(more)
    alternatives = schema.get("oneOf") or schema.get("anyOf")
    if alternatives:
        discriminator = schema.get("discriminator")
        chosen = discriminator and discriminator["mapping"].get(str(value.get(discriminator["propertyName"])))
        if discriminator and not chosen:
            return None  # an object of no known kind: the endpoint refuses it in its own words
        objects = [_resolve(alt) for alt in ([{"$ref": chosen}] if chosen else alternatives)]
        objects = [alt for alt in objects if alt.get("type", "object") == "object"]
        for alt in objects:
            more = _members(alt, value)
            if more is None:
                return None
            declared.update(more)
    elif not declared and not schema.get("allOf"):
        return None  # `{}` or a free-form object
    return declared


def undeclared_members(value: Any, component: str) -> list[str]:
    """The members of `value` (and of the objects in it) that the schema's `component` does not declare."""
    operations()  # the components are read with the operations
    return _undeclared(value, {"$ref": f"#/components/schemas/{component}"}, "")


def _undeclared(value: Any, schema: dict, prefix: str, items: bool = True) -> list[str]:
    schema = _resolve(schema)
    if isinstance(value, list):
        if not items or not schema.get("items"):
            return []
        return [name for i, item in enumerate(value) for name in _undeclared(item, schema["items"], f"{prefix}{i}.")]
    if not isinstance(value, dict):
        return []
    declared = _members(schema, value)
    if declared is None:
        return []
    names = []
    for key, member in value.items():
        if key not in declared:
            names.append(f"{prefix}{key}")
        elif not _resolve(declared[key]).get("readOnly") and not declared[key].get("readOnly"):
            names += _undeclared(member, declared[key], f"{prefix}{key}.", items)
    return names
