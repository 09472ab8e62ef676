"""Sending one committed change to the sockets of many users.

Each user has a group (`user.<id>`). A change goes to every recipient's group as ONE message that
carries the change once and, per recipient, their feed position, role, what the change means for
their sync and their notification id; each socket picks its own entry.

With Redis, `group_send` per user would cost four round trips per user, and channels_redis keeps all
sockets of a worker process in one Redis list, so a change for 500 users would become 500 messages
queued in that list (and popped one by one, three round trips each, by the worker). Instead we do
what `group_send` does for one group, for all groups at once: look the groups' members up with one
script per Redis server, then push one message per worker list, naming the sockets it is for. A
change for 500 users then costs a worker one message, whatever the number of its sockets.
This uses channels_redis internals (group keys, the process-list layout; pinned in requirements);
any other layer gets a plain `group_send` per user.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict

from .groups import user_group

# Group sends in flight at once with a layer other than Redis.
SEND_CONCURRENCY = 32

# The members of many groups at once, after dropping expired ones.
_MEMBERS = """
local members = {}
for i = 1, #KEYS do
    redis.call('ZREMRANGEBYSCORE', KEYS[i], 0, ARGV[1])
    for _, member in ipairs(redis.call('ZRANGE', KEYS[i], 0, -1)) do
        members[#members + 1] = member
    end
end
return members
"""

# channels_redis's group-send script: drop expired messages, add each message unless its list is
# full, keep the list expiring.
_PUSH = """
local over_capacity = 0
local now = ARGV[#ARGV - 1]
local expiry = ARGV[#ARGV]
for i = 1, #KEYS do
    redis.call('ZREMRANGEBYSCORE', KEYS[i], 0, math.floor(tonumber(now)) - tonumber(expiry))
    if redis.call('ZCOUNT', KEYS[i], '-inf', '+inf') < tonumber(ARGV[i + #KEYS]) then
        redis.call('ZADD', KEYS[i], now, ARGV[i])
        redis.call('EXPIRE', KEYS[i], expiry)
    else
        over_capacity = over_capacity + 1
    end
end
return over_capacity
"""


def message_for(payload: dict, *, feed_kind: str, role: str, notification_id: int | None) -> dict:
    """One recipient's message: the change's payload with their role, its meaning for their sync, their notification."""
    message = {**payload, "change": feed_kind, "notification_id": notification_id}
    if "event" in payload:
        message["event"] = {**payload["event"], "my_role": role or None}
    return message


def _is_redis(layer) -> bool:
    try:
        from channels_redis.core import RedisChannelLayer  # only a Redis layer is asked for, never at import
    except ImportError:  # pragma: no cover - channels_redis is a dependency
        return False
    return isinstance(layer, RedisChannelLayer)


async def send_change(layer, payload: dict, recipients: dict[int, list]) -> int:
    """Send a change to the sockets of `recipients` ({user id: [position, feed kind, role, notification id]}).

    Returns how many worker lists were full (those sockets miss it live and catch up from the feed).
    """
    if not recipients:
        return 0
    if _is_redis(layer):
        message = {"type": "notify", "payload": payload, "recipients": {str(u): e for u, e in recipients.items()}}
        return await _send_redis(layer, message, [user_group(uid) for uid in recipients])
    limit = asyncio.Semaphore(SEND_CONCURRENCY)

    async def send(uid: int, entry: list) -> None:
        async with limit:
            message = {"type": "notify", "payload": payload, "recipients": {str(uid): entry}}
            await layer.group_send(user_group(uid), message)

    await asyncio.gather(*(send(uid, entry) for uid, entry in recipients.items()))
    return 0


async def _send_redis(layer, message: dict, groups: list[str]) -> int:
    now = time.time()
    # 1. The sockets in the groups, dropping expired memberships as group_send does: one script per shard.
    by_shard: dict[int, list[str]] = defaultdict(list)
    for group in groups:
        by_shard[layer.consistent_hash(group)].append(group)
    channels: list[str] = []
    for index, names in by_shard.items():
        keys = [layer._group_key(name) for name in names]
        found = await layer.connection(index).eval(_MEMBERS, len(keys), *keys, int(now) - layer.group_expiry)
        channels += [member.decode() for member in found]
    if not channels:
        return 0

    # 2. One message per Redis list: a worker's sockets ("specific.<worker>!<socket>") share its list.
    lists: dict[str, list[str]] = defaultdict(list)
    for channel in channels:
        lists[layer.non_local_name(channel) if "!" in channel else channel].append(channel)
    per_shard: dict[int, list[tuple[str, list[str]]]] = defaultdict(list)
    for name, members in lists.items():
        per_shard[layer.consistent_hash(name)].append((name, members))
    over_capacity = 0
    for index, entries in per_shard.items():
        keys = [layer.prefix + name for name, _ in entries]
        args = [layer.serialize({**message, "__asgi_channel__": members}) for _, members in entries]
        args += [layer.get_capacity(members[0]) for _, members in entries]
        over_capacity += await layer.connection(index).eval(_PUSH, len(keys), *keys, *args, now, int(layer.expiry))
    return over_capacity
