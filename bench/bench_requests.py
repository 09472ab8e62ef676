"""Per-request cost over HTTP: one uvicorn worker, one sequential keep-alive client, against the floor.

One command, both backends (the embedded default: SQLite and the local-memory cache; the production
shape: PostgreSQL + Redis), each run on a fresh server and database:

    .venv/bin/python bench/bench_requests.py                     # both backends, one run each
    .venv/bin/python bench/bench_requests.py --runs 3 --backends embedded,postgres

Per backend and run: the floor first (a bare ASGI app, `bench/floor_app.py`, on the same uvicorn with
the same flags, driven by the same client; and `floor+trip`, the same app making the one trip to a
worker thread and back that every API request made before quick reads ran on the loop's own thread;
and `floor+django`, the same answer from a plain Django view through our handler with no middleware,
`bench/floor_django.py`: Django's own cost, before authentication, limits, DRF and the view),
then the API: a fresh user registers, creates 2,000 events
through the batch endpoint (4 × 500; every tenth a weekly series), the data is ANALYZEd (PostgreSQL),
and then, 500 requests each, one after another on one kept-alive connection:

- `me`: `GET /api/auth/me`, the authenticated no-op (the token, its revocation check, the throttle);
- `404`: `GET /api/no-such-thing`, authenticated, through the throttles to the unknown-path answer;
- `list`: the first page of 20 events, each a cache MISS: before each request an untimed PATCH
  of the last event (not on that page) makes the caller's cached list stale, as any change does;
- `detail`: 500 distinct random events (a MISS each);
- `detail 304`: the same 500 with `If-None-Match` and the ETag the detail answered (from the cache);
- `occurrences`: of 500 distinct random events (a MISS each);
- `changelog`: of 500 distinct random events.

Printed per call: requests/s (the 500 requests over their wall time, client included), median and p95
latency in ms, the median's ratio to the floor's median, and the server process's CPU time per request
(user + system, from /proc: SQLite's work included, PostgreSQL's and Redis's not), the figure least
disturbed by other work on the machine. `--code DIR` (twice) runs two versions of the server, e.g. a
checkout of an older commit, alternately in each run on the same data. With several runs the backends
alternate and the summary takes the median over runs. `uptime` is printed with each run.

`--pin` puts every server (the floor's too) on the last CPU and the client on the others. The server's two
threads, the event loop and the one running the request, then share one core and its caches, as they do
in a deployment with one worker per core, each pinned (docs/PERFORMANCE.md); unpinned, the scheduler may
put them on different cores and each request crosses between them twice.
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
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
WARMUP = 20
CALLS = ["floor", "floor+trip", "floor+django", "me", "404", "list", "detail", "detail 304", "occurrences", "changelog"]
BASE_ENV = {
    "SECRET_KEY": "bench-only-secret-key-not-for-any-deployment-0123456789",
    "DJANGO_SETTINGS_MODULE": "config.settings.base",
    "JWT_ACCESS_MINUTES": "240",  # one token for the whole run
}


class Client:
    """One kept-alive HTTP/1.1 connection; every request timed from sending to the last byte read.

    Through the standard library's `http.client` (the leanest client at hand: the floor is lowest with it), or,
    with `--client`, through `requests` or `httpx`, as many API clients are written: each costs its own time per
    request, which every figure and the floor include alike, so the ratios to the floor depend on the client."""

    library = "http.client"

    def __init__(
        self, port: int, token: str | None = None, server_pid: int | None = None, library: str | None = None
    ) -> None:
        self.library = library or type(self).library
        self.port = port
        self.server_pid = server_pid
        self.base = f"http://127.0.0.1:{port}"
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}
        if self.library == "requests":
            import requests

            self.session = requests.Session()
            self.session.trust_env = False  # no proxy from the environment, as http.client
        elif self.library == "httpx":
            import httpx

            self.session = httpx.Client(timeout=None, trust_env=False)  # no time limit, as the others
        else:
            self.connection = http.client.HTTPConnection("127.0.0.1", port)

    def request(
        self, method: str, path: str, body=None, headers: dict | None = None
    ) -> tuple[int, object, bytes, float]:
        payload = json.dumps(body).encode() if body is not None else None
        all_headers = {**self.headers, **(headers or {})}
        if payload is not None:
            all_headers["Content-Type"] = "application/json"
        began = time.perf_counter()
        if self.library == "http.client":
            self.connection.request(method, path, body=payload, headers=all_headers)
            answer = self.connection.getresponse()
            status, answer_headers, content = answer.status, answer.headers, answer.read()
        else:
            body_keyword = "content" if self.library == "httpx" else "data"
            answer = self.session.request(method, self.base + path, headers=all_headers, **{body_keyword: payload})
            status, answer_headers, content = answer.status_code, answer.headers, answer.content
        elapsed = time.perf_counter() - began
        return status, answer_headers, content, elapsed

    def close(self) -> None:
        (self.connection if self.library == "http.client" else self.session).close()


def timed(client: Client, requests: list[tuple[str, dict | None]], expect: int, between=None) -> dict:
    """Sends `requests` (path, headers) one after another: the first WARMUP untimed, then the rest timed;
    latencies in ms and the rate over the timed requests' wall time. `between(index)` runs untimed after
    the warm-up (index -1) and after each timed request."""
    for path, headers in requests[:WARMUP]:
        client.request("GET", path, headers=headers)
    if between:
        between(-1)
    latencies = []
    cpu = 0.0
    for index, (path, headers) in enumerate(requests[WARMUP:]):
        cpu_before = server_cpu(client.server_pid)
        status, _, content, elapsed = client.request("GET", path, headers=headers)
        cpu += server_cpu(client.server_pid) - cpu_before
        if status != expect:
            raise SystemExit(f"GET {path}: {status} (expected {expect}): {content[:300]!r}")
        latencies.append(elapsed * 1000)
        if between:
            between(index)
    wall = sum(latencies) / 1000
    latencies.sort()
    return {
        "rps": len(latencies) / wall,
        "median": statistics.median(latencies),
        "p95": latencies[int(0.95 * len(latencies)) - 1],
        "cpu": cpu * 1000 / len(latencies),
    }


def server_cpu(pid: int | None) -> float:
    """Seconds of CPU the server process has used (user + system), from /proc; 0 without a pid.

    Less sensitive to other work on the machine than latency: the figure to compare between runs
    taken at different loads (in clock ticks of 10 ms, so meaningful summed over hundreds of requests).
    """
    if pid is None:
        return 0.0
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


SERVER_CORES: set[int] | None = None  # --pin: the CPUs the servers run on (the client runs on the others)


def placed(process):
    """`process` with every thread on SERVER_CORES when pinning (the threads it makes later inherit it)."""
    if SERVER_CORES is not None:
        for task in os.listdir(f"/proc/{process.pid}/task"):
            os.sched_setaffinity(int(task), SERVER_CORES)
    return process


def floor(port: int, app: str = "bench.floor_app:application") -> dict:
    process = placed(start_server(BASE_ENV | dict(os.environ), port, 1, app=app, ready_path="/"))
    try:
        client = Client(port, server_pid=process.pid)
        return timed(client, [("/", None)] * (WARMUP + REQUESTS), 200)
    finally:
        stop_server(process)


def prepare(backend: str, args, code: Path, workdir: Path) -> dict:
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
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], check=True, cwd=code, env=env)
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


def setup(client: Client, backend: str, env: dict) -> tuple[Client, list[int], float]:
    """A fresh user with EVENTS events made through the batch endpoint: their client, the ids, the seconds taken."""
    stamp = f"{os.getpid()}{int(time.time())}"
    status, _, content, _ = client.request(
        "POST",
        "/api/auth/register",
        {"username": f"bench{stamp}", "email": f"bench{stamp}@example.com", "password": "bench-password-123"},
    )
    assert status == 201, content
    user = Client(client.port, json.loads(content)["access"])
    base = datetime(2031, 1, 6, 8, tzinfo=UTC)
    began = time.perf_counter()
    ids = []
    for offset in range(0, EVENTS, BATCH):
        body = {"events": [event_body(index, base) for index in range(offset, offset + BATCH)]}
        status, _, content, _ = user.request("POST", "/api/events/batch", body)
        assert status == 201, content[:500]
        ids += [item["id"] for item in json.loads(content)["results"]]
    took = time.perf_counter() - began
    analyze(backend, env)
    return user, ids, took


def paths(call: str, ids: list[int], rng: random.Random) -> list[tuple[str, dict | None]]:
    """The WARMUP + REQUESTS requests of one call (the 304s are made from the detail's answers)."""
    count = WARMUP + REQUESTS
    if call == "me":
        return [("/api/auth/me", None)] * count
    if call == "404":
        return [("/api/no-such-thing", None)] * count
    if call == "list":
        return [("/api/events", None)] * count
    suffix = {"detail": "", "occurrences": "/occurrences", "changelog": "/changelog"}[call]
    return [(f"/api/events/{pk}{suffix}", None) for pk in rng.sample(ids[:-1], count)]  # distinct: each a miss


def list_changer(client: Client, ids: list[int]):
    """`between` for the list: an untimed PATCH of the last event (not on the first page) before each
    timed request makes the caller's cached list stale, so every first page is a cache miss."""

    def change(index: int) -> None:
        if index < REQUESTS - 1:
            status, _, content, _ = client.request("PATCH", f"/api/events/{ids[-1]}", {"title": f"Last {index}"})
            assert status == 200, content[:300]

    return change


def api(backend: str, args, code: Path, port: int, workdir: Path) -> dict:
    env = prepare(backend, args, code, workdir)
    process = placed(start_server(env, port, 1, cwd=code))
    try:
        client, ids, took = setup(Client(port), backend, env)
        client.server_pid = process.pid
        results: dict = {"create": took}
        rng = random.Random(args.seed)
        for call in ("me", "404", "list", "detail", "occurrences", "changelog"):
            requests = paths(call, ids, rng)
            expect = 404 if call == "404" else 200
            results[call] = timed(
                client, requests, expect, between=list_changer(client, ids) if call == "list" else None
            )
            if call == "detail":
                tagged = [(path, {"If-None-Match": client.request("GET", path)[1]["ETag"]}) for path, _ in requests]
                results["detail 304"] = timed(client, tagged, 304)
        client.close()
    finally:
        stop_server(process)
    return results


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip().split("load average:")[-1].strip()


def report(title: str, runs: list[dict]) -> None:
    print(f"\n{title}")
    print(f"{'call':12} {'req/s':>8} {'median ms':>10} {'p95 ms':>8} {'× floor':>8} {'server CPU ms':>14}")
    floor_median = statistics.median(run["floor"]["median"] for run in runs)
    for call in CALLS:
        rows = [run[call] for run in runs if call in run]
        if not rows:
            continue
        rps = statistics.median(row["rps"] for row in rows)
        median = statistics.median(row["median"] for row in rows)
        p95 = statistics.median(row["p95"] for row in rows)
        cpu = statistics.median(row["cpu"] for row in rows)
        print(f"{call:12} {rps:8.0f} {median:10.2f} {p95:8.2f} {median / floor_median:8.1f} {cpu:14.2f}")
    creates = [run["create"] for run in runs if "create" in run]
    if creates:
        print(f"create {EVENTS} events (batch of {BATCH}): {statistics.median(creates):.2f} s")


def add_backend_arguments(parser: argparse.ArgumentParser, database: str) -> None:
    """`--database-url` and `--redis-url`, as `prepare` reads them: the PostgreSQL database `database` by default."""
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", f"postgres://postgres@127.0.0.1:5432/{database}"),
        help="dropped and created anew for each run",
    )
    parser.add_argument(
        "--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/5"), help="flushed each run"
    )


