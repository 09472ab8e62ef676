"""Fixtures for the fault tests: a private PostgreSQL cluster (made, migrated once per session and
removed even when a test fails), and a time limit for tests that could hang on a dead Redis. The
servers the tests start and the SQL they send are helpers of tests/faults/cluster.py."""

from __future__ import annotations

import os
import signal

import pytest

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
def cluster_binaries():
    """The directory of initdb, pg_ctl and postgres; the test is skipped outside the PostgreSQL pass or without them."""
    if not _postgres_pass():
        pytest.skip("private-cluster fault tests run in the PostgreSQL pass only (DATABASE_URL=postgres://...)")
    bindir = pg.server_bindir()
    if bindir is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl, postgres) are not installed")
    return bindir


@pytest.fixture(scope="session")
def private_cluster(cluster_binaries):
    """A running private cluster with the schema migrated: (Cluster, database URL)."""
    with pg.migrated_cluster(cluster_binaries, DATABASE) as made:
        yield made
