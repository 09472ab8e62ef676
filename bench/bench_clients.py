"""The floor, the authenticated no-op and a 304, as three HTTP client libraries see them: how much the ratios to
the floor depend on the client that measures them.

    .venv/bin/python bench/bench_clients.py                        # both backends
    .venv/bin/python bench/bench_clients.py --backends embedded --rounds 10

Every figure of `bench/bench_requests.py`, the floor's included, is the time from sending a request to reading
the last byte of its answer, so each includes the client's own work. With the standard library's `http.client`
that is least; `requests` and `httpx`, which many API clients are written with, spend more per request and leave
the server idle for longer between requests. The ratio of a call to the floor shrinks with a costlier client.

Per backend, two servers run side by side: the bare ASGI floor (`bench/floor_app.py`) and the API on a fresh
database (`bench/bench_requests.py`'s `prepare`), with one registered user and one event. Then, `--rounds` times,
each client in turn sends `--requests` requests (after a few untimed, `bench_requests.timed`) of each call: the
floor, `GET /api/auth/me`, and the event's detail with `If-None-Match` (a 304, from the cache). Clients and
calls take turns, so a change of the machine's load falls on all of them. Printed per client, each the median of
its rounds: the medians in ms, the two ratios to the floor, and the server's CPU time per request.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_requests import (  # noqa: E402
    BASE_ENV,
    WARMUP,
    Client,
    add_rounds_arguments,
    backends_of,
    medians_of_rounds,
    prepare,
    timed,
    uptime,
)
from bench.server import start_server, stop_server  # noqa: E402

LIBRARIES = ["http.client", "requests", "httpx"]
CALLS = ["floor", "me", "304"]


def measure(backend: str, args, workdir: Path) -> dict:
    floor_port, api_port = args.port, args.port + 1
    floor_server = start_server(
        BASE_ENV | dict(os.environ), floor_port, 1, app="bench.floor_app:application", ready_path="/"
    )
    api_server = None
    try:
        api_server = start_server(prepare(backend, args, ROOT, workdir), api_port, 1)
        status, _, content, _ = Client(api_port).request(
            "POST",
            "/api/auth/register",
            {"username": "clients", "email": "clients@example.com", "password": "bench-password-123"},
        )
        assert status == 201, content
        token = json.loads(content)["access"]
        owner = Client(api_port, token)
        body = {"title": "Polled", "start_time": "2031-01-06T09:00:00Z", "end_time": "2031-01-06T10:00:00Z"}
        status, _, content, _ = owner.request("POST", "/api/events", body)
        assert status == 201, content
        detail = f"/api/events/{json.loads(content)['id']}"
        etag = owner.request("GET", detail)[1]["ETag"]
        owner.close()
        count = WARMUP + args.requests
        work = {
            "floor": (floor_port, None, [("/", None)] * count, 200),
            "me": (api_port, token, [("/api/auth/me", None)] * count, 200),
            "304": (api_port, token, [(detail, {"If-None-Match": etag})] * count, 304),
        }
        servers = {"floor": floor_server, "me": api_server, "304": api_server}
        rounds: dict[tuple[str, str], list[dict]] = {(library, call): [] for library in LIBRARIES for call in CALLS}
        for _ in range(args.rounds):
            for library in LIBRARIES:
                for call, (port, caller, requests, expect) in work.items():
                    # A new connection each time (made during the untimed warm-up): the server closes one left idle.
                    client = Client(port, caller, server_pid=servers[call].pid, library=library)
                    rounds[(library, call)].append(timed(client, requests, expect))
                    client.close()
    finally:
        stop_server(floor_server)
        if api_server is not None:
            stop_server(api_server)
    return medians_of_rounds(rounds)


def report(backend: str, measured: dict) -> None:
    print(f"\n{backend} (load average: {uptime()})")
    print(
        f"{'client':12} {'floor ms':>9} {'me ms':>7} {'× floor':>8} {'304 ms':>7} {'× floor':>8}"
        f" {'CPU floor':>10} {'CPU me':>7} {'CPU 304':>8}"
    )
    for library in LIBRARIES:
        floor, me, not_modified = (measured[(library, call)] for call in CALLS)
        print(
            f"{library:12} {floor['median']:9.2f} {me['median']:7.2f} {me['median'] / floor['median']:8.1f}"
            f" {not_modified['median']:7.2f} {not_modified['median'] / floor['median']:8.1f}"
            f" {floor['cpu']:10.2f} {me['cpu']:7.2f} {not_modified['cpu']:8.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_rounds_arguments(parser, "calendar_clients_bench", "timed requests per call, client and round")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        for backend in backends_of(args):
            report(backend, measure(backend, args, Path(workdir)))


if __name__ == "__main__":
    main()
