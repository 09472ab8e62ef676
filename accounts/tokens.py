"""JWT issue, rotation and revocation.

Every access token carries `sid`, the jti of the refresh token it was issued with, so logging
out with only the access token also kills its refresh token. Revoked access tokens are kept in
the cache (Redis in production) by jti until they would have expired anyway.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django.core.cache import cache
from django.db import transaction
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from common.exceptions import DomainError

SESSION_CLAIM = "sid"
_DENYLIST_KEY = "auth:revoked-access:{jti}"


class InvalidToken(DomainError):
    status_code = 401
    slug = "not-authenticated"
    title = "Authentication failed."
    default_detail = "Token is invalid or expired."


def tokens_for(user) -> dict[str, str]:
    """A new session: a refresh token and an access token bound to it."""
    refresh = RefreshToken.for_user(user)
    access = refresh.access_token
    access[SESSION_CLAIM] = refresh["jti"]
    return {"access": str(access), "refresh": str(refresh)}


def refresh_rotate(raw_refresh: str) -> tuple[object, dict[str, str]]:
    """Trade a refresh token for a new pair; the old one is blacklisted, exactly once even under races."""
    try:
        refresh = RefreshToken(raw_refresh)  # verifies signature, expiry, type and the blacklist
    except TokenError as exc:
        raise InvalidToken(str(exc)) from exc
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.filter(pk=refresh.get("user_id"), is_active=True).first()
    if user is None:
        raise InvalidToken("The account of this token is gone or inactive.")
    with transaction.atomic():
        outstanding = OutstandingToken.objects.select_for_update().filter(jti=refresh["jti"]).first()
        if outstanding is None:
            raise InvalidToken("Token is unknown.")
        _, created = BlacklistedToken.objects.get_or_create(token=outstanding)
        if not created:  # another request rotated it first
            raise InvalidToken("Token is blacklisted")
    return user, tokens_for(user)


def session_revoke(*, access: AccessToken, raw_refresh: str | None, user) -> None:
    """Kill the access token that called and its session's refresh token (and one sent in the body).

    The body's token is checked before anything is revoked: a refused logout changes nothing.
    """
    jtis = {access.get(SESSION_CLAIM)}
    if raw_refresh:
        try:
            refresh = RefreshToken(raw_refresh)
        except TokenError as exc:
            raise InvalidToken(f"refresh: {exc}") from exc
        if str(refresh.get("user_id")) != str(user.pk):
            raise InvalidToken("refresh: the token belongs to another account.")
        jtis.add(refresh["jti"])
    access_revoke(access)
    for outstanding in OutstandingToken.objects.filter(jti__in=[j for j in jtis if j], user=user):
        BlacklistedToken.objects.get_or_create(token=outstanding)


def access_revoke(access: AccessToken) -> None:
    remaining = int(access["exp"] - datetime.now(UTC).timestamp())
    if remaining > 0:
        cache.set(_DENYLIST_KEY.format(jti=access["jti"]), 1, timeout=remaining + 1)


def access_is_revoked(access: AccessToken) -> bool:
    return cache.get(_DENYLIST_KEY.format(jti=access.get("jti"))) is not None
