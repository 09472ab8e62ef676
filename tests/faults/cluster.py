"""A private PostgreSQL cluster to break on purpose, and the uvicorn workers that serve from it.

The cluster is made with `initdb` in a temporary directory and listens on a free port of 127.0.0.1
(and a socket in that directory); it is started, stopped (fast or immediate) and removed here and
nowhere else, so the shared server is never touched. PostgreSQL refuses to run as root: as root, it
runs as the `postgres` (or `nobody`) user.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import psycopg

from bench.server import start_server

ROOT = Path(__file__).resolve().parents[2]
SECRET_KEY = "faults-test-secret-key-not-for-any-deployment-0123456789abcdef"


def server_bindir() -> Path | None:
    """The directory with initdb, pg_ctl and postgres, or None when the server is not installed."""
    candidates = []
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        found = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, timeout=10, check=True)
        candidates.append(found.stdout.strip())
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)  # Debian's layout
    if shutil.which("initdb"):
        candidates.append(str(Path(shutil.which("initdb")).parent))
    for candidate in candidates:
        path = Path(candidate)
        if all((path / name).exists() for name in ("initdb", "pg_ctl", "postgres")):
            return path
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _unprivileged() -> tuple[int, int] | None:
    """(uid, gid) to run PostgreSQL as when we are root, else None."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            entry = pwd.getpwnam(name)
            return entry.pw_uid, entry.pw_gid
    raise RuntimeError("running as root and no unprivileged user to run PostgreSQL as")


class Cluster:
    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="faults-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.user = _unprivileged()
        if self.user:
            os.chown(self.root, *self.user)

    def _run(self, *args: str, timeout: float = 60, check: bool = True) -> subprocess.CompletedProcess:
        kwargs = {"user": self.user[0], "group": self.user[1], "extra_groups": []} if self.user else {}
        return subprocess.run(
            [str(self.bindir / args[0]), *args[1:]],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=check,
            cwd=self.root,
            **kwargs,
        )

    def init(self, *, also_on: str | None = None) -> None:
        """The cluster's files; it listens on 127.0.0.1, and on the address `also_on` (its network trusted too)."""
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync")
        if also_on:
            with (self.data / "pg_hba.conf").open("a") as hba:
                hba.write(f"host all all {also_on}/24 trust\n")
        options = {
            "port": self.port,
            "listen_addresses": f"'127.0.0.1{f',{also_on}' if also_on else ''}'",
            "unix_socket_directories": f"'{self.root}'",
            # Fast on a throwaway cluster, and still durable across a server crash (only an OS crash
            # could lose data): a commit is acknowledged once it is in the WAL.
            "fsync": "off",
            "full_page_writes": "off",
            "max_connections": 60,
            "shared_buffers": "'32MB'",
            "log_min_messages": "warning",
        }
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.writelines(f"{key} = {value}\n" for key, value in options.items())

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "start", timeout=90)

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop", timeout=90)

    def url(self, name: str = "postgres", host: str = "127.0.0.1") -> str:
        return f"postgres://postgres@{host}:{self.port}/{name}"

    def postmaster_pid(self) -> int | None:
        with contextlib.suppress(OSError, ValueError, IndexError):
            return int((self.data / "postmaster.pid").read_text().split()[0])
        return None

    def destroy(self) -> None:
        """Stop it whatever state it is in (immediate, then SIGKILL) and remove its files."""
        if self.data.exists():
            with contextlib.suppress(subprocess.SubprocessError, OSError):
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "-t", "20", "stop", check=False)
        pid = self.postmaster_pid()
        if pid:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(self.root, ignore_errors=True)


def manage(database_url: str, *args: str) -> None:
    subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**server_environment(database_url, None)},
        check=True,
        capture_output=True,
        timeout=300,
    )


def server_environment(database_url: str, redis_url: str | None, **extra: str) -> dict[str, str]:
    environment = {
        key: value for key, value in os.environ.items() if key not in {"REDIS_URL", "DATABASE_URL", "PYTEST_ADDOPTS"}
    }
    environment.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "DATABASE_URL": database_url,
            "SECRET_KEY": SECRET_KEY,
            "PYTHONUNBUFFERED": "1",
        }
    )
    if redis_url:  # its own key prefixes: nothing shared with the test session's cache
        environment.update({"REDIS_URL": redis_url, "CACHE_KEY_PREFIX": "faults", "CHANNELS_PREFIX": "faults"})
    environment.update(extra)
    return environment


