"""The notifications WebSocket: one group per user; messages are sent by services after commit."""

from channels.generic.websocket import AsyncJsonWebsocketConsumer

# Close codes (4000-4999 are the application's): 4401 like HTTP 401.
CLOSE_UNAUTHENTICATED = 4401


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


class NotificationConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            # Accept then close, so the client sees our close code and not a bare handshake failure.
            await self.accept()
            # A close reason may hold 123 bytes at most; the token error's text can be longer.
            reason = (self.scope.get("auth_error") or "unauthenticated").encode()[:120].decode(errors="ignore")
            await self.close(code=CLOSE_UNAUTHENTICATED, reason=reason)
            return
        self.group = user_group(user.pk)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept(subprotocol=self.scope.get("auth_subprotocol"))

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content, **kwargs) -> None:
        # The socket is for server → client messages; a ping keeps proxies from closing it.
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"type": "pong"})

    async def notify(self, message: dict) -> None:
        await self.send_json(message["payload"])
