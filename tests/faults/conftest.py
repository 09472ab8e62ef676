"""Fixtures for the fault tests: a private PostgreSQL cluster (made, migrated once per session and
removed even when a test fails), uvicorn workers serving from it (their whole process group is
stopped after each module), and a time limit for tests that could hang on a dead Redis."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess

import psycopg
import pytest

from bench.server import start_server
from tests.faults import cluster as pg

DATABASE = "calendar_faults_private"


@pytest.fixture
def never_hang():
    """A request that waits on a dead Redis for good fails the test instead of holding the suite."""

    def hung(signum, frame):
        raise AssertionError("hung on a dead Redis")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(60)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def _postgres_pass() -> bool:
    return os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://", "pgsql://"))


@pytest.fixture(scope="session")
def private_cluster():
    """A running private cluster with the schema migrated: (Cluster, database URL)."""
    if not _postgres_pass():
        pytest.skip("private-cluster fault tests run in the PostgreSQL pass only (DATABASE_URL=postgres://...)")
    bindir = pg.server_bindir()
    if bindir is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl, postgres) are not installed")
    instance = pg.Cluster(bindir)
    try:
        instance.init()
        instance.start()
        with psycopg.connect(instance.url(), autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{DATABASE}"')
        url = instance.url(DATABASE)
        pg.manage(url, "migrate", "--noinput")
        yield instance, url
    finally:
        instance.destroy()


@contextlib.contextmanager
def running_server(database_url: str, *, workers: int = 2, **environment: str):
    """uvicorn with `workers` processes on a free port: (Popen, base URL); the process group is killed after."""
    port = pg.free_port()
    env = pg.server_environment(database_url, os.environ.get("REDIS_URL"), **environment)
    process = start_server(env, port, workers, pool_size=int(environment.get("DB_POOL_MAX_SIZE", 4)))
    try:
        yield process, f"http://127.0.0.1:{port}"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def sql(url: str, query: str, params=()) -> list[tuple]:
    with psycopg.connect(url, autocommit=True) as connection:
        return connection.execute(query, params).fetchall()
