"""Contended writes: N writers on ONE event with on_conflict=merge, against the production shape.

    .venv/bin/python bench/bench_concurrency.py --writers 16 --duration 30 --workers 3

Starts uvicorn with several workers on PostgreSQL + Redis (DATABASE_URL / REDIS_URL; the database named
by --database-url is dropped and created anew), logs in N editors of one event and lets each loop for
--duration seconds over loopback: GET the event, then PATCH one field (title, description or location,
round-robin by writer) with `base_version` = the version just read and `on_conflict=merge`. Meanwhile
others write, so most bases are stale: non-overlapping changes merge, overlapping ones are refused
(409 merge-conflict) and the writer reads again.

Afterwards it proves from the database that nothing was lost: one history row per accepted write, at
the version its answer named, holding the value it wrote; versions contiguous; each version differing
from the one before in exactly the field its write changed. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.server import start_server, stop_server  # noqa: E402

PYTHON = sys.executable
# The settings refuse PostgreSQL without SECRET_KEY; a benchmark's throwaway data needs no secret one.
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-not-for-any-deployment")
FIELDS = ("title", "description", "location")
PASSWORD = "bench-password-123"


def sh(*args: str, env: dict | None = None) -> None:
    subprocess.run(args, check=True, capture_output=True, text=True, cwd=ROOT, env=env)


def prepare(database_url: str, redis_url: str, writers: int) -> dict:
    parsed = urlparse(database_url)
    admin = parsed._replace(path="/postgres").geturl()
    name = parsed.path.lstrip("/")
    env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url}
    env["DJANGO_SETTINGS_MODULE"] = "config.settings.base"
    sh("psql", admin, "-qc", f'DROP DATABASE IF EXISTS "{name}"')
    sh("psql", admin, "-qc", f'CREATE DATABASE "{name}"')
    sh(PYTHON, "manage.py", "migrate", "-v0", env=env)
    script = f"""
from datetime import UTC, datetime, timedelta
from django.contrib.auth import get_user_model
from events import services
from sharing import services as sharing
User = get_user_model()
owner = User.objects.create_user("owner", "owner@example.com", {PASSWORD!r})
editors = [User.objects.create_user(f"writer{{n}}", f"writer{{n}}@example.com", {PASSWORD!r}) for n in range({writers})]
start = datetime(2030, 1, 7, 9, tzinfo=UTC)
event = services.event_create(actor=owner, changes=dict(title="Contended", description="", location="",
    start_time=start, end_time=start + timedelta(hours=1), timezone="UTC", is_all_day=False, recurrence=None)).event
