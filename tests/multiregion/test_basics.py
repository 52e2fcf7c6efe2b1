"""Three real regions through fault proxies: writes anywhere are read everywhere."""

from __future__ import annotations

import time

import pytest

from server.harness.regions import Cluster


@pytest.fixture(scope="module")
def cluster() -> Cluster:
    with Cluster(3) as c:
        c.wait_linked()
        yield c


def test_a_write_in_one_region_is_read_in_the_others(cluster: Cluster) -> None:
    cluster.call(0, "SET", "greeting", "hello")
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if all(cluster.call(i, "GET", "greeting") == b"hello" for i in range(3)):
            break
        time.sleep(0.01)
    assert [cluster.call(i, "GET", "greeting") for i in range(3)] == [b"hello"] * 3


def test_concurrent_increments_all_count(cluster: Cluster) -> None:
    for i in range(3):
        for _ in range(10):
            cluster.call(i, "INCRBY", "hits", i + 1)
    cluster.wait_converged()
    assert [cluster.call(i, "GET", "hits") for i in range(3)] == [b"60"] * 3


def test_partition_then_heal_converges(cluster: Cluster) -> None:
    cluster.partition(0, 1)
    cluster.partition(0, 2)
    cluster.call(0, "SADD", "s", "from-west")
    cluster.call(1, "SADD", "s", "from-east")
    time.sleep(0.3)
    assert cluster.call(1, "SISMEMBER", "s", "from-west") == 0
    cluster.heal_all()
    cluster.wait_converged()
    assert sorted(cluster.call(2, "SMEMBERS", "s")) == [b"from-east", b"from-west"]
