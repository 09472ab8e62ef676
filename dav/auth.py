"""Who is calling: HTTP Basic with a user name (or email) and an app password, nothing else.

Calendar apps send the password with every request, so a success costs one indexed query and no
rate limit; failures are counted per user name and per client address, at the login endpoint's
rates (`auth_username`, `auth_ip`), and once either is spent the caller gets 429 until the window ends.
The counting is the rate limits' own (common/throttling.py: the same throttles name the caller and give
the rate and the window, `window_count` counts); only what is counted differs: failures, not requests,
in counters of their own, so that signing in to the API and to CalDAV do not spend each other's.
"""

from __future__ import annotations

import base64
import binascii
import math
from types import SimpleNamespace

from django.core.cache import cache

from accounts.app_passwords import app_password_user
from common.throttling import AUTH_THROTTLES, window_count
from history.audit import audit_record

from .answers import DavError

REALM = "Calendar"
CHALLENGE = {"WWW-Authenticate": f'Basic realm="{REALM}", charset="UTF-8"'}
_IDENTIFIER_MAX = 254


def _failure_windows(request, identifier: str) -> list[tuple[str, int, int, int]]:
    """(counter key, limit, window seconds, seconds until the window ends) of each failure counter this
    request falls under: one per login throttle (per address; per user name when one is given)."""
    # What the login throttles read of a request: the client address, and the name the body gives.
    probe = SimpleNamespace(_request=request, META=request.META, headers=request.headers, data={"username": identifier})
    windows = []
    for throttle in (cls() for cls in AUTH_THROTTLES):
        key = throttle.get_cache_key(probe, None)
        if key is None:
            continue
        now = throttle.timer()
        window = int(now // throttle.duration)
        reset = max(1, math.ceil((window + 1) * throttle.duration - now))
        windows.append((f"dav-failures:{key}:{window}", throttle.num_requests, throttle.duration, reset))
    return windows


def _refuse_if_throttled(windows) -> None:
    counts = cache.get_many([key for key, _, _, _ in windows])  # read, not counted: a good password is no failure
    for key, limit, _, reset in windows:
        if (counts.get(key) or 0) >= limit:
            raise DavError(429, "Too many failed sign-ins; try again later.", headers={"Retry-After": str(reset)})


def _count_failure(windows) -> None:
    for key, _, duration, _ in windows:
        window_count(key, duration + 1)


def _credentials(header: str) -> tuple[str, str] | None:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded.strip():
        return None
    try:
        raw = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")  # RFC 7617: without charset agreement some clients send ISO-8859-1
    identifier, colon, secret = text.partition(":")
    if not colon or len(identifier) > _IDENTIFIER_MAX or len(secret) > 256:
        return None
    return identifier, secret


def dav_user(request):
    """The caller, from `Authorization: Basic`. Raises DavError 401 (with a Basic challenge) or 429."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if not header:
        raise DavError(401, "Sign in with your user name and an app password.", headers=CHALLENGE)
    credentials = _credentials(header)
    identifier = credentials[0] if credentials else ""
    windows = _failure_windows(request, identifier)
    _refuse_if_throttled(windows)
    user = app_password_user(identifier=identifier, secret=credentials[1]) if credentials else None
    if user is None:
        _count_failure(windows)
        audit_record(actor=None, action="dav.login_failed", data={"username": identifier[:_IDENTIFIER_MAX]})
        raise DavError(
            401,
            "Unknown user name or app password (the account password is not accepted here: make an app password).",
            headers=CHALLENGE,
        )
    return user
