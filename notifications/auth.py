"""WebSocket authentication with an access token, the same rules as the HTTP API."""

from __future__ import annotations

from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.security.websocket import AllowedHostsOriginValidator
from django.contrib.auth.models import AnonymousUser
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError

from accounts.authentication import JWTAuthentication

BEARER_PROTOCOL = "bearer"
MAX_TOKEN_LENGTH = 4096


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
    """(user, validated token, error): the token's active user, or AnonymousUser and why it was refused."""
    if not raw:
        return AnonymousUser(), None, "missing token"
    if len(raw) > MAX_TOKEN_LENGTH:
        return AnonymousUser(), None, "token too long"
    authentication = JWTAuthentication()
    try:
        validated = authentication.get_validated_token(raw.encode())
        return authentication.get_user(validated), validated, None
    except (InvalidToken, TokenError, AuthenticationFailed) as exc:
        return AnonymousUser(), None, _reason(exc)


def _reason(exc: Exception) -> str:
    detail = getattr(exc, "detail", exc)
    if isinstance(detail, dict):  # simplejwt's {"detail", "code", "messages"}
        detail = detail.get("detail", "invalid token")
    return str(detail)


class JWTAuthMiddleware:
    """Sets scope["user"] from the access token, scope["auth_error"] when refused, and
    scope["auth_token"] (the validated token: its expiry and id) for the consumer's later checks."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send):
        raw, protocol = token_from_scope(scope)
        user, token, error = await user_for_token(raw)
        scope = {**scope, "user": user, "auth_error": error, "auth_subprotocol": protocol, "auth_token": token}
        return await self.app(scope, receive, send)


class BrowserOriginValidator:
    """A browser's `Origin` must name one of ALLOWED_HOSTS; a client that sends none is let through.

    Checking the origin defends against a foreign page riding on the browser's ambient credentials
    (cookies). Our sockets take no ambient credentials, only an explicit access token, and browsers
    always send `Origin` on a WebSocket; native and server clients send none, and refusing them
    would protect nothing.
    """

    def __init__(self, app) -> None:
        self.app = app
        self.checked = AllowedHostsOriginValidator(app)

    async def __call__(self, scope, receive, send):
        if not any(name == b"origin" for name, _ in scope.get("headers", [])):
            return await self.app(scope, receive, send)
        return await self.checked(scope, receive, send)
