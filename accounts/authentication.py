import copy
import threading
import time

from django.core.exceptions import ValidationError
from django.db import connections, router
from django.db.models import Exists
from django.utils.translation import gettext_lazy as _
from rest_framework_simplejwt.authentication import JWTAuthentication as BaseJWTAuthentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed, InvalidToken
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.utils import aware_utcnow, get_md5_hash_password

from common.prepared_queries import PreparedQuery

from .models import RevokedAccessToken


class JWTAuthentication(BaseJWTAuthentication):
    """simplejwt's bearer authentication, refusing access tokens revoked by logout.

    The denylist is a table (`RevokedAccessToken`), read in the same query that loads the token's
    user: no query more per request, and no cache that could fail open.
    """

    www_authenticate_realm = "api"

    def get_validated_token(self, raw_token: bytes):
        """simplejwt's validation, with the signature checked once per token and process: a client sends the same
        token with every request for its lifetime, and checking it (base64, JSON, HMAC) was a sixth of an
        authenticated no-op. Its expiry is checked on every request (an expired one is validated again, to be
        refused with simplejwt's answer); its revocation and its user are read from the database every time."""
        kept = _VERIFIED.get(raw_token)
        if kept is not None and kept.payload.get("exp", 0) > time.time():
            token = copy.copy(kept)
            token.payload, token.current_time = dict(kept.payload), aware_utcnow()
            return token
        token = super().get_validated_token(raw_token)
        with _VERIFIED_LOCK:
            if len(_VERIFIED) >= VERIFIED_TOKENS_KEPT:
                del _VERIFIED[next(iter(_VERIFIED))]  # the oldest
            _VERIFIED[raw_token] = token
        return token

    def get_user(self, validated_token):
        try:
            user_id = validated_token[api_settings.USER_ID_CLAIM]
        except KeyError as exc:
            raise InvalidToken(_("Token contained no recognizable user identification")) from exc
        found = user_and_revocation(self.user_model, user_id, validated_token.get(api_settings.JTI_CLAIM))
        if found is None:
            raise AuthenticationFailed(_("User not found"), code="user_not_found")
        user, revoked = found
        if revoked:
            raise InvalidToken({"detail": "Token has been revoked.", "code": "token_not_valid"})
        if api_settings.CHECK_USER_IS_ACTIVE and not user.is_active:
            raise AuthenticationFailed(_("User is inactive"), code="user_inactive")
        if api_settings.CHECK_REVOKE_TOKEN and validated_token.get(
            api_settings.REVOKE_TOKEN_CLAIM
        ) != get_md5_hash_password(user.password):
            raise AuthenticationFailed(_("The user's password has been changed."), code="password_changed")
        return user


VERIFIED_TOKENS_KEPT = 10_000
_VERIFIED: dict[bytes, object] = {}  # raw token -> the token as validated (only valid ones are kept)
_VERIFIED_LOCK = threading.Lock()


def _user_and_revocation(user_model):
    """The token's user (by the id claim's field), annotated with whether the token's jti was logged out."""
    return PreparedQuery(
        lambda user_id, jti: user_model.objects.filter(**{api_settings.USER_ID_FIELD: user_id}).annotate(
            token_revoked=Exists(RevokedAccessToken.objects.filter(jti=jti))
        ),
        user_id=int,
        jti=str,
    )


_USER_QUERIES: dict[type, PreparedQuery] = {}


def user_and_revocation(user_model, user_id, jti) -> tuple[object, bool] | None:
    """(the token's user, whether the token was logged out), or None for no such user: one query.

    Every authenticated request runs it, so its SQL is compiled once per process
    (common/prepared_queries.py): compiling it on each request cost 0.6 ms, twenty times its execution
    (docs/PERFORMANCE.md, "Per-request cost").
    """
    id_field = user_model._meta.get_field(api_settings.USER_ID_FIELD)
    try:
        user_id = id_field.to_python(user_id)
    except ValidationError:
        return None
    bounds = connections[router.db_for_read(user_model)].ops.integer_field_ranges.get(id_field.get_internal_type())
    if user_id is None or (bounds and not bounds[0] <= user_id <= bounds[1]):
        return None  # no row can have it
    query = _USER_QUERIES.get(user_model)
    if query is None:
        query = _USER_QUERIES[user_model] = _user_and_revocation(user_model)
    found = query.fetch(user_id=user_id, jti=jti)
    if not found:
        return None
    return found[0], found[0].token_revoked
