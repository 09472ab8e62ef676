"""Rate limits by scope, exposing their state as RateLimit-* headers.

Each throttle that applies to a request records (limit, remaining, reset); the most restrictive
one is sent back by `RateLimitHeadersMiddleware`. State lives in the default cache (Redis in
production), so the limits hold across worker processes.
"""

from __future__ import annotations

import hashlib

from rest_framework import throttling


class RateLimitStateMixin:
    def allow_request(self, request, view) -> bool:
        allowed = super().allow_request(request, view)
        if self.key is not None and self.rate is not None:
            remaining = max(0, self.num_requests - len(self.history))
            reset = int(self.duration - (self.now - self.history[-1])) if self.history else int(self.duration)
            state = (self.num_requests, remaining, max(reset, 0))
            django_request = getattr(request, "_request", request)
            current = getattr(django_request, "ratelimit", None)
            if current is None or state[1] < current[1] or (state[1] == current[1] and state[2] > current[2]):
                django_request.ratelimit = state
        return allowed


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
