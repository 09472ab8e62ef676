"""The network between a worker and PostgreSQL stops carrying packets (a partition, a database host frozen or gone):
the request answers 503 `/problems/unavailable` within DB_NETWORK_TIMEOUT instead of about two hours (a read) or 15
minutes (a send) as the kernel's defaults would, and PostgreSQL gives up the worker's session as quickly once the
session waits on the worker, so a transaction left open releases its locks. Once the network is back the same
worker serves again.

Neither is the statement time limit's doing: it is a minute here, and it is enforced by PostgreSQL, whose answer
could not cross the cut anyway. A cluster of this module's own listens on the namespace's database address
(tests/faults/partition.py); one uvicorn worker runs in the namespace, without Redis (out of its reach there).
"""

from __future__ import annotations

import threading
import time

import psycopg
import pytest

from tests.faults import cluster as pg
from tests.faults import partition
from tests.faults.cluster import running_server, sql, wait_for

NETWORK_TIMEOUT = 2  # seconds: the worker's DB_NETWORK_TIMEOUT
POOL_TIMEOUT = 2  # seconds: its DB_POOL_TIMEOUT, the longest a request waits for a connection
# Seconds no answer takes, the cut's first or a later one: TCP notices at its first retransmission or probe past
# the timeout (retransmissions back off: 0.2, 0.6, 1.4, 3.0 s ...), then the pool's wait for a new connection.
BOUND = 2 * NETWORK_TIMEOUT + POOL_TIMEOUT + 4
RECOVERY = 15  # seconds after the network is back: requests succeed again
DATABASE = "calendar_partition"


@pytest.fixture(scope="module")
def served(cluster_binaries):
    """(the network, the cluster's URL from the test's side, the server's base URL)."""
    with (
        partition.partitionable() as network,
        pg.migrated_cluster(cluster_binaries, DATABASE, also_on=network.database) as (instance, url),
    ):
        environment = {
            "DB_NETWORK_TIMEOUT": str(NETWORK_TIMEOUT),
            "DB_POOL_TIMEOUT": str(POOL_TIMEOUT),
            "DB_STATEMENT_TIMEOUT": "60",
            "ALLOWED_HOSTS": network.server,
        }
        server_url = instance.url(DATABASE, host=network.database)
        server = running_server(
            server_url, workers=1, host=network.server, wrapper=network.wrapper, redis=False, **environment
        )
        with server as (_, base):
            yield network, url, base


@pytest.fixture
def healed(served):
    network, url, base = served
    yield network, url, base
    network.heal()


def _event(base: str, token: str, title: str) -> dict:
    body = {"title": title, "start_time": "2031-05-01T09:00:00Z", "end_time": "2031-05-01T10:00:00Z"}
    created = pg.call(base, "POST", "/api/events", token=token, body=body)
    assert created.status == 201, created
    return created.json()


def _assert_unavailable(answer: pg.Answer, within: float, what: str = "") -> None:
    assert answer.status == 503, (what, answer)
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert answer.json()["type"] == "/problems/unavailable", (what, answer)
    assert int(answer.headers["Retry-After"]) >= 1
    assert answer.took < within, (what, answer)


def _serves_again(base: str, path: str, token: str) -> pg.Answer:
    return pg.call_until(
        lambda answer: answer.status == 200, RECOVERY, base, "GET", path, token=token, timeout=BOUND + 5
    )


def test_requests_across_a_cut_network_answer_503_within_the_network_timeout_and_succeed_once_it_is_back(healed):
    network, _, base = healed
    _, token = pg.register(base, "partitioned")
    event = _event(base, token, "Before the cut")
    path = f"/api/events/{event['id']}"

    network.cut()
    answers = {
        "read": pg.call(base, "GET", path, token=token, timeout=BOUND + 15),
        "list": pg.call(base, "GET", "/api/events?page_size=5", token=token, timeout=BOUND + 15),
        "write": pg.call(base, "PATCH", path, token=token, body={"title": "Never"}, timeout=BOUND + 15),
    }
    for name, answer in answers.items():
        _assert_unavailable(answer, within=BOUND, what=name)

    network.heal()
    after = _serves_again(base, path, token)
    assert after.status == 200, after
    assert (after.json()["title"], after.json()["version"]) == ("Before the cut", event["version"])
    assert pg.call(base, "PATCH", path, token=token, body={"title": "After"}).status == 200


def test_a_write_waiting_on_a_lock_when_the_network_is_cut_is_given_up_at_both_ends(healed):
    """The write's statement is in PostgreSQL's hands (waiting on a migration's lock) when the cut comes, and
    acknowledged: nothing of the worker's is in flight, only the worker's keepalive probes can tell. Its request
    answers 503 within the network timeout. PostgreSQL's session runs its statement until the lock is gone (a
    running statement does not read its connection); then its answer cannot get through, and it ends the session
    within the network timeout, so the row lock its transaction took is not held for hours; the write is not
    applied."""
    network, url, base = healed
    _, token = pg.register(base, "stranded")
    event = _event(base, token, "Before the lock")
    path = f"/api/events/{event['id']}"
    answers = []

    with psycopg.connect(url) as lock:
        lock.execute("LOCK TABLE events_event IN ACCESS EXCLUSIVE MODE")
        write = threading.Thread(
            target=lambda: answers.append(
                pg.call(base, "PATCH", path, token=token, body={"title": "Stranded"}, timeout=BOUND + 15)
            )
        )
        write.start()
        wait_for(lambda: _sessions(url, network.server_to_database, waiting_on_a_lock=True), "the write", within=5)
        time.sleep(0.5)  # the query acknowledged (a delayed ACK takes up to 200 ms): else TCP_USER_TIMEOUT tells
        network.cut()
        cut_at = time.monotonic()
        write.join(BOUND + 15)
        (answer,) = answers
        _assert_unavailable(answer, within=BOUND)
        assert time.monotonic() - cut_at < BOUND
        lock.rollback()  # the lock is gone: the stranded statement runs, and its answer cannot reach the worker

    # PostgreSQL gives the session up: its transaction is rolled back and its row lock released.
    wait_for(lambda: not _sessions(url, network.server_to_database), "the sessions' end", within=NETWORK_TIMEOUT + 6)
    network.heal()
    after = _serves_again(base, path, token)
    assert after.status == 200, after
    assert (after.json()["title"], after.json()["version"]) == ("Before the lock", event["version"])
    changed = pg.call(base, "PATCH", path, token=token, body={"title": "After"}, timeout=BOUND + 15)
    assert changed.status == 200 and changed.took < 5, changed  # no orphaned row lock in the way


def _sessions(url: str, client_address: str, *, waiting_on_a_lock: bool = False) -> int:
    """Sessions PostgreSQL still holds for the server's database address (only those waiting on a lock)."""
    query = "SELECT count(*) FROM pg_stat_activity WHERE client_addr = %s"
    if waiting_on_a_lock:
        query += " AND wait_event_type = 'Lock'"
    return sql(url, query, (client_address,))[0][0]
