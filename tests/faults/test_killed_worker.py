"""A server process killed in the middle of a batch or a transaction leaves nothing partial behind.

The test makes a worker stop inside its database transaction deterministically: it holds the row
lock of a user's feed counter (notifications_syncstream), which the request takes after it has
written its events, versions, permissions and audit rows. Once PostgreSQL shows the request's
backend waiting for that lock (and holding write locks on the event tables), the worker process
serving it is found by its database connection's port and killed with SIGKILL. Then: not one row of
the request is in the database, uvicorn's supervisor starts a new worker, and the same request sent
again (with the same Idempotency-Key) succeeds.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from tests.faults import cluster as pg
from tests.faults.cluster import running_server, sql, wait_for

TABLES = (
    "events_event",
    "events_historicalevent",
    "sharing_eventpermission",
    "sharing_historicaleventpermission",
    "history_auditentry",
    "notifications_change",
    "notifications_feedentry",
    "notifications_notification",
)
WAIT = 20.0  # seconds for any one step


@pytest.fixture(scope="module")
def served(private_cluster):
    _, url = private_cluster
    with running_server(url, workers=2) as (process, base):
        yield url, process, base


@pytest.fixture(scope="module")
def people(served):
    """alice owns an event shared with bob: both have a feed (a counter row to lock)."""
    _, _, base = served
    alice_id, alice = pg.register(base, "alice")
    bob_id, bob = pg.register(base, "bob")
    anchor = pg.call(base, "POST", "/api/events", token=alice, body=event_body("Anchor", 0))
    assert anchor.status == 201, anchor
    shared = pg.call(
        base,
        "POST",
        f"/api/events/{anchor.json()['id']}/share",
        token=alice,
        body={"users": [{"user_id": bob_id, "role": "viewer"}]},
    )
    assert shared.status == 200, shared
    return {"alice": (alice_id, alice), "bob": (bob_id, bob)}


def event_body(title: str, hours: int) -> dict:
    start = datetime(2032, 3, 1, 8, tzinfo=UTC) + timedelta(hours=hours)
    return {"title": title, "start_time": start.isoformat(), "end_time": (start + timedelta(minutes=30)).isoformat()}


def world(url: str) -> dict:
    """Row counts of every table a write touches, and each user's feed counter."""
    counts = {table: sql(url, f"SELECT count(*) FROM {table}")[0][0] for table in TABLES}
    counts["feed counters"] = sorted(sql(url, "SELECT user_id, seq FROM notifications_syncstream"))
    return counts


class InFlight(threading.Thread):
    """Sends one request in the background and keeps its answer."""

    def __init__(self, base: str, token: str, path: str, body, key: str) -> None:
        super().__init__(daemon=True)
        self.args = (base, "POST", path)
        self.kwargs = {"token": token, "body": body, "headers": {"Idempotency-Key": key}, "timeout": 60}
        self.answer: pg.Answer | None = None

    def run(self) -> None:
        self.answer = pg.call(*self.args, **self.kwargs)


def kill_in_flight(url: str, process, blocker_pid: int) -> dict:
    """Find the backend waiting behind the test's lock, check it has written, SIGKILL its worker process."""

    def waiting():
        rows = sql(
            url,
            "SELECT a.pid, a.client_port FROM pg_stat_activity a "
            "WHERE a.datname = current_database() AND a.wait_event_type = 'Lock' AND %s = ANY(pg_blocking_pids(a.pid))",
            (blocker_pid,),
        )
        return rows[0] if rows else None

    backend, client_port = wait_for(waiting, "the request to wait for the test's lock", within=WAIT)
    # It is inside its transaction and has written: it holds write locks on the tables it inserted into.
    written = {
        name
        for (name,) in sql(
            url,
            "SELECT c.relname FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
            "WHERE l.pid = %s AND l.mode = 'RowExclusiveLock' AND l.granted",
            (backend,),
        )
    }
    workers = pg.worker_pids(process.pid)
    worker = pg.process_with_local_port(client_port, workers)
    assert worker is not None, (client_port, workers)
    os.kill(worker, signal.SIGKILL)
    return {"backend": backend, "worker": worker, "workers": workers, "written": written}


