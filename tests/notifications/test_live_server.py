"""A real WebSocket client against a live server (uvicorn, in this process, on either database)."""

from __future__ import annotations

import asyncio
import threading

import pytest
import uvicorn

from config.asgi import application
from notifications.consumers import CLOSE_CURSOR_GONE, CLOSE_UNAUTHENTICATED

from . import live
from .sockets import access_token

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def server(transactional_db):
    """The ASGI application under uvicorn in a thread: the same HTTP and WebSocket stack as production."""
    sock = live.listening_socket()
    instance = uvicorn.Server(
        uvicorn.Config(application, lifespan="off", log_level="warning", timeout_graceful_shutdown=10)
    )
    thread = threading.Thread(target=instance.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        yield live.address(sock)
    finally:
        instance.should_exit = True
        thread.join(timeout=live.TIMEOUT)
        sock.close()
    assert not thread.is_alive(), "the server did not stop"


async def test_a_real_client_is_refused_with_4401_without_a_valid_token(server):
    async with live.connect(server, "not-a-token") as ws:
        assert await live.close_code(ws) == CLOSE_UNAUTHENTICATED


async def test_a_real_client_gets_changes_and_resumes_after_a_disconnect(server, event_with_roles):
    event, users = event_with_roles
    viewer, owner = await access_token(users["viewer"]), await access_token(users["owner"])
    path = f"/api/events/{event.pk}"

    async with live.connect(server, viewer) as ws:
        status, _ = await live.http(server, "PATCH", path, token=owner, body={"title": "Live"})
        assert status == 200
        message = await live.next_message(ws)
        assert (message["type"], message["event_id"], message["actor"]["username"]) == (
            "event_updated",
            event.pk,
            "owner",
        )
        assert message["event"]["title"] == "Live"

    # Offline for two changes.
    for title in ("Missed 1", "Missed 2"):
        status, _ = await live.http(server, "PATCH", path, token=owner, body={"title": title})
        assert status == 200

    status, page = await live.http(server, "GET", f"/api/sync?cursor={message['cursor']}", token=viewer)
    assert status == 200
    assert [(c["type"], c["event_id"], c["event"]["title"]) for c in page["changes"]] == [
        ("updated", event.pk, "Missed 2")
    ]

    async with live.connect(server, viewer, cursor=message["cursor"]) as ws:
        replayed = [await live.next_message(ws) for _ in range(2)]
        assert [m["event"]["title"] for m in replayed] == ["Missed 1", "Missed 2"]
        status, _ = await live.http(server, "PATCH", path, token=owner, body={"title": "Back"})
        assert status == 200
        assert (await live.next_message(ws))["event"]["title"] == "Back"

    # The last cursor of the socket and the sync endpoint agree: nothing left.
    status, page = await live.http(server, "GET", f"/api/sync?cursor={page['cursor']}", token=viewer)
    assert [c["event"]["title"] for c in page["changes"]] == ["Back"]


async def test_a_real_client_with_a_bad_cursor_is_closed_with_4410(server, user):
    async with live.connect(server, await access_token(user), cursor="stale") as ws:
        assert await live.close_code(ws) == CLOSE_CURSOR_GONE


def connections_in_use() -> int:
    """Pooled connections checked out and not given back (PostgreSQL's pool; the test's own included)."""
    from django.db import connections

    stats = connections["default"].pool.get_stats()
    return stats["pool_size"] - stats["pool_available"]


@pytest.mark.postgres
async def test_refused_and_failed_sockets_give_their_database_connection_back(server, event_with_roles):
    from django.db import connection

    if connection.vendor != "postgresql" or connection.pool is None:
        pytest.skip("PostgreSQL's connection pool")
    _, users = event_with_roles
    valid = await access_token(users["viewer"])
    attempts = [
        ("not-a-token", None),  # refused before any database work
        ("", None),
        (valid, "not-a-cursor"),  # refused after the token's query
        (valid, None),  # accepted, then closed by the client
    ]
    await live.http(server, "GET", "/api/auth/me", token=valid)
    before = await asyncio.to_thread(connections_in_use)
    for token, cursor in attempts * 2:
        async with live.connect(server, token, cursor=cursor) as ws:
            if token != valid or cursor:
                await live.close_code(ws)
        await asyncio.sleep(0.2)  # the server's side of the close
        assert await asyncio.to_thread(connections_in_use) <= before, (token[:10], cursor)
