"""Pointing the cache and the channel layer at a Redis that is down, and what the logs say then."""

from __future__ import annotations

import logging
from contextlib import contextmanager

from django.test import override_settings

from common import redis_breaker
from config.settings.base import redis_cache, redis_channel_layer
from notifications import live as notification_services


@contextmanager
def redis_at(url: str):
    """The cache and the channel layer on `url` (the cache handler and the layers are rebuilt), with
    the circuit breaker's memory of failed addresses reset before and after."""
    redis_breaker.reset()
    notification_services._live_paused_until = 0.0
    try:
        with override_settings(
            CACHES={"default": redis_cache(url)},
            CHANNEL_LAYERS={"default": redis_channel_layer(url)},
            DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS=True,
        ):
            yield
    finally:
        redis_breaker.reset()
        notification_services._live_paused_until = 0.0  # live sends resume at once for the next test


def redis_errors(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name.startswith("django_redis") and r.levelno >= logging.ERROR]


def live_send_errors(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "notifications.live" and "not sent live" in r.getMessage()]
