"""A pooled PostgreSQL connection is handed out without a round trip while it is healthy, and checked (then
replaced with its dead neighbours) once the server has ended its session (common/postgresql/base.py).

The pool's own connections, against the test database: no mock of the database. `check_connection` (psycopg's
empty query) is wrapped to count its calls, and still runs."""

from __future__ import annotations

import pytest
from django.db import DEFAULT_DB_ALIAS, connection, connections
from psycopg_pool import ConnectionPool

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


@pytest.fixture
def checks(monkeypatch):
    """The connections `check_connection` was called on."""
    called = []
    real = ConnectionPool.check_connection

    def counted(conn):
        called.append(conn)
        return real(conn)

    monkeypatch.setattr(ConnectionPool, "check_connection", staticmethod(counted))
    return called


@pytest.fixture
def wrapper():
    """A second database wrapper on the same pool, as each request thread has one."""
    other = connections.create_connection(DEFAULT_DB_ALIAS)
    yield other
    other.close()


def _checkout(wrapper):
    return wrapper.get_new_connection(wrapper.get_connection_params())


def _alive(conn) -> bool:
    return conn.execute("SELECT 1").fetchone() == (1,)


def test_a_resting_connection_is_handed_out_without_a_round_trip(wrapper, checks):
    for _ in range(5):
        conn = _checkout(wrapper)
        assert _alive(conn)
        wrapper.pool.putconn(conn)
    assert checks == []


def test_connections_the_server_ended_are_checked_and_replaced_before_any_is_handed_out(wrapper, checks):
    pool = wrapper.pool
    held = [_checkout(wrapper) for _ in range(3)]  # at least three resting connections once given back
    pids = {conn.info.backend_pid for conn in held}
    for conn in held:
        pool.putconn(conn)
    assert checks == []

    with connection.cursor() as cursor:  # another session ends theirs, as a server restart does
        for pid in pids:
            cursor.execute("SELECT pg_terminate_backend(%s, 5000)", [pid])
            assert cursor.fetchone() == (True,)

    conn = _checkout(wrapper)
    try:
        assert checks, "a connection whose session had ended was handed out unchecked"
        assert conn.info.backend_pid not in pids
        assert _alive(conn)
    finally:
        pool.putconn(conn)
    # Every dead one was found at once: the next checkouts are live connections, unchecked.
    checked = len(checks)
    for _ in range(len(pids)):
        conn = _checkout(wrapper)
        assert conn.info.backend_pid not in pids
        assert _alive(conn)
        pool.putconn(conn)
    assert len(checks) == checked
