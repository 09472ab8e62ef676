"""WebSocket authentication with an access token, the same rules as the HTTP API."""

from __future__ import annotations

from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from django.contrib.auth.models import AnonymousUser
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError

from accounts.authentication import JWTAuthentication

BEARER_PROTOCOL = "bearer"


def token_from_scope(scope) -> tuple[str | None, str | None]:
    """The token and the subprotocol to answer with.

    `?token=<access>`, or for browsers (which cannot set headers on a WebSocket) the subprotocol
    pair `Sec-WebSocket-Protocol: bearer, <access>`; we then answer with `bearer`.
    """
    protocols = list(scope.get("subprotocols") or [])
    if len(protocols) >= 2 and protocols[0].lower() == BEARER_PROTOCOL:
        return protocols[1], protocols[0]
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    token = (query.get("token") or [None])[-1]
    return token, None


@database_sync_to_async
def user_for_token(raw: str | None):
    """(user, error): the token's active user, or AnonymousUser and why it was refused."""
    if not raw:
        return AnonymousUser(), "missing token"
    authentication = JWTAuthentication()
    try:
        validated = authentication.get_validated_token(raw.encode())
        return authentication.get_user(validated), None
    except (InvalidToken, TokenError, AuthenticationFailed) as exc:
        return AnonymousUser(), str(getattr(exc, "detail", exc))


class JWTAuthMiddleware:
    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send):
        raw, protocol = token_from_scope(scope)
        user, error = await user_for_token(raw)
        scope = {**scope, "user": user, "auth_error": error, "auth_subprotocol": protocol}
        return await self.app(scope, receive, send)