sharing.event_share(event=event, actor=owner, targets=[{{"user_id": u.pk, "role": "editor"}} for u in editors])
print(event.pk)
"""
    out = subprocess.run(
        [PYTHON, "manage.py", "shell", "--no-imports", "-c", script],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
    ).stdout
    env["BENCH_EVENT_ID"] = out.strip().splitlines()[-1]
    return env


def call(port: int, method: str, path: str, body=None, token: str | None = None, conn=None) -> tuple[int, dict]:
    own = conn is None
    conn = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
    response = conn.getresponse()
    data = response.read()
    if own:
        conn.close()
    return response.status, (json.loads(data) if data else {})


def run(port: int, event_id: int, writers: int, duration: float) -> tuple[list[dict], float]:
    tokens = []
    for n in range(writers):
        status, body = call(port, "POST", "/api/auth/login", {"username": f"writer{n}", "password": PASSWORD})
        assert status == 200, body
        tokens.append(body["access"])
    outcomes: list[dict] = []
    lock = threading.Lock()
    barrier = threading.Barrier(writers + 1)
    deadline: list[float] = []

    def writer(index: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        field = FIELDS[index % len(FIELDS)]
        mine = []
        barrier.wait()
        n = 0
        while time.monotonic() < deadline[0]:
            _, current = call(port, "GET", f"/api/events/{event_id}", token=tokens[index], conn=conn)
            value = f"writer {index} write {n}"
            began = time.perf_counter()
            status, body = call(
                port,
                "PATCH",
                f"/api/events/{event_id}?on_conflict=merge",
                {field: value, "base_version": current["version"]},
                token=tokens[index],
                conn=conn,
            )
            mine.append(
                {
                    "status": status,
                    "type": body.get("type"),
                    "field": field,
                    "value": value,
                    "base": current["version"],
                    "version": body.get("version"),
                    "merged": body.get("merged"),
                    "ms": (time.perf_counter() - began) * 1000,
                }
            )
            n += 1
        conn.close()
        with lock:
            outcomes.extend(mine)

    threads = [threading.Thread(target=writer, args=(index,)) for index in range(writers)]
    for thread in threads:
        thread.start()
    deadline.append(time.monotonic() + duration)
    began = time.monotonic()
    barrier.wait()
    for thread in threads:
        thread.join()
    return outcomes, time.monotonic() - began


def prove(env: dict, event_id: int, accepted: list[dict]) -> str:
    """Checked in a separate process against the database: every accepted write is in history."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(accepted, handle)
    accepted_file = handle.name
    script = f"""
import json
from events.models import Event
accepted = json.load(open({accepted_file!r}))
rows = {{r.version: r for r in Event.history.filter(id={event_id}).exclude(history_type="-")}}
assert sorted(rows) == list(range(1, len(accepted) + 2)), "versions are not contiguous"
assert Event.objects.get(pk={event_id}).version == len(accepted) + 1
assert len({{w["version"] for w in accepted}}) == len(accepted), "two answers named one version"
for w in accepted:
    row, before = rows[w["version"]], rows[w["version"] - 1]
    assert getattr(row, w["field"]) == w["value"], w
    changed = [f for f in {FIELDS!r} if getattr(row, f) != getattr(before, f)]
    assert changed == [w["field"]], (w, changed)
merges = Event.history.filter(id={event_id}, history_change_reason__startswith="[merge").count()
print(f"OK: {{len(rows)}} versions, {{len(accepted)}} accepted writes all in history, {{merges}} marked as merges")
"""
    try:
        return subprocess.run(
            [PYTHON, "manage.py", "shell", "--no-imports", "-c", script],
            check=True,
            capture_output=True,
            text=True,
            cwd=ROOT,
            env=env,
        ).stdout.strip()
    finally:
        os.unlink(accepted_file)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--writers", type=int, default=16)
    parser.add_argument("--duration", type=float, default=30)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/calendar_bench_concurrency"),
    )
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/14"))
    args = parser.parse_args()

    env = prepare(args.database_url, args.redis_url, args.writers)
    event_id = int(env["BENCH_EVENT_ID"])
    server = start_server(env, args.port, args.workers, pool_size=12)
    try:
        outcomes, elapsed = run(args.port, event_id, args.writers, args.duration)
    finally:
        stop_server(server)

    accepted = [o for o in outcomes if o["status"] == 200]
    conflicts = [o for o in outcomes if o["status"] == 409 and o["type"] == "/problems/merge-conflict"]
    other = [o for o in outcomes if o not in accepted and o not in conflicts]
    merged = [o for o in accepted if o["merged"]]
    latencies = sorted(o["ms"] for o in outcomes)
    proof = prove(env, event_id, [{k: o[k] for k in ("field", "value", "version")} for o in accepted])

    print(f"\n{args.writers} writers, {args.workers} uvicorn workers, {elapsed:.1f} s, one event\n")
    print(
        "| writes sent | accepted | accepted/s | of which merged | merge conflicts (409) | other "
        "| PATCH p50 ms | p95 ms |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    print(
        f"| {len(outcomes)} | {len(accepted)} | {len(accepted) / elapsed:.1f} | {len(merged)} | {len(conflicts)} "
        f"| {len(other)} | {statistics.median(latencies):.1f} | {latencies[int(len(latencies) * 0.95)]:.1f} |"
    )
    print(f"\nproof: {proof}")
    if other:
        print("unexpected answers:", {(o["status"], o["type"]) for o in other})


if __name__ == "__main__":
    main()