@contextlib.contextmanager
def migrated_cluster(bindir: Path, database: str, *, also_on: str | None = None):
    """A running private cluster (listening on `also_on` too) with the schema migrated: (Cluster, database URL)."""
    instance = Cluster(bindir)
    try:
        instance.init(also_on=also_on)
        instance.start()
        with psycopg.connect(instance.url(), autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{database}"')
        url = instance.url(database)
        manage(url, "migrate", "--noinput")
        yield instance, url
    finally:
        instance.destroy()


# --- a server, and SQL on the cluster


@contextlib.contextmanager
def running_server(
    database_url: str,
    *,
    workers: int = 2,
    host: str = "127.0.0.1",
    wrapper: tuple[str, ...] = (),
    redis: bool = True,
    **environment: str,
):
    """uvicorn with `workers` processes on a free port of `host`, run by `wrapper` (bench/server.py), on the
    session's Redis unless `redis` is false: (Popen, base URL); the process group is killed after."""
    port = free_port()
    env = server_environment(database_url, os.environ.get("REDIS_URL") if redis else None, **environment)
    pool_size = int(environment.get("DB_POOL_MAX_SIZE", 4))
    process = start_server(env, port, workers, pool_size=pool_size, host=host, wrapper=wrapper)
    try:
        yield process, f"http://{host}:{port}"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def wait_for(predicate, what: str, *, within: float):
    """What `predicate` answers once it answers something true, asked every 50 ms; fails after `within` seconds."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def sql(url: str, query: str, params=()) -> list[tuple]:
    with psycopg.connect(url, autocommit=True) as connection:
        return connection.execute(query, params).fetchall()


# --- HTTP


class Answer:
    """An HTTP answer; `headers` looks names up case-insensitively (an email.message.Message)."""

    def __init__(self, status: int, headers, body: bytes, started: float, took: float) -> None:
        self.status, self.headers, self.body, self.started, self.took = status, headers, body, started, took

    def json(self):
        return json.loads(self.body) if self.body else None

    def __repr__(self) -> str:
        return f"<{self.status} in {self.took:.2f}s: {self.body[:200]!r}>"


def call(base: str, method: str, path: str, *, token: str | None = None, body=None, headers=None, timeout=30):
    """One HTTP request; an Answer with status 0 when the connection failed (refused, reset, timed out)."""
    request = urllib.request.Request(
        f"{base}{path}",
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={
            "Content-Type": "application/json",
            **({"Authorization": f"Bearer {token}"} if token else {}),
            **(headers or {}),
        },
    )
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return Answer(response.status, response.headers, response.read(), started, time.monotonic() - started)
    except urllib.error.HTTPError as error:
        return Answer(error.code, error.headers, error.read(), started, time.monotonic() - started)
    except (urllib.error.URLError, OSError) as error:
        return Answer(0, {}, str(error).encode(), started, time.monotonic() - started)


def call_until(done, within: float, *args, **kwargs) -> Answer:
    """`call(*args, **kwargs)` again every 0.2 s until `done(answer)` or `within` seconds have passed: the last
    answer."""
    deadline = time.monotonic() + within
    while True:
        answer = call(*args, **kwargs)
        if done(answer) or time.monotonic() > deadline:
            return answer
        time.sleep(0.2)


def register(base: str, username: str) -> tuple[int, str]:
    answer = call(
        base,
        "POST",
        "/api/auth/register",
        body={"username": username, "email": f"{username}@example.com", "password": "a long enough passphrase 42"},
    )
    assert answer.status == 201, answer
    body = answer.json()
    return body["user"]["id"], body["access"]


# --- which worker process holds a database connection


def worker_pids(server_pid: int) -> list[int]:
    """The uvicorn worker processes of a server (its children started by multiprocessing's spawn)."""
    found = []
    with contextlib.suppress(OSError):
        for pid in Path(f"/proc/{server_pid}/task/{server_pid}/children").read_text().split():
            with contextlib.suppress(OSError):
                if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes():
                    found.append(int(pid))
    return found


def process_with_local_port(port: int, candidates: list[int]) -> int | None:
    """The process among `candidates` owning the TCP socket bound to local `port` (Linux /proc)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                if int(fields[1].rsplit(":", 1)[1], 16) == port:
                    inodes.add(fields[9])
    for pid in candidates:
        with contextlib.suppress(OSError):
            for fd in os.listdir(f"/proc/{pid}/fd"):
                with contextlib.suppress(OSError):
                    target = os.readlink(f"/proc/{pid}/fd/{fd}")
                    if target.startswith("socket:[") and target[8:-1] in inodes:
                        return pid
    return None
