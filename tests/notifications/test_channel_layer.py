"""The Redis channel layer's configuration keeps idle sockets alive."""

from __future__ import annotations

import pytest
from channels.layers import get_channel_layer

pytestmark = pytest.mark.redis


def test_redis_reads_have_no_socket_timeout():
    """A consumer waits for messages with a blocking pop of `brpop_timeout` seconds. redis-py 8's
    default 5 s read timeout ends every quiet wait in a TimeoutError that tears the consumer down, and
    with any read timeout a cancelled pop can swallow its cancellation, so a closed socket's consumer
    never ends (and a server never finishes shutting down)."""
    layer = get_channel_layer()

    assert layer.hosts
    for host in layer.hosts:
        assert "socket_timeout" in host, "redis-py 8 would apply its 5 s default"
        assert host["socket_timeout"] is None


def test_a_worker_can_queue_bursts_for_its_sockets():
    """channels_redis keeps the messages of all sockets of one process in one list, capped by the
    capacity of the process-specific channel: a burst beyond it is dropped."""
    layer = get_channel_layer()

    assert layer.get_capacity("specific.worker-id!socket-id") >= 1000
