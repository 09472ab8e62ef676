"""What a subscription feed holds, computed at request time from what its owner can see now.

A feed holds every event its owner can see (owned or shared; an event unshared from them leaves the feed
at once): every series in full (with its overrides), and one-off events that end at most `PAST` ago; at
most `MAX_EVENTS` events (series first, then the latest one-off events). Its ETag is a digest of the ids
and versions of those events (and of the feed's name), read in one indexed query, so a poller's 304
costs that query and nothing else; the body is built once per ETag and kept in the cache.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from django.core.cache import cache
from django.db.models import Q

from events.selectors import events_visible

from .export import calendar_bytes
from .models import Feed

PAST = timedelta(days=365)
MAX_EVENTS = 5000
REFRESH = timedelta(hours=1)  # REFRESH-INTERVAL and X-PUBLISHED-TTL: how often subscribers should poll
CACHE_SECONDS = 3600


def _feed_events(feed: Feed, now: datetime):
    return (
        events_visible(user=feed.owner)
        .filter(Q(is_recurring=True) | Q(end_time__gte=now - PAST))
        .order_by("-is_recurring", "-start_time", "id")
    )


def feed_etag(feed: Feed, now: datetime) -> tuple[str, list[int]]:
    """The feed's ETag now, and the ids of the events it holds."""
    rows = list(_feed_events(feed, now).values_list("id", "version")[:MAX_EVENTS])
    digest = hashlib.sha256(repr((feed.pk, feed.name, rows)).encode()).hexdigest()[:32]
    return f'"feed-{digest}"', [pk for pk, _ in rows]


def feed_body(feed: Feed, etag: str, ids: list[int]) -> bytes:
    """The feed's iCalendar body for `etag` (from the cache when it was built before)."""
    key = f"ical:feed:{feed.pk}:{etag}"
    body = cache.get(key)
    if body is None:
        events = sorted(events_visible(user=feed.owner).filter(pk__in=ids), key=lambda e: (e.start_time, e.pk))
        body = calendar_bytes(events, name=feed.name, refresh=REFRESH)
        cache.set(key, body, CACHE_SECONDS)
    return body
