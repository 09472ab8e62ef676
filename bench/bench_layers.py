"""The authenticated no-op over HTTP, one layer at a time: what each layer between Django and `GET /api/auth/me`
adds, on one uvicorn worker with one sequential keep-alive client (those of `bench/bench_requests.py`).

    .venv/bin/python bench/bench_layers.py                        # both backends
    .venv/bin/python bench/bench_layers.py --backends embedded --rounds 10

Per backend: the bare ASGI floor and Django's own floor (`bench/floor_django.py`: a plain view, no middleware),
each on a server of its own; then one server of the API with the layers' URLs in front of its own
(`bench/layers_settings.py`, `bench/layers_urls.py`), where each call adds one layer to the one before:

- `middleware`: a plain Django view behind the API's middleware;
- `drf`: a DRF view (its request, content negotiation, JSON rendering), no authentication, permission or limit;
- `authenticated`: the API's authentication (the token, its revocation check) and permission;
- `rate-limited`: the API's rate limits too;
- `me`: `GET /api/auth/me` itself (its serializer and the API's own view classes).

The calls on the API's server take turns, `--rounds` times `--requests` requests each (after a few untimed,
`bench_requests.timed`), so a change of the machine's load falls on all of them. Printed per call, each the
median of its rounds: median and p95 latency, the server process's CPU time per request (from /proc), the
median's ratio to the floor, and what it adds to the call before it. See docs/PERFORMANCE.md, "Per-request cost".
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_requests import (  # noqa: E402
    WARMUP,
    Client,
    add_rounds_arguments,
    backends_of,
    floor,
    medians_of_rounds,
    prepare,
    timed,
    uptime,
)
from bench.server import start_server, stop_server  # noqa: E402

LAYERS = ["middleware", "drf", "authenticated", "rate-limited", "me"]
PATHS = {name: f"/bench/layers/{name}" for name in LAYERS[:-1]} | {"me": "/api/auth/me"}


def layers(backend: str, args, workdir: Path) -> dict:
    env = prepare(backend, args, ROOT, workdir) | {"DJANGO_SETTINGS_MODULE": "bench.layers_settings"}
    process = start_server(env, args.port + 1, 1, ready_path=PATHS["middleware"])
    try:
        anonymous = Client(args.port + 1)
        status, _, content, _ = anonymous.request(
            "POST",
            "/api/auth/register",
            {"username": "layers", "email": "layers@example.com", "password": "bench-password-123"},
        )
        assert status == 201, content
        client = Client(args.port + 1, json.loads(content)["access"], server_pid=process.pid)
        rounds: dict[str, list[dict]] = {name: [] for name in LAYERS}
        for _ in range(args.rounds):
            for name in LAYERS:
                rounds[name].append(timed(client, [(PATHS[name], None)] * (WARMUP + args.requests), 200))
        client.close()
    finally:
        stop_server(process)
    return medians_of_rounds(rounds)


def report(backend: str, floors: dict, measured: dict) -> None:
    rows = {"floor": floors["floor"], "django": floors["floor+django"], **measured}
    floor_median = rows["floor"]["median"]
    print(f"\n{backend} (load average: {uptime()})")
    print(f"{'call':14} {'median ms':>10} {'p95 ms':>8} {'× floor':>8} {'CPU ms':>7} {'adds ms':>8} {'adds CPU':>9}")
    previous = None
    for name, row in rows.items():
        adds = "" if previous is None else f"{row['median'] - previous['median']:8.2f}"
        adds_cpu = "" if previous is None else f"{row['cpu'] - previous['cpu']:9.2f}"
        print(
            f"{name:14} {row['median']:10.2f} {row['p95']:8.2f} {row['median'] / floor_median:8.1f}"
            f" {row['cpu']:7.2f} {adds:>8} {adds_cpu:>9}"
        )
        previous = row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_rounds_arguments(parser, "calendar_perf_layers", "timed requests per call and round")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        for backend in backends_of(args):
            floors = {"floor": floor(args.port), "floor+django": floor(args.port, "bench.floor_django:application")}
            report(backend, floors, layers(backend, args, Path(workdir)))


if __name__ == "__main__":
    main()
