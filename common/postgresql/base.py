"""Django's PostgreSQL backend, with a pool that recovers at once when the database server restarts.

A restart kills every connection resting in the pool. psycopg's pool check on checkout (Django's
CONN_HEALTH_CHECKS) finds them one at a time and sleeps longer after each (1 s, 2 s, 4 s, ...),
so the first requests after a restart would wait seconds or time out; without it each dead
connection fails one request. Here the first checkout that finds a dead connection has the pool
check every resting connection at once (the broken ones are replaced) and takes a working one:
no request fails or waits for the dead connections.
"""

from __future__ import annotations

import logging

import psycopg
from django.db.backends.postgresql import base
from psycopg_pool import ConnectionPool

logger = logging.getLogger(__name__)


class DatabaseWrapper(base.DatabaseWrapper):
    def get_new_connection(self, conn_params):
        connection = super().get_new_connection(conn_params)
        pool = self.pool
        if pool is None:
            return connection
        try:
            ConnectionPool.check_connection(connection)  # one round trip: an empty query
        except psycopg.Error as error:
            logger.warning("a pooled database connection is broken (%s): checking every pooled connection", error)
            pool.putconn(connection)  # broken: the pool discards it
            pool.check()  # the others too; each broken one is replaced
            connection = super().get_new_connection(conn_params)
        return connection
