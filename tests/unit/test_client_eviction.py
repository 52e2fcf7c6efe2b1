"""server/client_eviction.py in-process (mock transports): the limit Redis computes, largest
clients first and only until below the limit, NO-EVICT clients and peer links never closed, the
client whose command is running never closed under it, flow control while eviction is on."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from server.app import Server
from server.client_eviction import MIN_LIMIT, effective_limit, memory_fields
from server.config import Config
from server.connection import Client
from server.harness.mocktransport import MockTransport
from tests.respclient import encode_command


@pytest.fixture
def server(tmp_path: Any) -> Iterator[Server]:
    s = Server(Config(region="r1", dir=str(tmp_path), appendfsync="no"))
    s.recover()
    yield s
    s.sink.close()


def _client(server: Server, name: str) -> tuple[Client, MockTransport]:
    c = Client(server)
    t = MockTransport()
    t.protocol = c  # a real transport's protocol is the client (until a peer link takes it)
    c.connection_made(t)  # type: ignore[arg-type]
    c.data_received(encode_command(("CLIENT", "SETNAME", name)))
    return c, t


def _pending(c: Client, size: int) -> None:
    """Part of a command whose argument is ``size`` bytes long."""
    c.data_received(b"*1\r\n$%d\r\n" % size + b"v" * 10)


def _run(c: Client, *args: str) -> None:
    c.data_received(encode_command(args))


@pytest.mark.parametrize(("setting", "maxmemory", "limit"), [
    (0, 0, 0), (0, 10**9, 0), (-7, 0, 0), (-7, 6 * 1024 * 1024, 440401), (-100, 10**6, 10**6),
    (1, 0, MIN_LIMIT), (MIN_LIMIT - 1, 0, MIN_LIMIT), (200_000, 0, 200_000), (-1, 10**6, MIN_LIMIT),
])
def test_effective_limit(setting: int, maxmemory: int, limit: int) -> None:
    assert effective_limit(setting, maxmemory) == limit


def test_largest_first_only_until_below_never_no_evict(server: Server) -> None:
    control, _ = _client(server, "control")
    _run(control, "CLIENT", "NO-EVICT", "on")
    sizes = {"a": 300_000, "b": 900_000, "c": 600_000, "keep": 2_000_000}
    clients = {}
    for name, size in sizes.items():
        clients[name] = _client(server, name)
        if name == "keep":
            _run(clients[name][0], "CLIENT", "NO-EVICT", "on")
        _pending(clients[name][0], size)
    assert memory_fields(clients["b"][0])[3] >= 900_000  # the declared length counts at once
    # room for "keep" and "a" only: "b" then "c" go, "a" stays
    _run(control, "CONFIG", "SET", "maxmemory-clients", str(2_000_000 + 300_000 + 1000))
    assert [n for n, (_, t) in clients.items() if t.closed] == ["b", "c"]
    assert server.stats.evicted_clients == 2
    assert {c.name for c in server.clients.values()} == {b"control", b"a", b"keep"}
    _run(control, "CONFIG", "SET", "maxmemory-clients", "1")  # 128 KB: "keep" is over it alone
    assert clients["a"][1].closed and not clients["keep"][1].closed
    assert server.stats.evicted_clients == 3


def test_peer_links_are_not_counted(server: Server) -> None:
    control, _ = _client(server, "control")
    link, t = _client(server, "link")
    _pending(link, 500_000)
    t.protocol = object()  # handed over to a peer link
    _run(control, "CONFIG", "SET", "maxmemory-clients", "1")
    assert not t.closed and server.stats.evicted_clients == 0
    assert server.client_eviction.total < MIN_LIMIT


def test_the_running_client_is_not_closed_under_its_command(server: Server) -> None:
    control, _ = _client(server, "control")
    big, t = _client(server, "big")
    other, t2 = _client(server, "other")
    _pending(big, 300_000)
    big._running_out = bytearray()  # as while its commands run (a nested read's check)
    _run(control, "CONFIG", "SET", "maxmemory-clients", "1")
    _pending(other, 150_000)
    assert not t.closed and t2.closed  # the largest is running: the next one goes
    big._running_out = None
    server.client_eviction.tick()  # its command is over: now it goes
    assert t.closed and server.stats.evicted_clients == 2


def test_off_costs_nothing_and_counts_nothing(server: Server) -> None:
    c, t = _client(server, "c")
    _pending(c, 5_000_000)
    assert server.client_eviction.limit == 0 and server.client_eviction.total == 0
    assert not t.closed and server.stats.evicted_clients == 0


def test_flow_control_while_eviction_is_on(server: Server) -> None:
    control, _ = _client(server, "control")
    c, t = _client(server, "c")
    c.pause_writing()
    assert not t.reading  # eviction off: flow control
    c.resume_writing()
    _run(control, "CONFIG", "SET", "maxmemory-clients", "10mb")
    c.pause_writing()
    assert t.reading  # evictable: read on, the eviction bounds it
    _run(c, "CLIENT", "NO-EVICT", "on")
    assert not t.reading  # NO-EVICT: flow control again
    _run(c, "CLIENT", "NO-EVICT", "off")
    _run(control, "CONFIG", "SET", "maxmemory-clients", "20mb")
    assert t.reading
    _run(control, "CONFIG", "SET", "maxmemory-clients", "0")
    assert not t.reading  # eviction off again
