"""Django's PostgreSQL backend, with a pool that recovers at once when the database server restarts.

A restart kills every connection resting in the pool. psycopg's pool check on checkout (Django's
CONN_HEALTH_CHECKS) finds them one at a time and sleeps longer after each (1 s, 2 s, 4 s, ...),
so the first requests after a restart would wait seconds or time out; without it each dead
connection fails one request. Here the first checkout that finds a dead connection has the pool
check every resting connection at once (the broken ones are replaced) and takes a working one:
no request fails or waits for the dead connections.

Finding a dead connection costs no round trip. A connection resting in the pool has nothing to read:
the server speaks only when asked. A server that ends the session (a restart, a crash, an
administrator's `pg_terminate_backend`) sends its farewell or closes the socket, and either makes the
socket readable. So a checkout polls the socket, without waiting: quiet, the connection is handed out
as it is; readable (or closed, or broken), it gets the full check, an empty query. The full check on
every checkout was a round trip on every request (docs/PERFORMANCE.md).

Instants (`timestamptz` columns) are read by psycopg's own loader, compiled in its binary build,
rather than the pure-Python subclass Django registers (which parses each value, converts it to the
session's zone, then labels it with Django's): a page of 20 events has some 80 of them, and Django's
loader took about 12 times as long (docs/PERFORMANCE.md, "Fifth round"). Django keeps the session's
zone UTC, so psycopg's loader gives the same aware datetimes in UTC; where Django's zone is not UTC
its loader is kept.
"""

from __future__ import annotations

import logging
import select
from datetime import UTC
from functools import lru_cache

import psycopg
from django.db.backends.postgresql import base
from django.db.backends.postgresql.psycopg_any import get_adapters_template
from psycopg.adapt import AdaptersMap
from psycopg.pq import Format
from psycopg.types.datetime import TimestamptzLoader
from psycopg_pool import ConnectionPool

logger = logging.getLogger(__name__)


_PSYCOPG_INSTANT_LOADER = psycopg.adapters.get_loader(base.TIMESTAMPTZ_OID, Format.TEXT)  # C in the binary build


class UTCInstantLoader(TimestamptzLoader):
    """psycopg's own `timestamptz` loader, for a session whose zone is UTC: aware datetimes in UTC, as Django's
    gives them. A Python class only to carry `timezone`, which Django's cursors check (the C class takes no
    attributes); each value is loaded by the C loader alone."""

    timezone = UTC

    def __init__(self, oid: int, context=None) -> None:
        super().__init__(oid, context)
        self._load = _PSYCOPG_INSTANT_LOADER(oid, context).load

    def load(self, data):
        return self._load(data)


@lru_cache
def _adapters_with_utc_instants(template: AdaptersMap) -> AdaptersMap:
    adapters = AdaptersMap(template)
    adapters.register_loader("timestamptz", UTCInstantLoader)
    return adapters


class DatabaseWrapper(base.DatabaseWrapper):
    def get_connection_params(self):
        params = super().get_connection_params()
        if params.get("context") is get_adapters_template(True, UTC):  # USE_TZ, and Django's zone is UTC
            params["context"] = _adapters_with_utc_instants(params["context"])
        return params

    def get_new_connection(self, conn_params):
        connection = super().get_new_connection(conn_params)
        pool = self.pool
        if pool is None:
            return connection
        if _quiet(connection):
            return connection
        try:
            ConnectionPool.check_connection(connection)  # one round trip: an empty query
        except psycopg.Error as error:
            logger.warning("a pooled database connection is broken (%s): checking every pooled connection", error)
            pool.putconn(connection)  # broken: the pool discards it
            pool.check()  # the others too; each broken one is replaced
            connection = super().get_new_connection(conn_params)
        return connection


def _quiet(connection: psycopg.Connection) -> bool:
    """True when nothing has arrived on the resting connection's socket (see the module docstring): it is
    as the last request left it. False when the server has spoken or hung up, or psycopg knows it is gone."""
    if connection.closed or connection.broken:
        return False
    try:
        poll = select.poll()
        poll.register(connection.fileno(), select.POLLIN | select.POLLPRI)
        return not poll.poll(0)
    except (OSError, ValueError, psycopg.Error):
        return False
