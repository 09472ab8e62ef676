"""App passwords: how their secrets are made and checked.

Writes (create, revoke) are in `services.py`; this module answers "who is this user name and
password?" for HTTP Basic authentication (the CalDAV endpoints).
"""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from common.secret_tokens import new_secret, secret_digest

from .models import AppPassword, User

SECRET_BYTES = 24  # 192 random bits; the brief asks for at least 128
# `last_used_at` is refreshed at most this often: a sync sends dozens of requests and each would
# otherwise write the row. An hour's precision is what a "last used" column is read for.
LAST_USED_PRECISION = timedelta(hours=1)


def new_app_password() -> str:
    """A fresh app password (common/secret_tokens.py): URL-safe, easy to paste into an app's password field."""
    return new_secret(SECRET_BYTES)


def app_password_user(*, identifier: str, secret: str) -> User | None:
    """The active user named `identifier` (username or email, any case) whose app password `secret` is; else None.

    One indexed query (the digest is unique), the name compared after it. The account password never
    matches: only app passwords are looked at. A deactivated user's app passwords are dead (and deleted
    on deactivation).
    """
    if not identifier or not secret:
        return None
    row = AppPassword.objects.select_related("user").filter(digest=secret_digest(secret)).first()
    if row is None or not row.user.is_active:
        return None
    named = identifier.lower()
    if named != row.user.username.lower() and (not row.user.email or named != row.user.email.lower()):
        return None
    now = timezone.now()
    if row.last_used_at is None or row.last_used_at < now - LAST_USED_PRECISION:
        # A conditional update: concurrent requests do not all write, and a revoked row is not revived.
        AppPassword.objects.filter(pk=row.pk).filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_PRECISION)
        ).update(last_used_at=now)
    row.user.app_password = row
    return row.user
