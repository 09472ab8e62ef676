"""Rate limits by scope, exposing their state as RateLimit-* headers.

Each limit is a fixed-window counter: requests are counted per caller and scope in windows of the
rate's period (a minute for `1200/min`), aligned on multiples of it; the (limit + 1)-th request of a
window is refused with 429 and `Retry-After` until the window ends. One atomic increment per limit
and request, whatever the rate — on Redis one round trip (`INCR`, and `EXPIRE` when the window's key
is new, in one script); DRF's own throttle read and rewrote the whole list of the window's request
times instead (up to 1,200 of them per request at the default user rate). A client may send up to
twice the limit across a window boundary, never more in two windows. A read that knows it will ask
Redis for something (a cached answer, events/cache.py) sends it in that same trip (`ride_along`).

Each throttle that applies to a request records (limit, remaining, reset) — reset: the seconds until
the window ends and the count starts again — and `RateLimitHeadersMiddleware` sends the most
restrictive one. Counters live in the default cache (Redis in production), so the limits hold across
worker processes; like the rest of the cache they fail open when it cannot be reached.
"""

from __future__ import annotations

import hashlib
import math

from django.core.cache import caches
from django_redis.cache import RedisCache, omit_exception
from django_redis.exceptions import ConnectionInterrupted
from redis.exceptions import RedisError
from rest_framework import throttling

# KEYS[1]: the window's counter; ARGV[1]: its lifetime in seconds. Answers the count after this request.
_INCREMENT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return count
"""


def ride_along(request, rider) -> None:
    """On Redis, `rider` goes in the round trip that counts `request` against its rate limit rather than in one of
    its own: `rider.send(pipeline)` adds its command, `rider.receive(reply)` is given the reply. When the trip
    fails, or no count is made, it is given nothing and makes its own trip. For a read the view knows before the
    throttles run that it will make (events/cache.py)."""
    django_request = getattr(request, "_request", request)
    django_request.__dict__.setdefault("_rate_limit_riders", []).append(rider)


def window_count(key: str, seconds: int, riders: list = ()) -> int | None:
    """Counts one request under `key`, kept `seconds`; the count so far, or None when the cache is down. On Redis
    the `riders` (`ride_along`) go in the same round trip."""
    backend = caches["default"]
    if isinstance(backend, RedisCache):
        return _redis_count(backend, key, seconds, riders)
    try:
        return backend.incr(key)  # one call for every request but the window's first
    except ValueError:  # no counter yet (or it just expired): a new window
        backend.add(key, 0, timeout=seconds)  # another request may have added it first: then it counts on
        return backend.incr(key)


@omit_exception  # django-redis's own fail-open: logged (once per outage, common/redis_breaker.py), None answered
def _redis_count(backend: RedisCache, key: str, seconds: int, riders: list) -> int:
    client = backend.client.get_client(write=True)
    try:
        if not riders:
            return int(client.eval(_INCREMENT, 1, backend.client.make_key(key), seconds))
        pipeline = client.pipeline(transaction=False)
        pipeline.eval(_INCREMENT, 1, backend.client.make_key(key), seconds)
        for rider in riders:
            rider.send(pipeline)
        count, *replies = pipeline.execute(raise_on_error=False)
        if isinstance(count, Exception):
            raise count
    except (RedisError, OSError) as error:
        raise ConnectionInterrupted(connection=client) from error
    for rider, reply in zip(riders, replies, strict=True):
        if not isinstance(reply, Exception):  # else it makes its own trip
            rider.receive(reply)
    return int(count)


class RateLimitStateMixin:
    """A fixed-window counter in place of DRF's list of request times (same rates, same cache keys per caller)."""

    def allow_request(self, request, view) -> bool:
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        self.now = self.timer()
        window = int(self.now // self.duration)
        self.reset = max(1, math.ceil((window + 1) * self.duration - self.now))
        django_request = getattr(request, "_request", request)
        riders = django_request.__dict__.pop("_rate_limit_riders", [])  # the first count made takes them
        count = window_count(f"{self.key}:{window}", self.duration + 1, riders)
        if count is None:  # the cache is down: fail open, as if this were the window's first request
            count = 1
        state = (self.num_requests, max(0, self.num_requests - count), self.reset)
        current = getattr(django_request, "ratelimit", None)
        if current is None or state[1] < current[1] or (state[1] == current[1] and state[2] > current[2]):
            django_request.ratelimit = state
        return count <= self.num_requests

    def wait(self) -> float:
        """Seconds until the window ends (only asked after a refusal)."""
        return self.reset


class AnonThrottle(RateLimitStateMixin, throttling.AnonRateThrottle):
    pass


class UserThrottle(RateLimitStateMixin, throttling.UserRateThrottle):
    pass


class AuthIPThrottle(RateLimitStateMixin, throttling.SimpleRateThrottle):
    """Tight limit on the auth endpoints per client IP."""

    scope = "auth_ip"

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class AuthUsernameThrottle(RateLimitStateMixin, throttling.SimpleRateThrottle):
    """Tight limit per account named in the body, so a password guesser cannot spread over many IPs."""

    scope = "auth_username"
    fields = ("username", "email")  # the first one given names the account

    def get_cache_key(self, request, view) -> str | None:
        # A malformed body raises here and is answered 400/415: DRF would hand the view an empty body after a
        # parse error, so it must not be swallowed.
        data = request.data
        if not isinstance(data, dict):
            return None
        name = next((data[field] for field in self.fields if data.get(field)), None)
        if not isinstance(name, str) or not name.strip():
            return None
        digest = hashlib.sha256(name.strip().lower().encode()).hexdigest()  # any text makes a safe cache key
        return self.cache_format % {"scope": self.scope, "ident": digest}


class AuthEmailThrottle(AuthUsernameThrottle):
    """Register names two accounts, a username and an email: the email is counted too (the same buckets as
    a login naming that address), so addresses cannot be probed for being taken from many IPs."""

    fields = ("email",)


AUTH_THROTTLES = [AuthIPThrottle, AuthUsernameThrottle]
REGISTER_THROTTLES = [*AUTH_THROTTLES, AuthEmailThrottle]


class FeedThrottle(RateLimitStateMixin, throttling.SimpleRateThrottle):
    """Per subscription feed (its URL secret), not per IP: calendar services poll from a few shared addresses."""

    scope = "feed"

    def get_cache_key(self, request, view) -> str | None:
        secret = view.kwargs.get("secret") or ""
        digest = hashlib.sha256(secret.encode()).hexdigest()
        return self.cache_format % {"scope": self.scope, "ident": digest}
