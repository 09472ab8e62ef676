"""The notifications WebSocket: one group per user, each message carrying the cursor of its change.

Services send each committed change to the group of every recipient with the recipient's feed
position. Messages of one user can arrive out of order (two commits published by two processes);
the consumer delivers them strictly in feed order: a message further ahead than the next position
first makes it send what lies in between from the feed, and one it has already passed is dropped.
So the cursor of the last message a client received is exactly where it is: reconnecting with
`?cursor=` (or calling `GET /api/sync?cursor=`) resumes with no gap and no duplicate.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import weakref
from urllib.parse import parse_qs

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from redis.exceptions import RedisError

from accounts.tokens import SESSION_CLAIM, access_token_revoked

from . import cursors
from .cursors import CursorGone
from .fanout import message_for
from .groups import session_group, user_group
from .selectors import check_cursor, feed_messages, stream_state

logger = logging.getLogger(__name__)

# Close codes (4000-4999 are the application's), after the HTTP statuses they mirror.
CLOSE_UNAUTHENTICATED = 4401  # missing, invalid, expired or logged-out token
CLOSE_CURSOR_GONE = 4410  # ?cursor= unknown or older than the retention: resync with GET /api/sync
# RFC 6455 7.4.1 "internal error": the channel layer (Redis) failed. Not the client's fault: reconnect
# after a delay with the last cursor, and nothing is missed (the changes are in the feed).
CLOSE_INTERNAL_ERROR = 1011
# What a channel layer that lost its Redis raises (redis-py wraps most socket errors in its own).
CHANNEL_LAYER_FAILURES = (RedisError, OSError)

# Group joins and leaves in flight at once per process: when hundreds of sockets connect or drop
# together, they queue here rather than exhaust the channel layer's connection pool (100 with Redis).
MEMBERSHIP_CONCURRENCY = 32
_membership_limits: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _membership_limit() -> asyncio.Semaphore:
    loop = asyncio.get_running_loop()
    limit = _membership_limits.get(loop)
    if limit is None:
        limit = _membership_limits[loop] = asyncio.Semaphore(MEMBERSHIP_CONCURRENCY)
    return limit


__all__ = ["CLOSE_CURSOR_GONE", "CLOSE_INTERNAL_ERROR", "CLOSE_UNAUTHENTICATED", "NotificationConsumer", "user_group"]


@database_sync_to_async
def _start_position(user_id: int, raw_cursor: str | None) -> tuple[int, int]:
    if not raw_cursor:
        position = stream_state(user_id=user_id)[0]
        return position, position
    cursor = cursors.decode(raw_cursor, user_id=user_id)
    if cursor.snapshot_after is not None:
        raise cursors.InvalidCursor("the listing is not finished; page through GET /api/sync first")
    check_cursor(cursor)
    return cursor.position, cursor.floor


@database_sync_to_async
def _feed_messages(user_id: int, after: int, until: int | None, limit: int):
    return feed_messages(user_id=user_id, after=after, until=until, limit=limit)


class NotificationConsumer(AsyncJsonWebsocketConsumer):
    # How often a long-lived socket re-checks that its token was not logged out (a primary-key lookup).
    revocation_check_seconds = 30.0
    replay_batch = 200
    clock = staticmethod(time.time)

    async def __call__(self, scope, receive, send) -> None:
        # The channel layer fails under every socket at once when Redis dies (its blocking receive, a
        # group join or leave): each one closes with 1011 and a warning, not a crash with a traceback.
        self.accepted = self.client_gone = False
        try:
            await super().__call__(scope, receive, send)
        except CHANNEL_LAYER_FAILURES as error:
            logger.warning("notifications: the channel layer failed (%s); socket closed with 1011", error)
            if self.client_gone:
                return
            self.closed = True
            with contextlib.suppress(OSError):  # the client went away meanwhile: nobody to tell
                if not self.accepted:
                    await self.accept(subprotocol=self.scope.get("auth_subprotocol"))
                await self.close(code=CLOSE_INTERNAL_ERROR, reason="live updates unavailable; reconnect later")

    async def accept(self, subprotocol=None, headers=None) -> None:
        await super().accept(subprotocol=subprotocol, headers=headers)
        self.accepted = True

    async def dispatch(self, message: dict) -> None:
        # Channels closes stale database connections before every handler, a hop through the one
        # thread that also runs every request's view: for a change sent to 500 sockets, 500 hops in
        # front of the next request. Our handlers reach the database only through
        # database_sync_to_async, which does that itself.
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def connect(self) -> None:
        user = self.scope.get("user")
        subprotocol = self.scope.get("auth_subprotocol")
        if user is None or not user.is_authenticated:
            # Accept then close, so the client sees our close code and not a bare handshake failure
            # (with the bearer subprotocol answered: a browser fails a handshake that drops it).
            await self.accept(subprotocol=subprotocol)
            await self.close(
                code=CLOSE_UNAUTHENTICATED, reason=_short(self.scope.get("auth_error") or "unauthenticated")
            )
            return
        self.user_id = user.pk
        self.closed = False
        self.revocation_checked_at = time.monotonic()
        query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        raw_cursor = (query.get("cursor") or [None])[-1]
        # Join the group before reading the position: nothing committed after the read can be missed.
        self.group = user_group(user.pk)
        session = (self.scope.get("auth_token") or {}).get(SESSION_CLAIM)
        self.session_group = session_group(session) if session else None
        async with _membership_limit():
            await self.channel_layer.group_add(self.group, self.channel_name)
            if self.session_group:
                await self.channel_layer.group_add(self.session_group, self.channel_name)
        try:
            self.position, self.floor = await _start_position(user.pk, raw_cursor)
        except (cursors.InvalidCursor, CursorGone):
            await self.accept(subprotocol=subprotocol)
            await self._close(CLOSE_CURSOR_GONE, "cursor unknown or too old; resync with GET /api/sync")
            return
        await self.accept(subprotocol=subprotocol)
        if raw_cursor:
            await self._catch_up(until=None)

    async def disconnect(self, code: int) -> None:
        self.client_gone = True
        if hasattr(self, "group"):
            async with _membership_limit():
                await self.channel_layer.group_discard(self.group, self.channel_name)
                if self.session_group:
                    await self.channel_layer.group_discard(self.session_group, self.channel_name)

    async def session_revoked(self, message: dict) -> None:
        """The session this socket was opened with was logged out: close now, not at the next check."""
        if not getattr(self, "closed", True):
            await self._close(CLOSE_UNAUTHENTICATED, "token revoked")

    async def receive(self, text_data=None, bytes_data=None, **kwargs) -> None:
        try:
            content = await self.decode_json(text_data) if text_data else None
        except ValueError:
            content = None
        # The socket is for server → client messages; a ping keeps proxies from closing it.
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"type": "pong"})
        else:
            await self.send_json({"type": "error", "detail": 'Only {"type": "ping"} is understood.'})

    async def notify(self, message: dict) -> None:
        """A committed change: message["recipients"][our user] = [feed position, feed kind, role, notification id]."""
        entry = message["recipients"].get(str(getattr(self, "user_id", None)))
        if entry is None or getattr(self, "closed", True):
            return
        seq, feed_kind, role, notification_id = entry
        if seq <= self.position:
            return  # already delivered, from the feed
        if seq > self.position + 1:
            await self._catch_up(until=seq - 1)
            if self.closed or seq <= self.position:
                return
        payload = message_for(message["payload"], feed_kind=feed_kind, role=role, notification_id=notification_id)
        await self._deliver(seq, payload)

    async def _catch_up(self, *, until: int | None) -> None:
        """Deliver the feed after our position (up to `until`), skipping the user's own changes."""
        while not self.closed:
            rows = await _feed_messages(self.user_id, self.position, until, self.replay_batch)
            for seq, own, payload in rows:
                if own:
                    # Never echoed, but still owed to the user's other devices: the floor stays
                    # below it, so a cursor from a later message still leads a sync to it.
                    self.position = seq
                    continue
                await self._deliver(seq, payload)
                if self.closed:
                    return
            if len(rows) < self.replay_batch:
                return

    async def _deliver(self, seq: int, payload: dict) -> None:
        problem = await self._credentials_problem()
        if problem:
            await self._close(CLOSE_UNAUTHENTICATED, problem)
            return
        self.position = seq
        cursor = cursors.encode(cursors.Cursor(self.user_id, seq, self.floor))
        await self.send_json({**payload, "cursor": cursor})

    async def _credentials_problem(self) -> str | None:
        """Why the token this socket was opened with no longer holds (expired, logged out), or None."""
        token = self.scope.get("auth_token")
        if token is None:
            return None
        if self.clock() >= token["exp"]:
            return "token expired"
        now = time.monotonic()
        if now - self.revocation_checked_at >= self.revocation_check_seconds:
            self.revocation_checked_at = now
            if await database_sync_to_async(access_token_revoked)(token):
                return "token revoked"
        return None

    async def _close(self, code: int, reason: str) -> None:
        self.closed = True
        await self.close(code=code, reason=_short(reason))


def _short(reason: str) -> str:
    # A close frame's reason is at most 123 bytes.
    return reason.encode()[:123].decode(errors="ignore")