def held_lock(url: str, user_id: int):
    """A transaction holding `user_id`'s feed counter row: every write to their feed waits for it."""
    connection = psycopg.connect(url)
    connection.execute("SELECT seq FROM notifications_syncstream WHERE user_id = %s FOR UPDATE", (user_id,))
    return connection


def check_recovered(url: str, process, killed: dict, before: dict) -> float:
    """Nothing of the killed request is in the database; a new worker replaced the killed one. Returns its delay."""
    started = time.monotonic()
    # The backend ends (rolling back) once it finds its client gone.
    wait_for(
        lambda: not sql(url, "SELECT 1 FROM pg_stat_activity WHERE pid = %s", (killed["backend"],)),
        "backend end",
        within=WAIT,
    )
    assert world(url) == before
    wait_for(
        lambda: len(now := pg.worker_pids(process.pid)) == 2 and killed["worker"] not in now,
        "a replacement worker",
        within=WAIT,
    )
    return time.monotonic() - started


def retry_until_served(thread: InFlight) -> pg.Answer:
    """The same request again, as a client would after losing its connection (the new worker may still be starting)."""
    return pg.call_until(lambda answer: answer.status != 0, WAIT, *thread.args, **thread.kwargs)


def send_and_kill(url, process, base, token, path, body, *, key: str, lock_user: int):
    """Send `body` to `path` while a lock on `lock_user`'s rows is held, so the request blocks inside its
    transaction; SIGKILL the worker serving it there; release the lock. The cut request and what was killed."""
    blocker = held_lock(url, lock_user)
    try:
        request = InFlight(base, token, path, body, key=key)
        request.start()
        killed = kill_in_flight(url, process, blocker.info.backend_pid)
    finally:
        blocker.rollback()
        blocker.close()
    request.join(WAIT)
    assert request.answer is not None and request.answer.status == 0, request.answer  # the connection was cut
    return request, killed


def test_a_worker_killed_in_the_middle_of_a_batch_leaves_nothing(served, people):
    url, process, base = served
    alice_id, alice = people["alice"]
    before = world(url)
    items = [event_body(f"Batch {i}", 10 + i) for i in range(50)]

    request, killed = send_and_kill(
        url, process, base, alice, "/api/events/batch", {"events": items}, key="killed-batch", lock_user=alice_id
    )
    assert {"events_event", "sharing_eventpermission", "history_auditentry"} <= killed["written"], killed

    recovered = check_recovered(url, process, killed, before)
    answer = retry_until_served(request)
    print(f"\n[batch] killed worker {killed['worker']} mid-batch; recovered in {recovered:.2f}s; retry: {answer}")
    assert answer.status == 201, answer
    assert answer.headers.get("Idempotent-Replayed") is None
    assert world(url)["events_event"] == before["events_event"] + 50
    replay = pg.call(*request.args, **request.kwargs)
    assert (replay.status, replay.headers.get("Idempotent-Replayed")) == (201, "true")


def test_a_worker_killed_in_the_middle_of_a_transaction_leaves_nothing(served, people):
    url, process, base = served
    _, alice = people["alice"]
    bob_id, _ = people["bob"]
    before = world(url)
    operations = [
        {"op": "create", "data": event_body("Txn first", 100)},
        {"op": "create", "data": event_body("Txn second", 101)},
        {"op": "share", "event_id": "$0.id", "users": [{"user_id": bob_id, "role": "editor"}]},
    ]

    # bob's feed counter: the share (third operation) waits for it, after both creates are written.
    request, killed = send_and_kill(
        url,
        process,
        base,
        alice,
        "/api/transactions",
        {"operations": operations},
        key="killed-transaction",
        lock_user=bob_id,
    )
    assert {"events_event", "sharing_eventpermission", "notifications_feedentry"} <= killed["written"], killed

    recovered = check_recovered(url, process, killed, before)
    answer = retry_until_served(request)
    print(f"\n[transaction] killed worker {killed['worker']}; recovered in {recovered:.2f}s; retry: {answer}")
    assert answer.status == 200, answer
    assert [result["status"] for result in answer.json()["results"]] == [201, 201, 200]
    assert world(url)["notifications_notification"] == before["notifications_notification"] + 1  # bob: shared
