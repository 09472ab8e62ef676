"""JWT issue, rotation and revocation.

Every access token carries `sid`, the jti of the refresh token it was issued with, so logging
out with only the access token also kills its refresh token. Revoked access tokens are kept in
the database (`RevokedAccessToken`, by jti) until they would have expired anyway: authentication
reads it in the same query as the token's user, and a cache outage cannot revive a logged-out token.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django.contrib.auth import get_user_model
from django.db import transaction
from rest_framework.exceptions import ValidationError
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from common.exceptions import DomainError

from .models import RevokedAccessToken

SESSION_CLAIM = "sid"


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

    A `refresh` in the body that is unusable (expired, rotated, blacklisted, malformed) is dead
    already: it is ignored and the caller's session still ends. A valid one of another account is
    refused (400) before anything is revoked: a refused logout changes nothing.
    """
    jtis = {access.get(SESSION_CLAIM)}
    if raw_refresh:
        try:
            refresh = RefreshToken(raw_refresh)  # verifies signature, expiry, type and the blacklist
        except TokenError:
            refresh = None
        if refresh is not None:
            if str(refresh.get("user_id")) != str(user.pk):
                raise ValidationError({"refresh": ["This refresh token belongs to another account."]})
            jtis.add(refresh["jti"])
    with transaction.atomic():
        access_revoke(access, user=user)
        for outstanding in OutstandingToken.objects.filter(jti__in=[j for j in jtis if j], user=user):
            BlacklistedToken.objects.get_or_create(token=outstanding)


def access_revoke(access: AccessToken, *, user) -> None:
    """Deny this access token from now until it expires (the database row is the denylist)."""
    RevokedAccessToken.objects.get_or_create(
        jti=access[api_settings.JTI_CLAIM],
        defaults={"user": user, "expires_at": datetime.fromtimestamp(access["exp"], tz=UTC)},
    )


def access_token_revoked(access: AccessToken) -> bool:
    """Whether this access token was logged out. (Authentication checks it in its user query instead.)"""
    return RevokedAccessToken.objects.filter(jti=access.get(api_settings.JTI_CLAIM)).exists()


def revoked_tokens_prune(*, now: datetime | None = None) -> int:
    """Delete denylist rows of tokens past their expiry (refused for their age anyway); how many."""
    deleted, _ = RevokedAccessToken.objects.filter(expires_at__lte=now or datetime.now(UTC)).delete()
    return deleted
