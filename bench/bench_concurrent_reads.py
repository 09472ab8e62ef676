"""Reads from many connections at once against one worker: requests a second and latency percentiles.

    .venv/bin/python bench/bench_concurrent_reads.py --backend embedded [--code <older checkout> --code .]

`bench/bench_requests.py` measures one request at a time; this is its counterpart under load. The server, the
data (a fresh user with 2,000 events through the batch endpoint) and the fresh database per run are
`bench/bench_requests.py`'s; the load is `wrk` (Debian's package `wrk`: a C client that costs the machine
little), with `--connections` kept-alive connections on one thread for `--seconds` per call, after a
3-second warm-up: the authenticated no-op (`/api/auth/me`), one event's detail and the first list page,
each from the cache after the first. With `--code` given twice the two trees alternate, `--runs` times.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_requests import Client, prepare, setup  # noqa: E402
from bench.server import start_server, stop_server  # noqa: E402


def load(port: int, path: str, auth_script: Path, connections: int, seconds: float) -> dict:
    command = ["wrk", "-t1", f"-c{connections}", "-s", str(auth_script), f"http://127.0.0.1:{port}{path}"]
    subprocess.run([*command, "-d3s"], check=True, capture_output=True)  # warm-up
    out = subprocess.run([*command, f"-d{seconds}s", "--latency"], check=True, capture_output=True, text=True).stdout
    assert "Non-2xx" not in out and "Socket errors" not in out, out
    latency = dict(re.findall(r"^\s+(50|90|99)%\s+(\S+)$", out, re.MULTILINE))
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), **latency}


def run(backend: str, args, code: Path) -> dict:
    workdir = Path(tempfile.mkdtemp(prefix="bench-concurrent-"))
    env = prepare(backend, args, code, workdir)
    server = start_server(env, args.port, 1, cwd=code)
    try:
        client, ids, _ = setup(Client(args.port), backend, env)
        auth_script = workdir / "auth.lua"
        auth_script.write_text(f'wrk.headers["Authorization"] = "{client.headers["Authorization"]}"\n')
        calls = {"me": "/api/auth/me", "detail": f"/api/events/{ids[5]}", "list": "/api/events"}
        return {
            name: load(args.port, path, auth_script, args.connections, args.seconds) for name, path in calls.items()
        }
    finally:
        stop_server(server)
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=["embedded", "postgres"], default="embedded")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--port", type=int, default=18290)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/calendar_perf_concurrent")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/5")
    parser.add_argument("--code", type=Path, action="append", help="the tree the server runs (default: this one)")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("needs wrk (Debian: apt-get install wrk)")
    print(f"{'code':40} {'call':8} {'req/s':>8} {'p50':>9} {'p90':>9} {'p99':>9}")
    for _ in range(args.runs):
        for code in args.code or [ROOT]:
            for name, figures in run(args.backend, args, code).items():
                print(
                    f"{code!s:40} {name:8} {figures['rps']:8.0f} {figures.get('50', '-'):>9} "
                    f"{figures.get('90', '-'):>9} {figures.get('99', '-'):>9}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
