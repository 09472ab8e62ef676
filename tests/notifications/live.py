"""A real client for real servers: HTTP with urllib, WebSocket with the `websockets` package.

Servers listen on a socket bound here before they start, so a client may connect at once: the
kernel holds the connection until the server accepts it, and nobody has to poll for readiness.
"""

from __future__ import annotations

import asyncio
import json
import socket
import urllib.error
import urllib.parse
import urllib.request

import websockets

TIMEOUT = 30  # seconds for any one step (a server process may still be importing Django)


def listening_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    return sock


def address(sock: socket.socket) -> str:
    return f"127.0.0.1:{sock.getsockname()[1]}"


def http_call(server: str, method: str, path: str, *, token: str | None = None, body: dict | None = None):
    """(status, parsed JSON body or None)."""
    request = urllib.request.Request(
        f"http://{server}{path}",
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={
            "Content-Type": "application/json",
            **({"Authorization": f"Bearer {token}"} if token else {}),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            content = response.read()
            return response.status, json.loads(content) if content else None
    except urllib.error.HTTPError as error:
        content = error.read()
        return error.code, json.loads(content) if content else None


async def http(server: str, method: str, path: str, **kwargs):
    return await asyncio.to_thread(http_call, server, method, path, **kwargs)


def connect(server: str, token: str, *, cursor: str | None = None):
    """An async context manager: a WebSocket to `server` as a browser on that host would open it."""
    query = {"token": token, **({"cursor": cursor} if cursor else {})}
    return websockets.connect(
        f"ws://{server}/ws/notifications/?{urllib.parse.urlencode(query)}",
        origin=f"http://{server}",
        open_timeout=TIMEOUT,
        close_timeout=5,
    )


async def next_message(ws) -> dict:
    return json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))


async def close_code(ws) -> int:
    """The code the server closed the socket with (failing if it sends a message instead)."""
    try:
        message = await asyncio.wait_for(ws.recv(), TIMEOUT)
    except websockets.ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd else closed.code
    raise AssertionError(f"expected a close, got {message!r}")
