"""Every bound the OpenAPI schema documents for a query parameter is the one the server enforces: the value at
the bound is not refused for being out of range, and one step past it is a 400 naming the parameter.

(The schema used to advertise `page_size` up to 2^63 - 1 on /api/audit while 100 was the limit.)
"""

from __future__ import annotations

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
