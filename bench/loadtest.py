"""Load test of the production shape: several uvicorn workers on PostgreSQL + Redis, driven from a separate
process on loopback with a realistic mix of calls.

One command builds the data, starts the server, runs the mix and writes the figures:

    .venv/bin/python bench/loadtest.py --events 10000 --workers 2 --concurrency 16 --duration 30

It needs PostgreSQL and Redis (DATABASE_URL / REDIS_URL, defaults on 127.0.0.1). The database named in
--database-url is dropped and created anew. Rate limits are raised for the run (they would otherwise
be what is measured). Figures: per endpoint requests/s, median/p95/p99 latency, errors, and the CPU
time per request of the server (all worker processes), of the load generator itself and of the
PostgreSQL backends serving the database (when PostgreSQL runs on this machine), written to
bench/results/ as Markdown and JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.server import start_server, stop_server  # noqa: E402

PYTHON = sys.executable
# The settings refuse PostgreSQL without SECRET_KEY; a benchmark's throwaway data needs no secret one.
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-not-for-any-deployment")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

# (name, weight): the share of each call in the mix.
MIX = [
    ("list_window", 28),
    ("detail", 24),
    ("occurrences", 10),
    ("create", 8),
    ("update", 10),
    ("share", 4),
    ("changelog", 6),
    ("diff", 5),
    ("sync", 5),
]


def sh(*args: str, env: dict | None = None) -> str:
    return subprocess.run(args, check=True, capture_output=True, text=True, cwd=ROOT, env=env).stdout


def prepare_database(database_url: str, redis_url: str, users: int, events: int) -> dict:
    parsed = urlparse(database_url)
    name = parsed.path.lstrip("/")
    admin = parsed._replace(path="/postgres").geturl()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "DJANGO_SETTINGS_MODULE": "config.settings.base",
        "ENABLE_BENCH": "1",  # `manage.py generate_data` is the bench app's command, off by default
    }
    sh("psql", admin, "-qc", f'DROP DATABASE IF EXISTS "{name}"')
    sh("psql", admin, "-qc", f'CREATE DATABASE "{name}"')
    sh(PYTHON, "manage.py", "migrate", "-v0", env=env)
    began = time.perf_counter()
    sh(PYTHON, "manage.py", "generate_data", f"--users={users}", f"--events={events}", "--prefix=load", env=env)
    print(f"data: {users} users, {events} events in {time.perf_counter() - began:.0f} s", flush=True)
    subprocess.run(["psql", database_url, "-qc", "VACUUM ANALYZE"], check=True, cwd=ROOT)
    return env


def server_cpu_seconds(root_pid: int) -> float:
    """utime + stime of the server process and all its descendants (the workers)."""
    total, pids = 0.0, [root_pid]
    while pids:
        pid = pids.pop()
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
            pids.extend(int(child) for child in children)
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


def database_cpu_seconds(name: str) -> dict[int, float]:
    """CPU time of each PostgreSQL backend serving the database `name`, by pid (a server on this machine:
    backends show `postgres: ... <user> <database> <client>` as their process title; none found otherwise)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            title = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
            if not title.startswith(b"postgres:") or f" {name} ".encode() not in title:
                continue
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            found[int(entry.name)] = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
        except OSError:
            continue
    return found


