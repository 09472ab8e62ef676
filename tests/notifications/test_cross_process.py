"""Two real server processes sharing Redis and the database: a change made through one reaches a
WebSocket client connected to the other. Needs REDIS_URL and a database other processes can open
(PostgreSQL, as in CI's second run); skipped otherwise."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import pytest
from django.conf import settings

from . import live
from .sockets import access_token

# PostgreSQL: the servers must open the test database, and SQLite's is in this process's memory. Redis:
# without it each process has its own in-memory channel layer.
pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]


def _server_environment() -> dict[str, str]:
    # The servers use the test database pytest-django created, under the same settings as this process.
    parsed = urlparse(os.environ["DATABASE_URL"])
    database_url = urlunparse(parsed._replace(path="/" + settings.DATABASES["default"]["NAME"]))
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DB_POOL_MIN_SIZE": "1",
        "PYTHONUNBUFFERED": "1",
    }


@pytest.fixture
def two_servers(transactional_db):
    """Two uvicorn processes; stopped (and killed if need be) whatever the test does."""
    environment = _server_environment()
    processes: list[subprocess.Popen] = []
    addresses: list[str] = []
    logs: list = []
    with ExitStack() as stack:
        try:
            for _ in range(2):
                sock = stack.enter_context(live.listening_socket())
                log = stack.enter_context(tempfile.TemporaryFile())
                command = [sys.executable, "-m", "uvicorn", "config.asgi:application", "--fd", str(sock.fileno())]
                processes.append(
                    subprocess.Popen(
                        [*command, "--lifespan", "off", "--log-level", "warning", "--timeout-graceful-shutdown", "10"],
                        cwd=ROOT,
                        env=environment,
                        pass_fds=[sock.fileno()],
                        stdout=log,
                        stderr=subprocess.STDOUT,
                    )
                )
                addresses.append(live.address(sock))
                logs.append(log)
            yield addresses
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                try:
                    process.wait(timeout=live.TIMEOUT)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=live.TIMEOUT)
            for log in logs:
                log.seek(0)
                output = log.read().decode(errors="replace")
                if "Traceback" in output:
                    print(output)  # shown by pytest when the test fails


async def test_a_change_made_through_one_process_reaches_a_client_of_the_other(two_servers, event_with_roles):
    first, second = two_servers
    event, users = event_with_roles
    viewer, owner = await access_token(users["viewer"]), await access_token(users["owner"])

    async with live.connect(first, viewer) as ws:
        status, _ = await live.http(
            second, "PATCH", f"/api/events/{event.pk}", token=owner, body={"title": "Elsewhere"}
        )
        assert status == 200

        message = await live.next_message(ws)

    assert (message["type"], message["event_id"], message["version"]) == ("event_updated", event.pk, 2)
    assert message["actor"] == {"id": users["owner"].pk, "username": "owner"}
    assert message["event"]["title"] == "Elsewhere"

    # Disconnected, a change through the second process; resuming on the first misses nothing.
    status, _ = await live.http(second, "PATCH", f"/api/events/{event.pk}", token=owner, body={"title": "Later"})
    assert status == 200
    async with live.connect(first, viewer, cursor=message["cursor"]) as ws:
        resumed = await live.next_message(ws)
        status, _ = await live.http(second, "DELETE", f"/api/events/{event.pk}", token=owner)
        assert status == 204
        deleted = await live.next_message(ws)

    assert (resumed["event"]["title"], resumed["version"]) == ("Later", 3)
    assert (deleted["type"], deleted["version"]) == ("event_deleted", 4)
