"""Per-request cost over HTTP: one uvicorn worker, one sequential keep-alive client, against the floor.

One command, both backends (the embedded default: SQLite and the local-memory cache; the production
shape: PostgreSQL + Redis), each run on a fresh server and database:

    .venv/bin/python bench/bench_requests.py                     # both backends, one run each
    .venv/bin/python bench/bench_requests.py --runs 3 --backends embedded,postgres

Per backend and run: the floor first (a bare ASGI app, `bench/floor_app.py`, on the same uvicorn with
the same flags, driven by the same client), then the API: a fresh user registers, creates 2,000 events
through the batch endpoint (4 × 500; every tenth a weekly series), the data is ANALYZEd (PostgreSQL),
and then, 500 requests each, one after another on one kept-alive connection:

- `me`: `GET /api/auth/me`, the authenticated no-op (the token, its revocation check, the throttle);
- `404`: `GET /api/no-such-thing`, authenticated, through the throttles to the unknown-path answer;
- `list`: the list pages 1, 2, …, 100 of 20 events, then again: every request a cache MISS (a page
  not asked for since the last change; after each round of 100 pages one event is changed by an
  untimed PATCH, which makes every page of the caller's list stale);
- `detail`: 500 distinct random events (a MISS each);
- `detail 304`: the same 500 with `If-None-Match` and the ETag the detail answered (from the cache);
- `occurrences`: of 500 distinct random events (a MISS each);
- `changelog`: of 500 distinct random events.

Printed per call: requests/s (the 500 requests over their wall time, client included), median and p95
latency in ms, and the median's ratio to the floor's median. With several runs the backends
alternate and the summary takes the median over runs. `uptime` is printed with each run.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.server import start_server, stop_server  # noqa: E402

EVENTS = 2000
BATCH = 500
REQUESTS = 500
PAGES = EVENTS // 20
CALLS = ["floor", "me", "404", "list", "detail", "detail 304", "occurrences", "changelog"]
BASE_ENV = {
    "SECRET_KEY": "bench-only-secret-key-not-for-any-deployment-0123456789",
    "DJANGO_SETTINGS_MODULE": "config.settings.base",
    "JWT_ACCESS_MINUTES": "240",  # one token for the whole run
}


class Client:
    """One kept-alive HTTP/1.1 connection; every request timed from sending to the last byte read."""

    def __init__(self, port: int, token: str | None = None) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port)
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def request(
        self, method: str, path: str, body=None, headers: dict | None = None
    ) -> tuple[int, http.client.HTTPMessage, bytes, float]:
        payload = json.dumps(body).encode() if body is not None else None
        all_headers = {**self.headers, **(headers or {})}
        if payload is not None:
            all_headers["Content-Type"] = "application/json"
        began = time.perf_counter()
        self.connection.request(method, path, body=payload, headers=all_headers)
        answer = self.connection.getresponse()
        content = answer.read()
        elapsed = time.perf_counter() - began
        return answer.status, answer.headers, content, elapsed

    def close(self) -> None:
        self.connection.close()


def timed(client: Client, requests: list[tuple[str, dict | None]], expect: int, between=None) -> dict:
    """Sends `requests` (path, headers) one after another; latencies in ms and the rate over the wall time."""
    for path, headers in requests[:20]:  # warm-up, untimed
        client.request("GET", path, headers=headers)
    if between:
        between(-1)
    latencies = []
    wall = 0.0
    for index, (path, headers) in enumerate(requests):
        status, _, content, elapsed = client.request("GET", path, headers=headers)
        if status != expect:
            raise SystemExit(f"GET {path}: {status} (expected {expect}): {content[:300]!r}")
        latencies.append(elapsed * 1000)
        wall += elapsed
        if between:
            between(index)
    latencies.sort()
    return {
        "rps": len(latencies) / wall,
        "median": statistics.median(latencies),
        "p95": latencies[int(0.95 * len(latencies)) - 1],
    }


def floor(port: int) -> dict:
    process = start_server(BASE_ENV | dict(os.environ), port, 1, app="bench.floor_app:application", ready_path="/")
    try:
        client = Client(port)
        return timed(client, [("/", None)] * REQUESTS, 200)
    finally:
        stop_server(process)


def prepare(backend: str, args, workdir: Path) -> dict:
    """A fresh, migrated database for `backend`; the server's environment."""
    env = {**os.environ, **BASE_ENV}
    for name in ("DATABASE_URL", "REDIS_URL", "SQLITE_PATH"):
        env.pop(name, None)
    if backend == "embedded":
        env["SQLITE_PATH"] = str(workdir / "bench.sqlite3")
        Path(env["SQLITE_PATH"]).unlink(missing_ok=True)
    else:
        parsed = urlparse(args.database_url)
        name = parsed.path.lstrip("/")
        admin = parsed._replace(path="/postgres").geturl()
        subprocess.run(["psql", admin, "-qc", f'DROP DATABASE IF EXISTS "{name}"'], check=True)
        subprocess.run(["psql", admin, "-qc", f'CREATE DATABASE "{name}"'], check=True)
        env["DATABASE_URL"] = args.database_url
        env["REDIS_URL"] = args.redis_url
        import redis

        redis.Redis.from_url(args.redis_url).flushdb()
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], check=True, cwd=ROOT, env=env)
    return env


def analyze(backend: str, env: dict) -> None:
    """Statistics for the planner (this machine's PostgreSQL runs without autovacuum)."""
    if backend == "embedded":
        with sqlite3.connect(env["SQLITE_PATH"]) as database:
            database.execute("ANALYZE")
    else:
        subprocess.run(["psql", env["DATABASE_URL"], "-qc", "ANALYZE"], check=True)


