"""Fan-out: N WebSocket clients sharing one event; how fast a write reaches them, and what it costs the write.

    .venv/bin/python bench/bench_notifications.py --clients 500 --writes 40 --workers 1

Against the production shape: uvicorn (--workers) on PostgreSQL + Redis (--database-url, dropped and
created anew; --redis-url). One owner shares one event with N viewers. Three phases, each --writes
sequential PATCHes of the event's title by the owner, over loopback:

  1. alone      the owner's own event, shared with nobody: the write without any fan-out;
  2. shared     the event shared with N viewers, none connected: N feed entries and notifications per write;
  3. listening  the same with the N viewers connected to /ws/notifications/ (real WebSocket clients).

Per write it records the PATCH latency as the client sees it and, in phase 3, when each client got the
message. Delivery latency is measured from the message's `at` (stamped by the server right after the
users' feed positions are taken, just before commit) to its arrival at the client, so it includes the
commit, the Redis fan-out and the socket. Client and server share the machine and its clock. Prints a
Markdown table.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.parse
from datetime import datetime
from pathlib import Path
from urllib.parse import urlparse

import websockets

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
# The settings refuse PostgreSQL without SECRET_KEY; a benchmark's throwaway data needs no secret one.
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-not-for-any-deployment")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))]


def describe(values: list[float]) -> str:
    return f"{statistics.median(values):.1f} / {percentile(values, 0.95):.1f} / {max(values):.1f}"


def prepare(database_url: str, redis_url: str, clients: int) -> dict:
    """A fresh database with the owner, N viewers, the shared event and a private one; tokens for all."""
    parsed = urlparse(database_url)
    admin = parsed._replace(path="/postgres").geturl()
    name = parsed.path.lstrip("/")
    subprocess.run(["psql", admin, "-qc", f'DROP DATABASE IF EXISTS "{name}"'], check=True, capture_output=True)
    subprocess.run(["psql", admin, "-qc", f'CREATE DATABASE "{name}"'], check=True, capture_output=True)
    os.environ.update(DATABASE_URL=database_url, REDIS_URL=redis_url, DJANGO_SETTINGS_MODULE="config.settings.base")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from datetime import UTC, timedelta

    from accounts.tokens import tokens_for
    from events import services
    from sharing import services as sharing

    user_model = get_user_model()
    password = make_password("bench-password-123")
    owner = user_model.objects.create(username="owner", email="owner@example.com", password=password)
    viewers = user_model.objects.bulk_create(
        [user_model(username=f"viewer{n}", email=f"viewer{n}@example.com", password=password) for n in range(clients)]
    )
    start = datetime(2030, 1, 7, 9, tzinfo=UTC)

    def event(title: str, day: int):
        changes = dict(
            title=title,
            description="",
            location="",
            start_time=start + timedelta(days=day),
            end_time=start + timedelta(days=day, hours=1),
            timezone="UTC",
            is_all_day=False,
            recurrence=None,
        )
        return services.event_create(actor=owner, changes=changes, conflict_strategy="allow").event

    shared, alone = event("Shared", 0), event("Alone", 1)
    for offset in range(0, clients, 100):
        targets = [{"user_id": viewer.pk, "role": "viewer"} for viewer in viewers[offset : offset + 100]]
        sharing.event_share(event=shared, actor=owner, targets=targets)
    from django.db import connections

    tokens = {"owner": tokens_for(owner)["access"], "viewers": [tokens_for(v)["access"] for v in viewers]}
    connections.close_all()
    return {"shared": shared.pk, "alone": alone.pk, **tokens}


def start_server(database_url: str, redis_url: str, workers: int) -> tuple[subprocess.Popen, str, socket.socket]:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(1024)
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "DJANGO_SETTINGS_MODULE": "config.settings.base",
        "THROTTLE_USER": "10000000/min",
        "THROTTLE_ANON": "10000000/min",
        "LOG_LEVEL": "WARNING",
        # A fresh namespace: no sockets left in the groups by an earlier run.
        "CHANNELS_PREFIX": f"bench-{os.getpid()}-{time.time_ns()}",
    }
    command = [PYTHON, "-m", "uvicorn", "config.asgi:application", "--fd", str(sock.fileno())]
    command += ["--workers", str(workers), "--lifespan", "off", "--log-level", "warning", "--no-access-log"]
    command += os.environ.get("BENCH_UVICORN_ARGS", "").split()
    process = subprocess.Popen(command, cwd=ROOT, env=env, pass_fds=[sock.fileno()], start_new_session=True)
    return process, f"127.0.0.1:{sock.getsockname()[1]}", sock


def stop_server(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)


class Http:
    """One keep-alive HTTP/1.1 connection, driven from asyncio."""

    def __init__(self, server: str) -> None:
        self.host, self.port = server.split(":")
        self.reader = self.writer = None

    async def request(self, method: str, path: str, token: str, body: dict | None = None) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, int(self.port))
        payload = json.dumps(body).encode() if body is not None else b""
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
        )
        self.writer.write(head.encode() + payload)
        status_line = await self.reader.readline()
        headers = {}
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            key, _, value = line.decode().partition(":")
            headers[key.strip().lower()] = value.strip()
        content = await self.reader.readexactly(int(headers.get("content-length", 0)))
        return int(status_line.split()[1]), content


async def writes(server: str, token: str, event_id: int, count: int, label: str, on_write=None) -> list[float]:
    http, latencies = Http(server), []
    for n in range(count):
        began = time.perf_counter()
        status, content = await asyncio.wait_for(
            http.request("PATCH", f"/api/events/{event_id}", token, {"title": f"{label} {n}"}), 120
        )
        latencies.append((time.perf_counter() - began) * 1000)
        assert status == 200, content[:300]
        if on_write is not None:
            await on_write(json.loads(content)["version"])
    return latencies


async def run(server: str, data: dict, clients: int, count: int) -> dict:
    owner = data["owner"]
    # Warm up (imports, pools), then the two phases without listeners.
    await writes(server, owner, data["alone"], 5, "warm-up")
    results = {
        "alone": await writes(server, owner, data["alone"], count, "alone"),
        "shared": await writes(server, owner, data["shared"], count, "shared"),
    }

    arrivals: dict[int, list[float]] = {}  # version → delivery latencies (ms)
    complete: dict[int, asyncio.Event] = {}

    async def listen(token: str, ready: asyncio.Event) -> None:
        query = urllib.parse.urlencode({"token": token})
        async with websockets.connect(
            f"ws://{server}/ws/notifications/?{query}", origin=f"http://{server}", open_timeout=120, max_queue=None
        ) as ws:
            ready.set()
            async for raw in ws:
                received = time.time()
                message = json.loads(raw)
                if message.get("type") != "event_updated":
                    continue
                latency = (received - datetime.fromisoformat(message["at"]).timestamp()) * 1000
                version = message["version"]
                arrivals.setdefault(version, []).append(latency)
                if len(arrivals[version]) == clients and version in complete:
                    complete[version].set()

    readies = [asyncio.Event() for _ in range(clients)]
    listeners = []
    began = time.perf_counter()
    for offset in range(0, clients, 50):  # connect in waves, as reconnecting clients would
        batch = range(offset, min(clients, offset + 50))
        listeners += [asyncio.create_task(listen(data["viewers"][i], readies[i])) for i in batch]
        await asyncio.wait_for(asyncio.gather(*(readies[i].wait() for i in batch)), 120)
    connect_seconds = time.perf_counter() - began

    fanout_done: list[float] = []

    async def wait_for_all(version: int) -> None:
        event = complete.setdefault(version, asyncio.Event())
        if len(arrivals.get(version, [])) == clients:
            event.set()
        try:
            await asyncio.wait_for(event.wait(), 60)
        except TimeoutError:
            raise SystemExit(
                f"version {version}: {len(arrivals.get(version, []))} of {clients} clients got it"
            ) from None
        fanout_done.append(max(arrivals[version]))

    results["listening"] = await writes(server, owner, data["shared"], count, "listening", on_write=wait_for_all)
    for task in listeners:
        task.cancel()
    await asyncio.gather(*listeners, return_exceptions=True)
    deliveries = [latency for version in arrivals for latency in arrivals[version]]
    return {**results, "deliveries": deliveries, "last_delivery": fanout_done, "connect_seconds": connect_seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=500)
    parser.add_argument("--writes", type=int, default=40)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/calendar_bench_notifications")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args()

    data = prepare(args.database_url, args.redis_url, args.clients)
    process, server, sock = start_server(args.database_url, args.redis_url, args.workers)
    try:
        result = asyncio.run(run(server, data, args.clients, args.writes))
    finally:
        stop_server(process)
        sock.close()

    n = args.clients
    print(
        f"\n{n} WebSocket clients on one event, {args.writes} sequential writes per phase, "
        f"uvicorn --workers {args.workers}, PostgreSQL + Redis "
        f"(all {n} connected in {result['connect_seconds']:.1f} s)\n"
    )
    print("| measure | median / p95 / max (ms) |")
    print("|---|---|")
    print(f"| PATCH latency, event shared with nobody | {describe(result['alone'])} |")
    print(f"| PATCH latency, shared with {n}, no listeners | {describe(result['shared'])} |")
    print(f"| PATCH latency, shared with {n}, {n} listening | {describe(result['listening'])} |")
    print(f"| change → delivery, each of {len(result['deliveries'])} messages | {describe(result['deliveries'])} |")
    print(f"| change → delivery to the last of the {n} clients, per write | {describe(result['last_delivery'])} |")


if __name__ == "__main__":
    main()
