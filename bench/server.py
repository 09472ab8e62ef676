"""The server the benchmarks drive: uvicorn workers started in their own process group, stopped whole."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Rate limits would otherwise be what a benchmark measures.
UNTHROTTLED = {
    "THROTTLE_USER": "10000000/min",
    "THROTTLE_ANON": "10000000/min",
    "THROTTLE_AUTH_IP": "10000000/min",
    "THROTTLE_AUTH_USERNAME": "10000000/min",
    "LOG_LEVEL": "WARNING",
}


def start_server(
    env: dict,
    port: int,
    workers: int,
    *,
    pool_size: int = 8,
    app: str = "config.asgi:application",
    ready_path: str = "/api/schema?format=json",
    cwd: Path = ROOT,
    host: str = "127.0.0.1",
    wrapper: tuple[str, ...] = (),
) -> subprocess.Popen:
    """uvicorn with `workers` processes on `host`:`port` serving `app`, returned once `ready_path` answers; `wrapper`
    is a command that runs it (`ip netns exec <namespace>`: tests/faults/partition.py)."""
    command = [*wrapper, sys.executable, "-m", "uvicorn", app, "--host", host, "--port", str(port)]
    command += ["--workers", str(workers), "--lifespan", "off", "--log-level", "warning", "--no-access-log"]
    server_env = {**env, **UNTHROTTLED, "DB_POOL_MAX_SIZE": str(pool_size)}
    process = subprocess.Popen(command, cwd=cwd, env=server_env, start_new_session=True)
    for _ in range(100):
        try:
            with urllib.request.urlopen(f"http://{host}:{port}{ready_path}", timeout=2) as answer:
                if answer.status == 200:
                    return process
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.3)
    stop_server(process)
    raise SystemExit("the server did not come up")


def stop_server(process: subprocess.Popen) -> None:
    """SIGTERM to the whole process group (the workers too), and wait for it."""
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(timeout=30)
