"""Every bound the OpenAPI schema documents for a query parameter, a request body member (maxLength, minimum,
maximum, maxItems, minItems; nested members too) or a request header is the one the server enforces: the value
at the bound is not refused for being out of range, and one step past it is a 400 naming it.

(The schema used to advertise `page_size` up to 2^63 - 1 on /api/audit while 100 was the limit.)
"""

from __future__ import annotations

import copy
from functools import cache

import pytest
from drf_spectacular.settings import spectacular_settings

from tests.factories import UserFactory, make_event

pytestmark = pytest.mark.django_db

# What an operation needs besides the parameter under test to be answered at all.
WINDOW = {"start": "2030-01-07T00:00:00Z", "end": "2030-01-08T00:00:00Z"}
REQUIRED = {"/api/freebusy": WINDOW, "/api/events/conflicts": WINDOW}
LENGTH_WORDS = ("character", "long", "short")


@cache
def bounded_parameters() -> list[tuple[str, str, dict]]:
    schema = spectacular_settings.DEFAULT_GENERATOR_CLASS().get_schema(request=None, public=True)
    found = []
    for path, item in schema["paths"].items():
        for parameter in item.get("get", {}).get("parameters", []):
            bounds = {k: v for k, v in parameter.get("schema", {}).items() if k in ("minimum", "maximum", "maxLength")}
            if parameter["in"] == "query" and bounds:
                found.append((path.rstrip("/"), parameter["name"], parameter["schema"]))
    return found


def test_the_schema_documents_bounds_to_check():
    names = {(path, name) for path, name, _ in bounded_parameters()}
    assert {("/api/audit", "page_size"), ("/api/events", "page_size"), ("/api/sync", "limit")} <= names


def cases():
    for path, name, schema in bounded_parameters():
        if "maximum" in schema:
            yield pytest.param(
                path, name, schema["maximum"], schema["maximum"] + 1, id=f"{path}?{name}<={schema['maximum']}"
            )
        if "minimum" in schema:
            yield pytest.param(
                path, name, schema["minimum"], schema["minimum"] - 1, id=f"{path}?{name}>={schema['minimum']}"
            )
        if "maxLength" in schema:
            n = schema["maxLength"]
            yield pytest.param(path, name, "a" * n, "a" * (n + 1), id=f"{path}?{name}:len<={n}")


def refused_for(response, name) -> list[str]:
    if response.status_code != 400:
        return []
    return [str(m) for m in response.json().get("errors", {}).get(name, [])]


@pytest.mark.parametrize("path, name, inside, outside", list(cases()))
def test_a_documented_bound_is_the_enforced_one(api, path, name, inside, outside):
    staff = UserFactory(is_staff=True)  # the audit trail answers staff only
    event = make_event(staff, recurrence={"rrule": "FREQ=DAILY;COUNT=3", "exdates": [], "rdates": []})
    client = api.as_user(staff)
    url = path.replace("{id}", str(event.pk))
    base = REQUIRED.get(path, {})

    at_bound = client.get(url, {**base, name: inside})
    past_bound = client.get(url, {**base, name: outside})

    messages = refused_for(at_bound, name)
    if isinstance(inside, int):
        assert not messages, (at_bound.status_code, messages)
    else:  # a string at its longest may be refused for what it says, never for its length
        assert not any(word in m for m in messages for word in LENGTH_WORDS), messages
    assert past_bound.status_code == 400, past_bound.content
    assert refused_for(past_bound, name), past_bound.json()


# --- request bodies and headers ------------------------------------------------------------------------

