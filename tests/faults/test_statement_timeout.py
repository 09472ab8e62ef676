"""A statement that runs past DB_STATEMENT_TIMEOUT is cancelled by PostgreSQL, and its request answers 503
`/problems/unavailable` with Retry-After within the limit: not a 500, not a request (or the event loop a quick read
runs on) held for as long as the stall lasts. Nothing is written; once the stall is over the same requests succeed,
and a create retried with its Idempotency-Key runs once.

The stall is the one a deploy causes: a migration's ALTER TABLE holds the table's ACCESS EXCLUSIVE lock, and every
statement on the table waits for it. A private cluster (tests/faults/cluster.py), one uvicorn worker.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys

import psycopg
import pytest

from tests.faults import cluster as pg
from tests.faults.cluster import running_server

LIMIT = 1  # seconds: the workers' DB_STATEMENT_TIMEOUT


@pytest.fixture(scope="module")
def served(private_cluster):
    _, url = private_cluster
    with running_server(url, workers=1, DB_STATEMENT_TIMEOUT=str(LIMIT)) as (_, base):
        yield url, base


@contextlib.contextmanager
def locked(url: str, table: str):
    """`table` locked as an ALTER TABLE locks it, by another session, until the block ends."""
    with psycopg.connect(url) as connection:
        connection.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
        try:
            yield
        finally:
            connection.rollback()


def test_a_statement_past_the_time_limit_answers_503_at_the_limit_and_writes_nothing(served):
    url, base = served
    _, token = pg.register(base, "stalled")
    created = pg.call(
        base,
        "POST",
        "/api/events",
        token=token,
        body={"title": "Before", "start_time": "2031-03-01T09:00:00Z", "end_time": "2031-03-01T10:00:00Z"},
    )
    assert created.status == 201, created
    path = f"/api/events/{created.json()['id']}"
    keyed = {
        "body": {"title": "Keyed", "start_time": "2031-03-02T09:00:00Z", "end_time": "2031-03-02T10:00:00Z"},
        "headers": {"Idempotency-Key": "stalled-create-1"},
    }

    with locked(url, "events_event"):
        answers = {
            "read": pg.call(base, "GET", path, token=token),
            "list": pg.call(base, "GET", "/api/events?page_size=5", token=token),
            "write": pg.call(base, "PATCH", path, token=token, body={"title": "Never"}),
            "create with a key": pg.call(base, "POST", "/api/events", token=token, **keyed),
        }

    for name, answer in answers.items():
        assert answer.status == 503, (name, answer)
        assert answer.headers["Content-Type"] == "application/problem+json"
        assert int(answer.headers["Retry-After"]) >= 1
        problem = answer.json()
        assert problem["type"] == "/problems/unavailable" and "time limit" in problem["detail"], problem
        assert LIMIT * 0.9 <= answer.took < LIMIT + 3, (name, answer.took)  # cancelled at the limit, not later

    after = pg.call(base, "GET", path, token=token)
    assert after.status == 200, after
    assert (after.json()["title"], after.json()["version"]) == ("Before", created.json()["version"])
    assert pg.call(base, "PATCH", path, token=token, body={"title": "After"}).status == 200
    # The 503 was not kept for the key: its retry runs (once), and a second retry replays that answer.
    retried = pg.call(base, "POST", "/api/events", token=token, **keyed)
    replayed = pg.call(base, "POST", "/api/events", token=token, **keyed)
    assert (retried.status, replayed.status) == (201, 201), (retried, replayed)
    assert replayed.json()["id"] == retried.json()["id"]
    assert pg.sql(url, "SELECT count(*) FROM events_event WHERE title = 'Keyed'") == [(1,)]


def test_the_limit_is_each_connections_own_and_zero_lifts_it(private_cluster):
    """What the server's connections run with: the limit, unless DB_STATEMENT_TIMEOUT=0 (a migration)."""
    _, url = private_cluster
    show = (
        "import django; django.setup(); from django.db import connection; cursor = connection.cursor(); "
        "cursor.execute('SHOW statement_timeout'); print(cursor.fetchone()[0])"
    )
    for setting, expected in (("7", "7s"), ("0", "0")):
        environment = pg.server_environment(url, None, DB_STATEMENT_TIMEOUT=setting)
        result = subprocess.run(
            [sys.executable, "-c", show], cwd=pg.ROOT, env=environment, capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip().splitlines()[-1] == expected, result.stdout
