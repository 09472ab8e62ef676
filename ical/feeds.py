"""What a subscription feed holds, computed at request time from what its owner can see now.

A feed holds every event its owner can see (owned or shared; an event unshared from them leaves the feed
at once): every series in full (with its overrides), and one-off events that end at most `PAST` ago; at
most `MAX_EVENTS` events (series first, then the latest one-off events). Its ETag is a digest of the ids
and versions of those events (and of the feed's name), read in one indexed query, so a poller's 304
costs that query and nothing else, and not even that while the owner's calendar has not changed: the tag is
kept in the cache under the owner's generation token (events/cache.py), replaced by any change to what they
can see. The body is built once per ETag and kept in the cache, and each event's VEVENTs are kept per
version (ical/export.py), so a change to one event re-renders that event only.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from functools import partial

from django.core.cache import cache
from django.db.models import Q

from common.after_answer import after_answer
from events.cache import user_token
from events.selectors import events_visible

from .export import EXPORTED_FIELDS, calendar_bytes
from .models import Feed

PAST = timedelta(days=365)
MAX_EVENTS = 5000
REFRESH = timedelta(hours=1)  # REFRESH-INTERVAL and X-PUBLISHED-TTL: how often subscribers should poll
CACHE_SECONDS = 3600


def _since(now: datetime) -> datetime:
    """The oldest end of a one-off event the feed holds: PAST before today's start (UTC), so it moves daily."""
    return now.replace(hour=0, minute=0, second=0, microsecond=0) - PAST


def feed_etag(feed: Feed, now: datetime) -> tuple[str, list[int]]:
    """The feed's ETag now, and the ids of the events it holds."""
    token = user_token(feed.owner_id)
    key = f"ical:feed-tag:{feed.pk}:{token}:{_since(now).date()}" if token else None
    kept = cache.get(key) if key else None
    if kept is not None:
        return kept
    rows = list(
        events_visible(user=feed.owner)
        .filter(Q(is_recurring=True) | Q(end_time__gte=_since(now)))
        .order_by("-is_recurring", "-start_time", "id")
        .values_list("id", "version")[:MAX_EVENTS]
    )
    digest = hashlib.sha256(repr((feed.pk, feed.name, rows)).encode()).hexdigest()[:32]
    found = (f'"{len(rows)}-{digest}"', [pk for pk, _ in rows])
    if key:
        after_answer(partial(cache.set, key, found, CACHE_SECONDS))
    return found


def feed_body(feed: Feed, etag: str, ids: list[int]) -> bytes:
    """The feed's iCalendar body for `etag` (from the cache when it was built before)."""
    key = f"ical:feed:{feed.pk}:{etag}"
    body = cache.get(key)
    if body is None:
        # The owner join of events_visible and the columns no VEVENT says are not read: a 1,000-event body
        # builds half the model instances it would.
        visible = events_visible(user=feed.owner).select_related(None).only(*EXPORTED_FIELDS)
        events = list(visible.filter(pk__in=ids).order_by("start_time", "id"))
        body = calendar_bytes(events, name=feed.name, refresh=REFRESH)
        after_answer(partial(cache.set, key, body, CACHE_SECONDS))  # once the answer is sent
    return body
