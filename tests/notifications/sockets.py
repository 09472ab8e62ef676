"""WebSocket helpers: a connected socket for a user, its close message, and sync calls from async code."""

from __future__ import annotations

import importlib.util
import sys
import types
from contextlib import asynccontextmanager

from channels.db import database_sync_to_async

if importlib.util.find_spec("daphne") is None:
    # channels.testing imports its Daphne-based live-server test case eagerly, and Daphne is no
    # dependency of ours (uvicorn serves us, and our live-server tests run it). The communicators
    # need nothing from it, so a placeholder lets them import.
    _daphne, _daphne_testing = types.ModuleType("daphne"), types.ModuleType("daphne.testing")
    _daphne_testing.DaphneProcess = None
    _daphne.testing = _daphne_testing
    sys.modules.setdefault("daphne", _daphne)
    sys.modules.setdefault("daphne.testing", _daphne_testing)

from channels.testing import WebsocketCommunicator

from accounts.tokens import tokens_for
from config.asgi import application

ORIGIN = (b"origin", b"http://testserver")
TIMEOUT = 5  # seconds a message may take to arrive before the test fails


@database_sync_to_async
def access_token(user) -> str:
    return tokens_for(user)["access"]


@asynccontextmanager
async def socket(user=None, *, token: str | None = None, query: str = "", subprotocols=None, headers=None):
    """A connected WebSocket for `user` (or with `token`), closed on exit. Yields (communicator, connect result)."""
    if token is None and user is not None:
        token = await access_token(user)
    params = [p for p in (f"token={token}" if token and subprotocols is None else "", query) if p]
    path = "/ws/notifications/" + ("?" + "&".join(params) if params else "")
    communicator = WebsocketCommunicator(
        application, path, headers=[ORIGIN] if headers is None else headers, subprotocols=subprotocols
    )
    result = await communicator.connect(timeout=TIMEOUT)
    try:
        yield communicator, result
    finally:
        await communicator.disconnect()


async def receive(communicator) -> dict:
    return await communicator.receive_json_from(timeout=TIMEOUT)


async def closed_with(communicator) -> dict:
    """The close message the server sent (after accepting)."""
    output = await communicator.receive_output(timeout=TIMEOUT)
    assert output["type"] == "websocket.close", output
    return output


def run(function, *args, **kwargs):
    """Call sync code (the API client, services) from a test coroutine, in a thread like a request."""
    return database_sync_to_async(function)(*args, **kwargs)
