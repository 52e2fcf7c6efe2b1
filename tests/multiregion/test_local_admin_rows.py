"""SEMANTICS.md "What is local, never replicated": CONFIG, CLIENT, statistics and the slow log
stay in their region; CLIENT PAUSE holds a region's own clients, while batches replicated from
its peers are still applied (and counted in its INFO) and messages they forward delivered;
CONFIG SET of a start-time option (region, peer, ...) to its value changes nothing."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import redis

from server.harness.regions import Cluster
from tests.respclient import RespConnection


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    with Cluster(2) as c:
        c.wait_linked()
        yield c


def _info(cluster: Cluster, i: int, section: str) -> dict[str, object]:
    return cluster.client(i).info(section)


def test_config_slowlog_and_stats_stay_local(cluster: Cluster) -> None:
    for i in range(2):
        cluster.call(i, "CONFIG", "RESETSTAT")
        cluster.call(i, "SLOWLOG", "RESET")
    cluster.call(0, "CONFIG", "SET", "slowlog-log-slower-than", "0", "slowlog-max-len", "64",
                 "hash-max-ziplist-entries", "1")
    cluster.call(0, "HSET", "h", "a", "1", "b", "2")
    cluster.wait_converged()
    assert cluster.call(1, "CONFIG", "GET", "slowlog-max-len") == {b"slowlog-max-len": b"128"}
    assert cluster.call(0, "CONFIG", "GET", "slowlog-max-len") == {b"slowlog-max-len": b"64"}
    assert cluster.call(0, "OBJECT", "ENCODING", "h") == b"hashtable"
    assert cluster.call(1, "OBJECT", "ENCODING", "h") == b"listpack"  # region 1's threshold
    logged = [entry[3] for entry in cluster.call(0, "SLOWLOG", "GET", "-1")]
    assert [b"HSET", b"h", b"a", b"1", b"b", b"2"] in logged
    assert all(entry[3][:1] != [b"HSET"] for entry in cluster.call(1, "SLOWLOG", "GET", "-1"))
    assert "cmdstat_hset" in _info(cluster, 0, "commandstats")
    assert "cmdstat_hset" not in _info(cluster, 1, "commandstats")  # applied, not a command
    cluster.call(0, "CONFIG", "SET", "slowlog-log-slower-than", "10000", "slowlog-max-len", "128",
                 "hash-max-ziplist-entries", "512")


def test_client_pause_holds_local_writes_but_applies_replicated_ones(cluster: Cluster) -> None:
    before = int(_info(cluster, 1, "crdt")["applied_remote_batches"])
    cluster.call(1, "CLIENT", "PAUSE", "1500", "WRITE")
    t0 = time.monotonic()
    cluster.call(0, "SET", "from-0", "x")  # region 0 is not paused
    deadline = time.monotonic() + 1.2
    while time.monotonic() < deadline and cluster.call(1, "GET", "from-0") is None:
        time.sleep(0.02)
    assert cluster.call(1, "GET", "from-0") == b"x"  # applied during the pause (reads go on)
    assert time.monotonic() - t0 < 1.4
    assert int(_info(cluster, 1, "crdt")["applied_remote_batches"]) > before
    assert cluster.call(1, "SET", "from-1", "y") is True  # held until the pause ends
    assert time.monotonic() - t0 >= 1.4
    cluster.wait_converged()
    assert cluster.call(0, "GET", "from-1") == b"y"


def test_client_pause_holds_a_local_publish_but_delivers_one_forwarded_from_a_peer(cluster: Cluster) -> None:
    # PUBLISH may replicate (Redis's CLIENT PAUSE WRITE holds it); a message another region
    # forwards is not a command of a client of the paused region: it is delivered.
    sub = RespConnection(cluster.ports[1], timeout=5.0)
    try:
        assert sub.call("SUBSCRIBE", "paused-news").value[0].value == b"subscribe"
        cluster.call(1, "CLIENT", "PAUSE", "1500", "WRITE")
        t0 = time.monotonic()
        assert cluster.call(0, "PUBLISH", "paused-news", "from-0") == 0  # no local subscriber
        message = sub.read_reply()
        assert [r.value for r in message.value] == [b"message", b"paused-news", b"from-0"]
        assert time.monotonic() - t0 < 1.4  # during the pause
        assert cluster.call(1, "PUBLISH", "paused-news", "from-1") == 1  # held until the end
        assert time.monotonic() - t0 >= 1.4
        message = sub.read_reply()
        assert [r.value for r in message.value] == [b"message", b"paused-news", b"from-1"]
    finally:
        cluster.call(1, "CLIENT", "UNPAUSE")
        sub.close()


def test_config_set_of_a_start_time_option_to_its_value_is_a_no_op(cluster: Cluster) -> None:
    for i in range(2):
        config = cluster.call(i, "CONFIG", "GET", "*")
        for name in (b"region", b"peer", b"peer-user", b"repl-log-segment-size"):
            assert cluster.call(i, "CONFIG", "SET", name, config[name]) == b"OK"
        with pytest.raises(redis.ResponseError, match="can't set immutable config"):
            cluster.call(i, "CONFIG", "SET", "region", b"renamed-" + config[b"region"])
        assert cluster.call(i, "CONFIG", "GET", "region") == {b"region": config[b"region"]}
    cluster.call(0, "SET", "still-linked", "1")
    cluster.wait_converged()
    assert cluster.call(1, "GET", "still-linked") == b"1"
