"""The cache's Redis connections fail fast while Redis is down: a circuit breaker per process.

The cache and the rate limits fail open when Redis fails (IGNORE_EXCEPTIONS in the settings), but
each cache call would still wait for its own failure: a Redis that refuses connections costs little,
one that accepts them and never answers (hung, or a network dropping replies) costs the socket
timeout on every call, several times per request. After a connection or timeout error the address
is skipped for COOL_DOWN seconds: calls fail at once (and fail open), then one call tries again.
"""

from __future__ import annotations

import logging
import time

from redis.connection import Connection, ConnectionPool
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

COOL_DOWN = 5.0  # seconds
_FAILURES = (RedisConnectionError, RedisTimeoutError, OSError)
# (host, port) → monotonic time until which it is skipped
_down_until: dict[tuple[str, int], float] = {}


def is_down(host: str, port: int) -> bool:
    return _down_until.get((host, port), 0.0) > time.monotonic()


def reset() -> None:
    """Forget every failure (tests)."""
    _down_until.clear()


class RedisSkipped(RedisConnectionError):
    """Raised instead of trying a Redis that failed moments ago."""


class DropSkipped(logging.Filter):
    """A filter for django-redis's logger: one traceback for the failure that tripped the breaker, not one
    more for every cache call skipped after it (those would be several per request while Redis is down)."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        while error is not None:
            if isinstance(error, RedisSkipped):
                return False
            error = error.__cause__ or error.__context__
        return True


class FailFastConnection(Connection):
    def _trip(self, error: Exception) -> None:
        if not is_down(self.host, self.port):
            logger.warning("Redis at %s:%s failed (%s): skipped for %g s", self.host, self.port, error, COOL_DOWN)
        _down_until[(self.host, self.port)] = time.monotonic() + COOL_DOWN

    def connect_check_health(self, *args, **kwargs):
        if is_down(self.host, self.port):
            raise RedisSkipped(f"Redis at {self.host}:{self.port} failed moments ago; skipped for now.")
        try:
            return super().connect_check_health(*args, **kwargs)
        except _FAILURES as error:
            self._trip(error)
            raise

    def send_packed_command(self, *args, **kwargs):
        try:
            return super().send_packed_command(*args, **kwargs)
        except _FAILURES as error:
            self._trip(error)
            raise

    def read_response(self, *args, **kwargs):
        try:
            return super().read_response(*args, **kwargs)
        except _FAILURES as error:
            self._trip(error)
            raise


class FailFastConnectionPool(ConnectionPool):
    """django-redis's CONNECTION_POOL_CLASS: TCP connections that fail fast (unix sockets are left as they are)."""

    def __init__(self, connection_class=Connection, **kwargs):
        if connection_class is Connection:
            connection_class = FailFastConnection
        super().__init__(connection_class=connection_class, **kwargs)