BODY_BOUNDS = ("minimum", "maximum", "maxLength", "maxItems", "minItems")
BOUND_WORDS = ("Ensure", "character", "long", "short", "no more than", "at least", "at most", "less than", "greater")
NEW_EVENT = {"title": "Bounds", "start_time": "2032-03-01T10:00:00Z", "end_time": "2032-03-01T11:00:00Z"}
# A body each write is answered at all with (besides the field under test); a list member's bound is tried in
# its first item, which the base gives.
BODY_BASES = {
    ("post", "/api/auth/app-passwords"): {"name": "Phone"},
    ("post", "/api/auth/login"): {"username": "nobody", "password": "wrong"},
    ("post", "/api/auth/logout"): {},
    ("post", "/api/auth/refresh"): {"refresh": "x"},
    ("post", "/api/auth/register"): {"username": "newbie", "email": "newbie@example.com", "password": "x-y-z-w-v-u"},
    ("post", "/api/events"): {**NEW_EVENT, "conflict_strategy": "allow"},
    ("put", "/api/events/{id}"): {"conflict_strategy": "allow"},
    ("patch", "/api/events/{id}"): {"conflict_strategy": "allow"},
    ("patch", "/api/events/{id}/occurrences/{original_start}"): {"conflict_strategy": "allow"},
    ("post", "/api/events/{id}/restore"): {},
    ("post", "/api/events/{id}/rollback/{version}"): {},
    ("post", "/api/events/{id}/share"): {"users": [{"role": "viewer"}]},
    ("post", "/api/events/batch"): {"events": [NEW_EVENT], "conflict_strategy": "allow"},
    ("post", "/api/feeds"): {"name": "Work"},
    ("post", "/api/events/{id}/history-links"): {},
    ("put", "/api/events/{id}/permissions/{user_id}"): {"role": "viewer"},
    ("patch", "/api/events/{id}/permissions/{user_id}"): {"role": "viewer"},
    ("delete", "/api/events/{id}"): {},
    ("delete", "/api/events/{id}/occurrences/{original_start}"): {},
}


def _resolve(schema: dict, components: dict) -> dict:
    while "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[-1]]
    return schema


@cache
def bounded_body_fields() -> list[tuple[str, str, tuple[str, ...], dict]]:
    """(method, path, member path, schema) of every bounded member of a JSON request body (lists: their first item)."""
    schema = spectacular_settings.DEFAULT_GENERATOR_CLASS().get_schema(request=None, public=True)
    components = schema["components"]["schemas"]
    found = []

    def walk(method, path, node, at):
        node = _resolve(node, components)
        for name, member in node.get("properties", {}).items():
            if member.get("readOnly"):
                continue
            resolved = _resolve(member, components)
            if any(key in resolved for key in BODY_BOUNDS):
                found.append((method, path, (*at, name), resolved))
            if resolved.get("type") == "array" and "properties" in _resolve(resolved.get("items", {}), components):
                walk(method, path, resolved["items"], (*at, name, 0))
            elif "properties" in resolved:
                walk(method, path, resolved, (*at, name))
            for alternative in resolved.get("oneOf", []):  # the object form of a recurrence pattern
                if "properties" in _resolve(alternative, components):
                    walk(method, path, alternative, (*at, name))

    for path, item in schema["paths"].items():
        for method, operation in item.items():
            content = operation.get("requestBody", {}).get("content", {}) if isinstance(operation, dict) else {}
            if path.startswith("/api/") and "application/json" in content:
                walk(method, path.rstrip("/"), content["application/json"]["schema"], ())
    return found


def _edge(schema: dict, bound: str):
    """The value at `bound` and the one past it."""
    if bound in ("maximum", "minimum"):
        step = 1 if bound == "maximum" else -1
        return schema[bound], schema[bound] + step
    if bound in ("maxItems", "minItems"):
        n = schema[bound]
        return [{}] * n, [{}] * (n + 1 if bound == "maxItems" else n - 1)
    n = schema["maxLength"]
    if schema.get("format") == "email":
        return "a" * (n - 12) + "@example.com", "a" * (n - 11) + "@example.com"
    return "a" * n, "a" * (n + 1)


def body_cases():
    for method, path, at, schema in bounded_body_fields():
        for bound in BODY_BOUNDS:
            if bound in schema and not (bound == "minItems" and schema[bound] == 0):
                label = f"{method.upper()} {path} {'.'.join(map(str, at))} {bound}={schema[bound]}"
                yield pytest.param(method, path, at, *_edge(schema, bound), id=label)


def _placed(base: dict, at: tuple, value) -> dict:
    body = copy.deepcopy(base)
    node = body
    for step in at[:-1]:
        node = node.setdefault(step, {}) if isinstance(step, str) else node[step]
    node[at[-1]] = value
    return body


