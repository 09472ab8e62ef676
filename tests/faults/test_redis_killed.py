"""A private redis-server killed while a WebSocket is open: the writes made meanwhile succeed and are
not lost; the client reconnects with its last cursor, once Redis is back, and gets every one of them.

The cache and the channel layer are the production ones (Redis), on a redis-server started for this
test on a free port and killed with SIGKILL (never the shared one).
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import subprocess
import time

import pytest
import redis

from notifications.consumers import CLOSE_INTERNAL_ERROR
from tests.faults import cluster as pg
from tests.faults.dead_redis import live_send_errors, redis_at
from tests.notifications.sockets import (
    ORIGIN,
    WebsocketCommunicator,
    access_token,
    application,
    closed_with,
    receive,
    run,
    socket,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("never_hang")]


class PrivateRedis:
    def __init__(self) -> None:
        self.binary = shutil.which("redis-server")
        self.port = pg.free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        command = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, start_new_session=True)
        client = redis.Redis(port=self.port, socket_connect_timeout=0.2)
        deadline = time.monotonic() + 10
        while True:
            with contextlib.suppress(redis.RedisError):
                if client.ping():
                    return
            assert time.monotonic() < deadline, "the private redis-server did not start"
            time.sleep(0.05)

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)


@pytest.fixture
def private_redis():
    instance = PrivateRedis()
    if instance.binary is None:
        pytest.skip("redis-server is not installed")
    instance.start()
    try:
        yield instance
    finally:
        instance.kill()


def socket_records(caplog, level: int) -> list[logging.LogRecord]:
    """Records of the socket's side (the consumer, Channels, the ASGI server) at `level` or above."""
    names = ("notifications.consumers", "channels", "django.channels", "uvicorn", "asyncio")
    return [r for r in caplog.records if r.name.startswith(names) and r.levelno >= level]


def patch_title(api, user, event_id: int, title: str) -> int:
    return api.as_user(user).patch(f"/api/events/{event_id}", {"title": title}, format="json").status_code


async def test_writes_while_redis_is_dead_reach_the_client_when_it_reconnects(
    api, event_with_roles, private_redis, caplog
):
    event, users = event_with_roles
    owner, viewer = users["owner"], users["viewer"]
    with redis_at(private_redis.url):
        token = await access_token(viewer)
        communicator = WebsocketCommunicator(application, f"/ws/notifications/?token={token}", headers=[ORIGIN])
        accepted, _ = await communicator.connect(timeout=5)
        assert accepted
        assert await run(patch_title, api, owner, event.pk, "Seen live") == 200
        last = await receive(communicator)  # the Redis channel layer works
        assert last["event"]["title"] == "Seen live"

        private_redis.kill()
        started = time.monotonic()
        statuses = [await run(patch_title, api, owner, event.pk, f"While down {i}") for i in (1, 2)]
        took = time.monotonic() - started
        # The open socket does not linger with a dead layer: the server closes it with 1011 ("internal
        # error": reconnect later) and one warning, not a crash with a traceback, and the client reconnects.
        closed = await closed_with(communicator)
        await communicator.wait(timeout=5)
        assert closed["code"] == CLOSE_INTERNAL_ERROR
        assert socket_records(caplog, logging.ERROR) == []
        warnings = socket_records(caplog, logging.WARNING)
        assert [r.name for r in warnings] == ["notifications.consumers"]
        assert "channel layer failed" in warnings[0].getMessage()
        assert warnings[0].exc_info is None

        assert statuses == [200, 200]
        assert took < 3.0  # refused connections: no waiting on the dead Redis
        assert live_send_errors(caplog)

        # Back: the client reconnects from its last cursor and gets both missed changes, in order.
        private_redis.start()
        async with socket(viewer, query=f"cursor={last['cursor']}") as (reconnected, (accepted, _)):
            assert accepted
            replayed = [await receive(reconnected) for _ in range(2)]
        assert [m["event"]["title"] for m in replayed] == ["While down 1", "While down 2"]
        response = await run(lambda: api.as_user(viewer).get("/api/sync", {"cursor": last["cursor"]}))
        assert [c["event"]["title"] for c in response.json()["changes"]] == ["While down 2"]


async def test_a_socket_opened_while_redis_is_dead_is_closed_with_1011(api, event_with_roles, private_redis, caplog):
    _, users = event_with_roles
    with redis_at(private_redis.url):
        private_redis.kill()
        async with socket(users["viewer"]) as (communicator, (accepted, _)):
            # Accepted then closed, so the client sees why (a bare handshake failure says nothing).
            assert accepted
            assert (await closed_with(communicator))["code"] == CLOSE_INTERNAL_ERROR
            await communicator.wait(timeout=5)
        # Meanwhile the client catches up from the feed.
        assert (await run(lambda: api.as_user(users["viewer"]).get("/api/sync"))).status_code == 200
    assert socket_records(caplog, logging.ERROR) == []
    assert [r.name for r in socket_records(caplog, logging.WARNING)] == ["notifications.consumers"]
