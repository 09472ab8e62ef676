"""A network between a server and its database that the tests can cut: the server runs in a network namespace of
its own, joined to the test's by a veth pair, and the cut drops every packet between the server's database address
and the database, both ways, as a partition or a frozen host would: an open connection hears nothing more, so only
its own timers can end it. The packets are dropped as they leave, by blackhole routes, so the sending stack knows
(its socket's error is then EINVAL, not ETIMEDOUT), and a new connection across the cut fails at once, as toward
an unreachable network, where a real partition would let it wait for its connect timeout.

Addresses, in a /24 of 198.18.0.0/15 (the range set aside for benchmarking networks, RFC 2544):

- `.1` the test's end (the test calls the server from it);
- `.2` the server's end (uvicorn listens there);
- `.3` the database's, on the test's end (the cluster listens there too);
- `.4` the server's address for its database connections only (a route of its namespace picks it), so the cut
  leaves the test's own calls to the server alone.

Made with iproute2 (`ip netns`, veth, blackhole routes); needs root with the network administration capability
(the test is skipped without, except under CI). Removed whole on exit, even after a failure.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess

import pytest


def _unavailable_reason() -> str | None:
    """Why no namespace can be made here, or None."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    if shutil.which("ip") is None:
        return "iproute2 (`ip`) is not installed"
    return None


def _ip(*args: str, namespace: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
    command = ["ip", *(("netns", "exec", namespace, "ip") if namespace else ()), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=20, check=check)


def _free_subnet() -> str:
    """A 198.18.N of no interface of this machine (another run's namespace may hold one)."""
    taken = _ip("-4", "-o", "addr").stdout
    for step in range(256):
        prefix = f"198.18.{(os.getpid() + step) % 256}"
        if f" {prefix}." not in taken:
            return prefix
    raise RuntimeError("no free 198.18.N/24")


class Partitionable:
    def __init__(self) -> None:
        tag = str(os.getpid())
        self.namespace = f"calfault{tag}"
        self.outer, self.inner = f"cf{tag}a", f"cf{tag}b"
        prefix = _free_subnet()
        self.test, self.server, self.database, self.server_to_database = (f"{prefix}.{n}" for n in (1, 2, 3, 4))
        self.wrapper = ("ip", "netns", "exec", self.namespace)

    def make(self) -> None:
        _ip("netns", "add", self.namespace)
        _ip("link", "add", self.outer, "type", "veth", "peer", "name", self.inner)
        _ip("link", "set", self.inner, "netns", self.namespace)
        _ip("addr", "add", f"{self.test}/24", "dev", self.outer)
        _ip("addr", "add", f"{self.database}/32", "dev", self.outer)
        _ip("link", "set", self.outer, "up")
        for args in (
            ("link", "set", "lo", "up"),
            ("addr", "add", f"{self.server}/24", "dev", self.inner),
            ("addr", "add", f"{self.server_to_database}/32", "dev", self.inner),
            ("link", "set", self.inner, "up"),
        ):
            _ip(*args, namespace=self.namespace)
        self._route_to_database()

    def _route_to_database(self) -> None:
        _ip(
            "route",
            "replace",
            f"{self.database}/32",
            "dev",
            self.inner,
            "src",
            self.server_to_database,
            namespace=self.namespace,
        )

    def cut(self) -> None:
        """From now on nothing passes between the server's database address and the database, either way."""
        _ip("route", "replace", "blackhole", f"{self.database}/32", namespace=self.namespace)
        _ip("route", "replace", "blackhole", f"{self.server_to_database}/32")

    def heal(self) -> None:
        _ip("route", "del", "blackhole", f"{self.server_to_database}/32", check=False)
        self._route_to_database()

    def remove(self) -> None:
        for args in (
            ("route", "del", "blackhole", f"{self.server_to_database}/32"),
            ("link", "del", self.outer),  # its peer goes with it
            ("netns", "del", self.namespace),
        ):
            with contextlib.suppress(subprocess.SubprocessError, OSError):
                _ip(*args, check=False)


@contextlib.contextmanager
def partitionable():
    """A Partitionable made for the block and removed after it; the test is skipped where none can be made (under
    CI it fails instead: CI runs as root)."""
    reason = _unavailable_reason()
    if reason:
        pytest.skip(reason)
    network = Partitionable()
    try:
        try:
            network.make()
        except subprocess.CalledProcessError as error:
            if os.environ.get("CI"):
                raise
            pytest.skip(f"no network namespace here: {' '.join(error.cmd)}: {error.stderr.strip()}")
        yield network
    finally:
        network.remove()
