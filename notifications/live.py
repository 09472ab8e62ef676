"""Live sending: committed changes to their recipients' WebSockets, across worker processes (the channel
layer), bounded in time so a hung Redis never holds a request; and closing a logged-out session's sockets."""

from __future__ import annotations

import asyncio
import logging
import time

from asgiref.sync import async_to_sync
from channels.exceptions import ChannelFull
from channels.layers import get_channel_layer
from django.db import transaction
from redis.exceptions import RedisError

from . import fanout
from .groups import session_group

logger = logging.getLogger(__name__)

# The longest a request waits for its after-commit live send: the channel layer reads without a
# timeout (see the settings), so a Redis that accepts connections and never answers would hold the
# request for good. The change is committed either way; sockets catch up from the feed.
LIVE_SEND_TIMEOUT = 3.0
# After a failed live send, the next ones are skipped for this long (seconds) instead of each waiting.
LIVE_SEND_PAUSE = 5.0
_live_paused_until = 0.0


def publish(changes: list[tuple[dict, dict[int, list]]]) -> None:
    """Send committed changes to their recipients' sockets: (payload, {user id: [position, feed kind,
    role, notification id]}) each, in feed order.

    A channel layer that is down loses only the live copy: the changes are in the feeds, and a
    client resumes from its last cursor.
    """
    global _live_paused_until
    layer = get_channel_layer()
    if layer is None:
        return
    if time.monotonic() < _live_paused_until:
        logger.warning("notifications: %d changes not sent live (the channel layer failed moments ago)", len(changes))
        return
    try:
        async_to_sync(_bounded)(_send_all(layer, changes))
    except ChannelFull:
        logger.exception("notifications: %d changes not sent live; clients will catch up from the feed", len(changes))
    except (TimeoutError, RedisError, OSError):  # the layer is down or hung
        _live_paused_until = time.monotonic() + LIVE_SEND_PAUSE
        logger.exception("notifications: %d changes not sent live; clients will catch up from the feed", len(changes))


async def _bounded(send) -> None:
    await asyncio.wait_for(send, LIVE_SEND_TIMEOUT)


async def _send_all(layer, changes) -> None:
    for payload, recipients in changes:
        full = await fanout.send_change(layer, payload, recipients)
        if full:
            logger.warning("notifications: %d worker queues full; their sockets will catch up from the feed", full)


def session_sockets_close(*, session_id: str) -> None:
    """After commit, close the sockets opened with the logged-out session's tokens (any worker process)."""

    def send() -> None:
        layer = get_channel_layer()
        if layer is None:
            return
        try:
            async_to_sync(_bounded)(layer.group_send(session_group(session_id), {"type": "session.revoked"}))
        except (TimeoutError, RedisError, OSError, ChannelFull):
            # The socket still closes at its next revocation check (consumers.revocation_check_seconds).
            logger.exception("notifications: could not close the sockets of a logged-out session")

    transaction.on_commit(send)