def _named(errors, name: str) -> list[str]:
    """Every message under key `name`, at any depth of `errors`."""
    found = []
    if isinstance(errors, dict):
        for key, value in errors.items():
            if key == name or str(key).endswith(f".{name}"):
                found += [str(m) for m in (value if isinstance(value, list) else [value])]
            found += _named(value, name)
    elif isinstance(errors, list):
        for value in errors:
            found += _named(value, name)
    return found


def test_the_schema_documents_body_bounds_to_check():
    named = {(method, path, at[-1]) for method, path, at, _ in bounded_body_fields()}
    assert {
        ("post", "/api/events", "title"),
        ("post", "/api/events/batch", "events"),
        ("post", "/api/feeds", "name"),
    } <= named
    assert {(method, path) for method, path, _, _ in bounded_body_fields()} <= BODY_BASES.keys()


@pytest.mark.parametrize("method, path, at, inside, outside", list(body_cases()))
def test_a_documented_body_bound_is_the_enforced_one(api, method, path, at, inside, outside):
    staff = UserFactory(is_staff=True)
    event = make_event(staff, recurrence={"rrule": "FREQ=DAILY;COUNT=3", "exdates": [], "rdates": []})
    other = UserFactory()
    client = api.as_user(staff)
    url = (
        path.replace("{id}", str(event.pk))
        .replace("{original_start}", "2030-01-08T09:00:00Z")
        .replace("{version}", "1")
        .replace("{user_id}", str(other.pk))
    )
    base = BODY_BASES[method, path]
    # Named by the member, or by the field that holds it (a recurrence pattern's rrule: `recurrence_pattern`).
    names = [step for step in at if isinstance(step, str)]

    past_bound = getattr(client, method)(url, _placed(base, at, outside), format="json")  # first: it changes nothing
    at_bound = getattr(client, method)(url, _placed(base, at, inside), format="json")

    messages = _named(at_bound.json(), names[-1]) if at_bound.status_code == 400 else []
    assert not any(word in m for m in messages for word in BOUND_WORDS), messages  # refused, if at all, for else
    assert past_bound.status_code == 400, past_bound.content[:300]
    assert any(_named(past_bound.json(), name) for name in names), past_bound.json()


@cache
def header_bounds() -> dict[str, int]:
    """The maxLength the schema documents for each request header (the same wherever the header is taken)."""
    schema = spectacular_settings.DEFAULT_GENERATOR_CLASS().get_schema(request=None, public=True)
    found: dict[str, set[int]] = {}
    for item in schema["paths"].values():
        for operation in item.values():
            for parameter in operation.get("parameters", []) if isinstance(operation, dict) else []:
                if parameter["in"] == "header" and "maxLength" in parameter["schema"]:
                    found.setdefault(parameter["name"], set()).add(parameter["schema"]["maxLength"])
    assert all(len(bounds) == 1 for bounds in found.values()), found
    return {name: bounds.pop() for name, bounds in found.items()}


# Where each bounded header is tried, and the error member that names it when it is too long.
HEADER_CASES = {
    "Idempotency-Key": ("post", "/api/feeds", {"name": "Work"}, "Idempotency-Key"),
    "X-Change-Reason": ("patch", "/api/events/{id}", {"title": "Renamed"}, "change_reason"),
}


def test_every_documented_header_bound_is_tried():
    assert header_bounds().keys() == HEADER_CASES.keys()


@pytest.mark.parametrize("header", list(HEADER_CASES))
def test_a_documented_header_bound_is_the_enforced_one(client, event, header):
    method, path, body, named = HEADER_CASES[header]
    n = header_bounds()[header]
    url = path.replace("{id}", str(event.pk))
    meta = "HTTP_" + header.upper().replace("-", "_")

    past_bound = getattr(client, method)(url, body, format="json", **{meta: "k" * (n + 1)})
    at_bound = getattr(client, method)(url, body, format="json", **{meta: "k" * n})

    assert past_bound.status_code == 400 and named in past_bound.json()["errors"], past_bound.content[:300]
    assert at_bound.status_code in (200, 201), at_bound.content[:300]