def own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Client:
    """One simulated user: logs in, learns their events, then calls the mix one request at a time."""

    def __init__(self, http, username: str, others: list[str], rng: random.Random) -> None:
        self.http, self.username, self.others, self.rng = http, username, others, rng
        self.ids: list[int] = []
        self.editable: list[int] = []
        self.owned: list[int] = []
        self.cursor: str | None = None

    async def login(self) -> None:
        answer = await self.http.post(
            "/api/auth/login", json={"username": self.username, "password": "bench-password-123"}
        )
        answer.raise_for_status()
        self.http.headers["Authorization"] = f"Bearer {answer.json()['access']}"
        listed = (await self.http.get("/api/events", params={"page_size": 100})).json()["results"]
        self.ids = [e["id"] for e in listed] or [0]
        self.editable = [e["id"] for e in listed if e["my_role"] in ("owner", "editor")]
        self.owned = [e["id"] for e in listed if e["my_role"] == "owner"]

    async def call(self, name: str):
        rng = self.rng
        if name == "list_window":
            day = rng.randrange(0, 700)
            start = f"2026-01-{5:02d}T00:00:00Z"
            params = {"start": _plus_days(start, day), "end": _plus_days(start, day + 7)}
            return await self.http.get("/api/events", params=params)
        if name == "detail":
            return await self.http.get(f"/api/events/{rng.choice(self.ids)}")
        if name == "occurrences":
            return await self.http.get(f"/api/events/{rng.choice(self.ids)}/occurrences", params={"limit": 50})
        if name == "create":
            day = rng.randrange(0, 700)
            start = _plus_days("2026-01-05T10:00:00Z", day)
            body = {
                "title": "Load test",
                "start_time": start,
                "end_time": start.replace("10:00", "11:00"),
                "timezone": "Europe/Berlin",
                "conflict_strategy": "allow",
            }
            answer = await self.http.post("/api/events", json=body)
            if answer.status_code == 201:
                self.owned.append(answer.json()["id"])
                self.editable.append(answer.json()["id"])
            return answer
        if name in {"update", "share"} and not (self.editable if name == "update" else self.owned):
            return await self.call("create")  # nothing of theirs to change yet
        if name == "update":
            return await self.http.patch(
                f"/api/events/{rng.choice(self.editable)}",
                json={"description": f"edited {rng.random()}"},
                params={"conflict_strategy": "allow"},
            )
        if name == "share":
            target = rng.choice(self.others)
            return await self.http.post(
                f"/api/events/{rng.choice(self.owned)}/share", json={"users": [{"username": target, "role": "viewer"}]}
            )
        if name == "changelog":
            return await self.http.get(f"/api/events/{rng.choice(self.ids)}/changelog")
        if name == "diff":
            return await self.http.get(f"/api/events/{rng.choice(self.ids)}/diff/1/2")
        if name == "sync":
            answer = await self.http.get("/api/sync", params={"cursor": self.cursor} if self.cursor else {})
            if answer.status_code == 200:
                self.cursor = answer.json().get("cursor")
            return answer
        raise ValueError(name)


def _plus_days(stamp: str, days: int) -> str:
    from datetime import datetime, timedelta

    moment = datetime.fromisoformat(stamp.replace("Z", "+00:00")) + timedelta(days=days)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


async def drive(base: str, users: int, concurrency: int, duration: float, seed: int) -> dict:
    import httpx

    rng = random.Random(seed)
    names = [f"load{n}" for n in range(users)]
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    samples: dict[str, list[float]] = defaultdict(list)
    errors: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    choices, weights = zip(*MIX, strict=True)

    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as shared:
        clients = []
        for n in range(concurrency):
            http = httpx.AsyncClient(base_url=base, timeout=30, limits=httpx.Limits(max_connections=1))
            client = Client(http, names[n % users], names, random.Random(seed + n))
            await client.login()
            clients.append(client)
        await shared.aclose()

        deadline = time.perf_counter() + duration

        async def loop(client: Client) -> None:
            while time.perf_counter() < deadline:
                name = rng.choices(choices, weights)[0]
                began = time.perf_counter()
                try:
                    answer = await client.call(name)
                    status = answer.status_code
                except httpx.HTTPError:
                    status = 599
                samples[name].append(time.perf_counter() - began)
                if status >= 400:
                    errors[name][status] += 1

        began = time.perf_counter()
        await asyncio.gather(*(loop(c) for c in clients))
        elapsed = time.perf_counter() - began
        for client in clients:
            await client.http.aclose()
    return {"elapsed": elapsed, "samples": samples, "errors": {k: dict(v) for k, v in errors.items()}}


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


