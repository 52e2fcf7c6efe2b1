"""Client eviction (``maxmemory-clients``) is local (SEMANTICS.md "What is local, never
replicated": CONFIG, CLIENT, statistics): peer links are never evicted, however much they carry,
and a region's eviction closes only its own clients; the writes of a NO-EVICT client still
reach every region."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from server.harness.regions import Cluster
from tests.respclient import RespConnection


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    with Cluster(2) as c:
        c.wait_linked()
        yield c


def _evicted(cluster: Cluster, i: int) -> int:
    return int(cluster.client(i).info("stats")["evicted_clients"])


def test_peer_links_are_not_evicted_and_eviction_is_local(cluster: Cluster) -> None:
    for i in range(2):
        cluster.call(i, "CONFIG", "SET", "maxmemory-clients", "1")  # 128 KB, the least
        cluster.call(i, "CONFIG", "RESETSTAT")
    writer = RespConnection(cluster.ports[0], timeout=10.0)
    assert writer.call("CLIENT", "NO-EVICT", "on").value == "OK"
    value = b"v" * 400_000  # each batch carries more than the limit over the peer links
    for n in range(5):
        assert writer.call("SET", f"big{n}", value).value == "OK"
    cluster.wait_converged()
    assert cluster.call(1, "STRLEN", "big4") == 400_000
    big = RespConnection(cluster.ports[1], timeout=10.0)  # an evictable client of region 1
    big.send_raw(b"*1\r\n$500000\r\n" + b"v" * 100)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and _evicted(cluster, 1) == 0:
        time.sleep(0.02)
    assert _evicted(cluster, 1) == 1
    assert _evicted(cluster, 0) == 0  # region 0 closed nobody: its peer links carried 2 MB
    assert writer.call("SET", "after", "x").value == "OK"  # the links still work both ways
    cluster.wait_converged()
    assert cluster.call(1, "GET", "after") == b"x"
    assert cluster.call(0, "CONFIG", "GET", "maxmemory-clients") == {b"maxmemory-clients": b"1"}
    for i in range(2):
        cluster.call(i, "CONFIG", "SET", "maxmemory-clients", "0")
    writer.close()
    big.close()
