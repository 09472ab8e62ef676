"""Who is calling: HTTP Basic with a user name (or email) and an app password, nothing else.

Calendar apps send the password with every request, so a success costs one indexed query and no
rate limit; failures are counted per user name and per client address, at the login endpoint's
rates (`auth_username`, `auth_ip`), and once either is spent the caller gets 429 until the window ends.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import time

from django.conf import settings
from django.core.cache import cache
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle

from accounts.app_passwords import app_password_user
from history.audit import audit_record

from .answers import DavError

REALM = "Calendar"
CHALLENGE = {"WWW-Authenticate": f'Basic realm="{REALM}", charset="UTF-8"'}
_IDENTIFIER_MAX = 254


_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _rate(scope: str) -> tuple[int, int]:
    """(requests, seconds) of a DRF rate such as "10/min", read as DRF reads it."""
    rates = getattr(settings, "REST_FRAMEWORK", {}).get("DEFAULT_THROTTLE_RATES") or api_settings.DEFAULT_THROTTLE_RATES
    count, period = rates[scope].split("/")
    return int(count), _PERIODS[period[0]]


def _buckets(request, identifier: str) -> list[tuple[str, int, int]]:
    """(cache key, limit, window seconds) of each failure counter this request falls under."""
    buckets = []
    for scope, ident in (
        ("auth_ip", BaseThrottle().get_ident(request)),
        ("auth_username", hashlib.sha256(identifier.strip().lower().encode()).hexdigest() if identifier else None),
    ):
        if ident is None:
            continue
        limit, duration = _rate(scope)
        window = int(time.time() // duration)
        buckets.append((f"dav-auth-failures:{scope}:{ident}:{window}", limit, duration))
    return buckets


def _refuse_if_throttled(buckets) -> None:
    for key, limit, duration in buckets:
        if (cache.get(key) or 0) >= limit:
            retry = int(duration - time.time() % duration) + 1
            raise DavError(429, "Too many failed sign-ins; try again later.", headers={"Retry-After": str(retry)})


def _count_failure(buckets) -> None:
    for key, _, duration in buckets:
        if not cache.add(key, 1, timeout=duration + 1):
            try:
                cache.incr(key)
            except ValueError:  # expired between add and incr
                cache.add(key, 1, timeout=duration + 1)


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
    buckets = _buckets(request, identifier)
    _refuse_if_throttled(buckets)
    user = app_password_user(identifier=identifier, secret=credentials[1]) if credentials else None
    if user is None:
        _count_failure(buckets)
        audit_record(actor=None, action="dav.login_failed", data={"username": identifier[:_IDENTIFIER_MAX]})
        raise DavError(
            401,
            "Unknown user name or app password (the account password is not accepted here: make an app password).",
            headers=CHALLENGE,
        )
    return user