def report(run: dict, cpu: dict[str, float], args) -> tuple[str, dict]:
    total = sum(len(v) for v in run["samples"].values())
    rows, table = [], {}
    for name, _ in MIX:
        values = run["samples"].get(name, [])
        if not values:
            continue
        entry = {
            "requests": len(values),
            "rps": len(values) / run["elapsed"],
            "p50_ms": statistics.median(values) * 1000,
            "p95_ms": percentile(values, 0.95) * 1000,
            "p99_ms": percentile(values, 0.99) * 1000,
            "errors": run["errors"].get(name, {}),
        }
        table[name] = entry
        rows.append(
            f"| {name} | {entry['requests']} | {entry['rps']:.1f} | {entry['p50_ms']:.1f} | {entry['p95_ms']:.1f} "
            f"| {entry['p99_ms']:.1f} | {sum(entry['errors'].values())} {entry['errors'] or ''} |"
        )
    summary = {
        "events": args.events,
        "users": args.users,
        "workers": args.workers,
        "concurrency": args.concurrency,
        "duration_s": run["elapsed"],
        "requests": total,
        "rps": total / run["elapsed"],
        "server_cpu_ms_per_request": cpu["server"] / total * 1000 if total else None,
        # Where the machine's CPU went: the load generator runs on the same cores, and so does PostgreSQL.
        "client_cpu_ms_per_request": cpu["client"] / total * 1000 if total else None,
        "database_cpu_ms_per_request": cpu["database"] / total * 1000 if total else None,
        "load_average_after": os.getloadavg(),
        "endpoints": table,
    }
    text = "\n".join(
        [
            f"Load test: {args.events} events, {args.users} users, {args.workers} worker(s), "
            f"{args.concurrency} concurrent clients, {run['elapsed']:.0f} s",
            f"Total: {total} requests, {total / run['elapsed']:.1f} req/s, "
            f"server CPU {summary['server_cpu_ms_per_request']:.2f} ms/request "
            f"(load generator {summary['client_cpu_ms_per_request']:.2f}, "
            f"PostgreSQL {summary['database_cpu_ms_per_request']:.2f}; load average after "
            f"{summary['load_average_after'][0]:.1f})",
            "",
            "| endpoint | requests | req/s | median ms | p95 ms | p99 ms | errors |",
            "|---|---|---|---|---|---|---|",
            *rows,
        ]
    )
    return text, summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--users", type=int, default=500)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--duration", type=float, default=30)
    parser.add_argument("--port", type=int, default=8731)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("LOAD_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/calendar_load"),
    )
    parser.add_argument("--redis-url", default=os.environ.get("LOAD_REDIS_URL", "redis://127.0.0.1:6379/9"))
    parser.add_argument("--reuse-data", action="store_true", help="skip building the data set")
    args = parser.parse_args()

    if args.reuse_data:
        env = {**os.environ, "DATABASE_URL": args.database_url, "REDIS_URL": args.redis_url}
    else:
        env = prepare_database(args.database_url, args.redis_url, args.users, args.events)
    subprocess.run(["redis-cli", "-u", args.redis_url, "FLUSHDB"], check=True, capture_output=True)
    server = start_server(env, args.port, args.workers)
    database = urlparse(args.database_url).path.lstrip("/")
    try:
        cpu_before = server_cpu_seconds(server.pid), own_cpu_seconds(), database_cpu_seconds(database)
        run = asyncio.run(
            drive(f"http://127.0.0.1:{args.port}", args.users, args.concurrency, args.duration, args.seed)
        )
        backends = database_cpu_seconds(database)
        cpu = {
            "server": server_cpu_seconds(server.pid) - cpu_before[0],
            "client": own_cpu_seconds() - cpu_before[1],
            "database": sum(seconds - cpu_before[2].get(pid, 0.0) for pid, seconds in backends.items()),
        }
    finally:
        stop_server(server)
    text, summary = report(run, cpu, args)
    print(text)
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (out / f"loadtest-{stamp}.md").write_text(text + "\n")
    (out / f"loadtest-{stamp}.json").write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