def add_rounds_arguments(parser: argparse.ArgumentParser, database: str, requests_help: str) -> None:
    """The arguments of a benchmark whose calls take turns on one server (bench_layers.py, bench_clients.py):
    `--backends`, `--rounds`, `--requests`, `--port` and the backends' (`add_backend_arguments`)."""
    parser.add_argument("--backends", default="embedded,postgres", help="comma-separated: embedded, postgres")
    parser.add_argument("--rounds", type=int, default=6, help="turns over the calls")
    parser.add_argument("--requests", type=int, default=300, help=requests_help)
    parser.add_argument("--port", type=int, default=int(os.environ.get("BENCH_PORT", 18270)))
    add_backend_arguments(parser, database)


def medians_of_rounds(rounds: dict[object, list[dict]]) -> dict[object, dict]:
    """Each call's figures (`timed`'s), each the median of its rounds' (as `report` summarizes runs)."""
    return {
        call: {key: statistics.median(run[key] for run in runs) for key in runs[0]} for call, runs in rounds.items()
    }


def backends_of(args) -> list[str]:
    return [name.strip() for name in args.backends.split(",") if name.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backends", default="embedded,postgres", help="comma-separated: embedded, postgres")
    parser.add_argument("--runs", type=int, default=1, help="runs per backend, alternating")
    parser.add_argument("--port", type=int, default=int(os.environ.get("BENCH_PORT", 18250)))
    add_backend_arguments(parser, "calendar_perf_bench")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--code",
        type=Path,
        action="append",
        help="the code the server runs (default: this tree); given twice, the two trees alternate in each run",
    )
    parser.add_argument(
        "--client",
        choices=("http.client", "requests", "httpx"),
        default="http.client",
        help="the HTTP client library that sends every request, the floor's too (see Client)",
    )
    parser.add_argument(
        "--pin",
        action="store_true",
        help="the server on the last CPU, the client on the others (see above)",
    )
    args = parser.parse_args()
    Client.library = args.client
    if args.pin:
        global SERVER_CORES
        cores = sorted(os.sched_getaffinity(0))
        SERVER_CORES = {cores[-1]}
        os.sched_setaffinity(0, set(cores[:-1]) or SERVER_CORES)
    backends = backends_of(args)
    codes = args.code or [ROOT]
    collected: dict[tuple[str, Path], list[dict]] = {(backend, code): [] for backend in backends for code in codes}
    with tempfile.TemporaryDirectory() as workdir:
        for run in range(args.runs):
            for backend in backends if run % 2 == 0 else backends[::-1]:
                measured_floor = {
                    "floor": floor(args.port),
                    "floor+trip": floor(args.port, "bench.floor_app:one_trip"),
                    "floor+django": floor(args.port, "bench.floor_django:application"),
                }
                for code in codes if run % 2 == 0 else codes[::-1]:
                    load_before = uptime()
                    result = {**measured_floor, **api(backend, args, code, args.port + 1, Path(workdir))}
                    collected[(backend, code)].append(result)
                    report(
                        f"run {run + 1}, {backend}, {code} (load average before: {load_before}; after: {uptime()})",
                        [result],
                    )
    if args.runs > 1:
        for (backend, code), results in collected.items():
            report(f"{backend}, {code}: median of {args.runs} runs", results)


if __name__ == "__main__":
    main()
