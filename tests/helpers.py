"""What the tests share besides fixtures: the API client, the problem and "nothing changed" checks, and
a new version of an event through the real service. Fixtures live in the conftest modules, helpers here."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from functools import cache

from django.apps import apps
from django.conf import settings
from django.core import signals
from django.db import close_old_connections, connection, connections
from rest_framework.test import APIClient

from accounts.tokens import tokens_for
from events import services as event_services

PROBLEM_KEYS = ("type", "title", "status", "detail")


class Client(APIClient):
    def as_user(self, user):
        """Authenticate with a real access token, as a client would; `None` sends no credentials."""
        if user is None:
            self.credentials()
            return self
        self.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens_for(user)['access']}")
        return self


def assert_problem(response, status: int, slug: str | None = None) -> dict:
    """`response` is an RFC 9457 problem with this status (and type /problems/`slug`); returns its body."""
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert all(body.get(key) for key in PROBLEM_KEYS), body
    assert body["status"] == status
    if slug is not None:
        assert body["type"] == f"/problems/{slug}", body
    return body


@contextmanager
def one_request():
    """The request signals around the block, as a server sends them: `request_started` before, `request_finished`
    (an answer closed) after. Without closing the test's database connection, as Django's test client does."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        signals.request_started.send(sender=None)
        yield
        signals.request_finished.send(sender=None)
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


def http_scope(path: str, method: str = "GET", headers: tuple = (), query: bytes = b"") -> dict:
    """An ASGI HTTP request's scope, as the server gives it to the application (no body: it comes by `receive`)."""
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "root_path": "",
        "headers": [(b"host", b"testserver"), *headers],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }


def iso(moment: datetime) -> str:
    """An instant as the API writes one: RFC 3339 in UTC, with Z."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


# --- "nothing changed" ----------------------------------------------------------------------------------


@cache
def _state_query() -> tuple[tuple[str, ...], str]:
    """The tables of every installed app's models (many-to-many and history tables included, so a new
    model is covered without a change here), and one SELECT of all their rows as (table, row as text).

    None is left out. Not the sessions: a refused request must not sign anyone in either, and no test
    writes one around the request it measures. Not a cache table: the cache is Redis or process memory.
    """
    quote = connection.ops.quote_name
    tables, selects = [], []
    for model in apps.get_models(include_auto_created=True):
        meta = model._meta
        if meta.proxy or not meta.managed:  # a proxy's rows are its model's; unmanaged tables are not ours
            continue
        if connection.vendor == "postgresql":
            row = "t::text"  # the row's own text form
        else:  # SQLite: quote() spells each value as an SQL literal, exactly
            row = " || ',' || ".join(f"quote(t.{quote(field.column)})" for field in meta.local_concrete_fields)
        tables.append(meta.db_table)
        selects.append(f"SELECT '{meta.db_table}', {row} FROM {quote(meta.db_table)} t")
    return tuple(tables), " UNION ALL ".join(selects)


def database_state() -> dict[str, list[str]]:
    """Every row of every table, by table name: equal before and after a request means it changed nothing.

    One query (a test may take it around every request it sends), the rows compared as the database
    writes them out.
    """
    tables, query = _state_query()
    state: dict[str, list[str]] = {table: [] for table in tables}
    with connection.cursor() as cursor:
        cursor.execute(query)
        for table, row in cursor.fetchall():
            state[table].append(row)
    for rows in state.values():
        rows.sort()
    return state


def changed_tables(before: dict[str, list[str]], after: dict[str, list[str]]) -> set[str]:
    """The tables whose rows differ between two database_state()s: for a refusal that must leave a trace."""
    return {table for table in before.keys() | after.keys() if before.get(table) != after.get(table)}


# --- writes through the real services -------------------------------------------------------------------


def edit(event, actor, reason=None, **changes):
    """A new version of `event` through the real service (conflicts allowed); returns the fresh event."""
    updated = event_services.event_update(
        event=event, actor=actor, changes=changes, reason=reason, conflict_strategy="allow"
    ).event
    return updated


# --- threads, each with its own database connection -------------------------------------------------------


def run_in_threads(*targets, timeout: float = 120) -> None:
    """Run each target in a thread of its own and wait for all of them; the first exception a thread raised
    is raised here, so a failure inside a thread fails the test. Each thread closes its connection."""
    errors: list[BaseException] = []

    def body(target) -> None:
        try:
            target()
        except BaseException as exc:  # noqa: BLE001 — raised again in the test's thread below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=body, args=(target,)) for target in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    assert not any(thread.is_alive() for thread in threads), "a thread is stuck"
    if errors:
        raise errors[0]


def run_threads(count: int, target) -> None:
    """`target(index)` in `count` threads released together by a barrier (run_in_threads' rules)."""
    barrier = threading.Barrier(count)

    def released(index: int) -> None:
        barrier.wait(timeout=30)
        target(index)

    run_in_threads(*(lambda index=index: released(index) for index in range(count)))


def create_series(client, *, start: str, tz: str, rule, hours: float = 1, **fields) -> dict:
    """POST /api/events a series whose start and end are local wall-clock times (no offset) in `tz`; its answer."""
    begins = datetime.fromisoformat(start)
    response = client.post(
        "/api/events",
        {
            "title": fields.pop("title", "Series"),
            "start_time": begins.isoformat(),
            "end_time": (begins + timedelta(hours=hours)).isoformat(),
            "timezone": tz,
            "recurrence_pattern": rule,
            "conflict_strategy": "allow",
            **fields,
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    return response.json()


# --- the production settings, in a fresh process ---------------------------------------------------

ROOT = settings.BASE_DIR
# Every variable the service reads (.env.example lists them all): none leaks in from the shell running the tests.
ENV_EXAMPLE = ROOT / ".env.example"
OUR_VARIABLES = tuple(re.findall(r"^([A-Z][A-Z0-9_]*)=", ENV_EXAMPLE.read_text(), flags=re.MULTILINE))
CLEARED = (*OUR_VARIABLES, "DJANGO_SETTINGS_MODULE")


def production_environment(**env: str) -> dict[str, str]:
    """The process environment under the production settings, with only `env` set of ours."""
    environment = {key: value for key, value in os.environ.items() if key not in CLEARED}
    environment.update(DJANGO_SETTINGS_MODULE="config.settings.base", **env)
    return environment


def run_python(*args: str, **env: str) -> subprocess.CompletedProcess:
    """`python *args` in the project folder, under the production settings with only `env` set of ours."""
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=production_environment(**env),
        capture_output=True,
        text=True,
        timeout=120,
    )


def run_settings(code: str, **env: str) -> subprocess.CompletedProcess:
    """`code` after django.setup() under the production settings, with only `env` set of ours."""
    return run_python("-c", f"import django; django.setup(); {code}", **env)
