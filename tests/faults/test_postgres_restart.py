"""PostgreSQL restarted under load: while it is down every request answers quickly with a 503
problem (`/problems/unavailable`, Retry-After), never a 500 or a hang; once it is back every request
succeeds again, from the same worker processes (no restart).

A private cluster (tests/faults/cluster.py) and two uvicorn workers; four client threads read and
write throughout. The cluster is stopped in "fast" mode (sessions terminated, clean shutdown) and in
"immediate" mode (a crash: recovery on start), kept down a few seconds, and started again.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from tests.faults import cluster as pg
from tests.faults.cluster import running_server, sql

POOL_TIMEOUT = 1  # DB_POOL_TIMEOUT of the workers: the longest a request waits for a connection
ANSWER_BOUND = POOL_TIMEOUT + 3.0  # seconds: no answer may take longer, up or down
DOWN_SECONDS = 4.0
AFTER_SECONDS = 5.0
RECOVERY_BOUND = 3.0  # seconds after the cluster accepts connections again: every request succeeds
THREADS = 4


@pytest.fixture(scope="module")
def served(private_cluster):
    instance, url = private_cluster
    with running_server(url, workers=2, DB_POOL_TIMEOUT=str(POOL_TIMEOUT), DB_POOL_MIN_SIZE="2") as (process, base):
        yield instance, url, process, base


class Load:
    """Client threads sending a mix of reads and writes until stopped; every answer is kept."""

    def __init__(self, base: str, token: str, event_id: int) -> None:
        self.base, self.token, self.event_id = base, token, event_id
        self.answers: list[tuple[str, pg.Answer]] = []
        self.created: dict[str, pg.Answer] = {}  # title → the answer to the create that sent it
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.counter = itertools.count()
        self.threads = [threading.Thread(target=self.run, args=(i,), daemon=True) for i in range(THREADS)]

    def request(self, index: int) -> tuple[str, pg.Answer]:
        n = next(self.counter)
        kind = ("list", "detail", "create", "update")[(index + n) % 4]
        if kind == "list":
            return kind, pg.call(self.base, "GET", "/api/events", token=self.token, timeout=20)
        if kind == "detail":
            return kind, pg.call(self.base, "GET", f"/api/events/{self.event_id}", token=self.token, timeout=20)
        if kind == "create":
            start = datetime(2031, 1, 1, tzinfo=UTC) + timedelta(hours=n)
            body = {
                "title": f"Load {n}",
                "start_time": start.isoformat(),
                "end_time": (start + timedelta(minutes=30)).isoformat(),
                "conflict_strategy": "allow",
            }
            answer = pg.call(self.base, "POST", "/api/events", token=self.token, body=body, timeout=20)
            self.created[body["title"]] = answer
            return kind, answer
        path, body = f"/api/events/{self.event_id}", {"title": f"Updated {n}"}
        return kind, pg.call(self.base, "PATCH", path, token=self.token, body=body, timeout=20)

    def run(self, index: int) -> None:
        while not self.stopping.is_set():
            found = self.request(index)
            with self.lock:
                self.answers.append(found)

    def __enter__(self) -> Load:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=30)


def recovery_time(answers: list[pg.Answer], up: float) -> float:
    """Seconds after `up` from which every request (by start time) succeeded."""
    failed_after = [a.started for a in answers if a.started >= up and not 200 <= a.status < 300]
    return max(failed_after) - up if failed_after else 0.0


@pytest.mark.parametrize("mode", ["fast", "immediate"])
def test_requests_fail_cleanly_while_postgres_restarts_and_recover_without_a_worker_restart(served, mode):
    instance, url, process, base = served
    _, token = pg.register(base, f"load_{mode}")
    created = pg.call(
        base,
        "POST",
        "/api/events",
        token=token,
        body={"title": "Anchor", "start_time": "2030-06-01T09:00:00Z", "end_time": "2030-06-01T10:00:00Z"},
    )
    assert created.status == 201, created
    workers = sorted(pg.worker_pids(process.pid))
    assert len(workers) == 2

    with Load(base, token, created.json()["id"]) as load:
        time.sleep(1.0)
        stopping = time.monotonic()
        instance.stop(mode)
        try:
            down = time.monotonic()
            time.sleep(DOWN_SECONDS)
        finally:
            starting = time.monotonic()
            instance.start()
        up = time.monotonic()
        time.sleep(AFTER_SECONDS)

    assert sorted(pg.worker_pids(process.pid)) == workers, "the workers were restarted"
    # Every create that was answered 201 is in the database (an acknowledged write survives the restart,
    # crash recovery included); a create answered 503 may or may not be (it failed before or after its commit).
    stored = {title for (title,) in sql(url, "SELECT title FROM events_event WHERE title LIKE 'Load %%'")}
    acknowledged = {title for title, answer in load.created.items() if answer.status == 201}
    assert acknowledged <= stored, acknowledged - stored
    refused_but_stored = {t for t, a in load.created.items() if a.status == 503} & stored
    kinds = [kind for kind, _ in load.answers]
    answers = [answer for _, answer in load.answers]
    statuses = Counter(a.status for a in answers)
    sent_while_down = [a for a in answers if stopping <= a.started < starting]
    # Sent once the stop had returned (a request sent while it was still stopping may be served).
    answered_while_down = [a for a in answers if down <= a.started and a.started + a.took <= starting]
    after = [a for a in answers if a.started >= up + RECOVERY_BOUND]
    unavailable = [a for a in answers if a.status == 503]
    print(
        f"\n[{mode}] {len(answers)} requests ({dict(Counter(kinds))}): statuses {dict(statuses)}; "
        f"stop took {down - stopping:.2f}s, down {starting - down:.2f}s, start took {up - starting:.2f}s; "
        f"{len(sent_while_down)} sent while stopping or down ({dict(Counter(a.status for a in sent_while_down))}); "
        f"503s answered in {min((a.took for a in unavailable), default=0):.2f}-"
        f"{max((a.took for a in unavailable), default=0):.2f}s; slowest answer {max(a.took for a in answers):.2f}s; "
        f"every request succeeded from {recovery_time(answers, up):.2f}s after the cluster was back; "
        f"{len(acknowledged)} creates acknowledged, all stored; {len(refused_but_stored)} answered 503 yet stored"
    )

    # Only successes and clean 503s: never a 500, a dropped connection or a hang.
    assert set(statuses) <= {200, 201, 503}, statuses
    assert max(a.took for a in answers) < ANSWER_BOUND
    for answer in answers:
        if answer.status == 503:
            assert answer.headers["Content-Type"] == "application/problem+json", answer
            problem = answer.json()
            assert (problem["type"], problem["status"]) == ("/problems/unavailable", 503), problem
            assert int(answer.headers["Retry-After"]) >= 1
    # While it was down, requests kept being answered: with 503, or served once it was back.
    assert len(unavailable) >= THREADS
    assert answered_while_down and {a.status for a in answered_while_down} == {503}
    # Back: the same workers serve every request again.
    assert len(after) >= THREADS
    assert all(200 <= a.status < 300 for a in after), Counter(a.status for a in after)
    assert recovery_time(answers, up) < RECOVERY_BOUND


def test_pooled_connections_broken_by_a_restart_are_never_handed_to_a_request(served):
    """A restart while the workers are idle leaves every pooled connection dead; the pool checks each one
    before handing it out (common/postgresql), so the first requests after it succeed like the others."""
    instance, _, _, base = served
    _, token = pg.register(base, "idle_pools")
    # Fill both workers' pools: concurrent requests hold several connections at once.
    with Load(base, token, event_id=0) as load:
        time.sleep(1.0)
    assert load.answers and all(200 <= a.status < 300 or a.status == 404 for _, a in load.answers)

    try:
        instance.stop("fast")
    finally:
        instance.start()
    answers = [pg.call(base, "GET", "/api/events", token=token) for _ in range(30)]
    print(f"\n[idle restart] 30 requests after the restart: {dict(Counter(a.status for a in answers))}")
    assert [a.status for a in answers] == [200] * 30, answers