def event_body(index: int, base: datetime) -> dict:
    """One-off events on the hour (30 min); every tenth a weekly series at :40 (15 min, 4 times): no conflicts."""
    start = base + timedelta(hours=index)
    if index % 10 == 0:
        start += timedelta(minutes=40)
        return {
            "title": f"Series {index}",
            "start_time": start.isoformat(),
            "end_time": (start + timedelta(minutes=15)).isoformat(),
            "timezone": "Europe/Berlin",
            "recurrence_pattern": "FREQ=WEEKLY;COUNT=4",
        }
    return {
        "title": f"Event {index}",
        "description": "Benchmark event " * 4,
        "location": "Room 1",
        "start_time": start.isoformat(),
        "end_time": (start + timedelta(minutes=30)).isoformat(),
        "timezone": "UTC",
    }


def api(backend: str, args, port: int, workdir: Path) -> dict:
    env = prepare(backend, args, workdir)
    process = start_server(env, port, 1)
    results: dict = {}
    try:
        anonymous = Client(port)
        stamp = f"{os.getpid()}{int(time.time())}"
        status, _, content, _ = anonymous.request(
            "POST",
            "/api/auth/register",
            {"username": f"bench{stamp}", "email": f"bench{stamp}@example.com", "password": "bench-password-123"},
        )
        assert status == 201, content
        client = Client(port, json.loads(content)["access"])
        base = datetime(2031, 1, 6, 8, tzinfo=UTC)
        began = time.perf_counter()
        ids = []
        for offset in range(0, EVENTS, BATCH):
            body = {"events": [event_body(index, base) for index in range(offset, offset + BATCH)]}
            status, _, content, _ = client.request("POST", "/api/events/batch", body)
            assert status == 201, content[:500]
            ids += [item["id"] for item in json.loads(content)["results"]]
        results["create"] = time.perf_counter() - began
        analyze(backend, env)
        rng = random.Random(args.seed)

        results["me"] = timed(client, [("/api/auth/me", None)] * REQUESTS, 200)
        results["404"] = timed(client, [("/api/no-such-thing", None)] * REQUESTS, 404)

        def change_every_round(index: int) -> None:
            if (index + 1) % PAGES == 0:  # after the warm-up (-1) and each round of 100 pages
                status, _, content, _ = client.request("PATCH", f"/api/events/{ids[-1]}", {"title": f"Last {index}"})
                assert status == 200, content[:300]

        pages = [(f"/api/events?page={1 + n % PAGES}", None) for n in range(REQUESTS)]
        results["list"] = timed(client, pages, 200, between=change_every_round)
        sample = rng.sample(ids[:-1], REQUESTS + 20)  # the warm-up's events are not measured again
        details = [(f"/api/events/{pk}", None) for pk in sample]
        results["detail"] = timed(client, details, 200)
        conditional = [(path, {"If-None-Match": client.request("GET", path)[1]["etag"]}) for path, _ in details]
        results["detail 304"] = timed(client, conditional, 304)
        sample = rng.sample(ids[:-1], REQUESTS + 20)
        results["occurrences"] = timed(client, [(f"/api/events/{pk}/occurrences", None) for pk in sample], 200)
        sample = rng.sample(ids[:-1], REQUESTS + 20)
        results["changelog"] = timed(client, [(f"/api/events/{pk}/changelog", None) for pk in sample], 200)
        client.close()
    finally:
        stop_server(process)
    return results


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip().split("load average:")[-1].strip()


def report(title: str, runs: list[dict]) -> None:
    print(f"\n{title}")
    print(f"{'call':12} {'req/s':>8} {'median ms':>10} {'p95 ms':>8} {'× floor':>8}")
    floor_median = statistics.median(run["floor"]["median"] for run in runs)
    for call in CALLS:
        rows = [run[call] for run in runs if call in run]
        if not rows:
            continue
        rps = statistics.median(row["rps"] for row in rows)
        median = statistics.median(row["median"] for row in rows)
        p95 = statistics.median(row["p95"] for row in rows)
        print(f"{call:12} {rps:8.0f} {median:10.2f} {p95:8.2f} {median / floor_median:8.1f}")
    creates = [run["create"] for run in runs if "create" in run]
    if creates:
        print(f"create {EVENTS} events (batch of {BATCH}): {statistics.median(creates):.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backends", default="embedded,postgres", help="comma-separated: embedded, postgres")
    parser.add_argument("--runs", type=int, default=1, help="runs per backend, alternating")
    parser.add_argument("--port", type=int, default=int(os.environ.get("BENCH_PORT", 18250)))
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/calendar_perf_bench"),
        help="dropped and created anew for each run",
    )
    parser.add_argument(
        "--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/5"), help="flushed each run"
    )
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    backends = [name.strip() for name in args.backends.split(",") if name.strip()]
    collected: dict[str, list[dict]] = {backend: [] for backend in backends}
    with tempfile.TemporaryDirectory() as workdir:
        for run in range(args.runs):
            order = backends if run % 2 == 0 else backends[::-1]
            for backend in order:
                load_before = uptime()
                result = {"floor": floor(args.port)}
                result.update(api(backend, args, args.port + 1, Path(workdir)))
                collected[backend].append(result)
                report(f"run {run + 1}, {backend} (load average before: {load_before}; after: {uptime()})", [result])
    if args.runs > 1:
        for backend in backends:
            report(f"{backend}: median of {args.runs} runs", collected[backend])


if __name__ == "__main__":
    main()
