"""A stock redis-server replica of a region (``--replicaof``): it gets the region's snapshot,
then the stream of every change the region applies — its local writes and those arriving from
a peer region, expiry deletions, FLUSHDB/FLUSHALL, SWAPDB, function libraries — and ends holding
exactly the region's state (the DUMP of every key); INFO replication, ROLE and WAIT show it;
a replica killed with -9 is dropped and a new one gets a new full sync."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from typing import Any

import pytest

from server.harness.processes import ServerProcess, start_activekv, start_redis
from server.harness.regions import Cluster
from tests.compat import rdbkit
from tests.multiregion.rowkit import poll
from tests.respclient import RespConnection


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    with Cluster(2, "--enable-debug-command", "yes", proxies=False) as c:
        c.wait_linked()
        yield c


def _replica_of(port: int) -> ServerProcess:
    replica = start_redis("--replicaof", "127.0.0.1", str(port), "--enable-debug-command", "yes")
    try:
        assert poll(lambda: b"master_link_status:up" in _info(replica.port), timeout=15), _info(replica.port)
    except BaseException:
        replica.stop()
        raise
    return replica


def _info(port: int) -> bytes:
    conn = RespConnection(port)
    try:
        return bytes(conn.call("INFO", "replication").plain())
    finally:
        conn.close()


def _wait_synced(region: RespConnection) -> None:
    """WAIT 1: the replica acknowledged everything the region streamed so far."""
    assert region.call("WAIT", "1", "5000").plain() == 1


def _call(conn: RespConnection) -> Any:
    return rdbkit.plain_call(conn)


def test_replica_follows_local_and_peer_writes(cluster: Cluster) -> None:
    r1, r2 = RespConnection(cluster.ports[0]), RespConnection(cluster.ports[1])
    r1.call("SET", "before", "the sync")
    with _replica_of(cluster.ports[0]) as replica:
        rep = RespConnection(replica.port)
        # region 2's writes of every type arrive at region 1 over the peer link
        for cmd in rdbkit.writes():
            assert r2.call(*cmd).type != "-", cmd
        # and local ones at region 1: overwrite, delete, expiry, a flush of a database
        for cmd in [("SET", "int", "999"), ("LPUSH", "list", "head"), ("DEL", "neg"),
                    ("SET", "short", "x", "PX", "50"), ("HSET", "local", "f", "v"),
                    ("XREADGROUP", "GROUP", "grp", "carol", "STREAMS", "stream", ">"),
                    ("ZINCRBY", "zset", "3", "a"), ("PFADD", "hll", "local"), ("SREM", "set", "a"),
                    ("SELECT", "7"), ("SET", "gone", "1"), ("FLUSHDB",), ("SELECT", "0")]:
            assert r1.call(*cmd).type != "-", cmd
        cluster.wait_converged()
        assert poll(lambda: r1.call("EXISTS", "short").plain() == 0)  # expired (and reclaimed)
        r1.call("SET", "last", "write")
        _wait_synced(r1)
        assert rdbkit.assert_same_data(_call(r1), rep) == 21
        assert rep.call("EXISTS", "short", "neg", "before").plain() == 1
        # FUNCTION LOAD at region 2 (assert_same_data compared FUNCTION LIST too)
        assert rep.call("FUNCTION", "LIST").plain()[0][1] == b"rdblib"
        rep.call("SELECT", "7")
        assert rep.call("DBSIZE").plain() == 0
        # INFO replication and ROLE of the region list the replica with its acknowledged offset
        info = r1.call("INFO", "replication").plain().decode()
        assert "connected_slaves:1\r\n" in info
        assert f"slave0:ip=127.0.0.1,port={replica.port},state=online,offset=" in info
        role = r1.call("ROLE").plain()
        assert role[0] == b"master" and role[1] > 0
        assert role[2] == [[b"127.0.0.1", str(replica.port).encode(), role[2][0][2]]]
        assert int(role[2][0][2]) <= role[1]
        assert role[1] >= int(info.split("master_repl_offset:")[1].split("\r\n")[0]) > 0
        # WAIT: more replicas than there are times out with the count that acknowledged
        assert r1.call("WAIT", "3", "200").plain() == 2  # the peer region and the replica
        rep.close()
    r1.close()
    r2.close()


def test_killed_replica_is_dropped_and_a_new_one_resyncs(cluster: Cluster) -> None:
    r1 = RespConnection(cluster.ports[0])
    replica = _replica_of(cluster.ports[0])
    replica.stop(signal.SIGKILL)
    assert poll(lambda: "connected_slaves:0" in r1.call("INFO", "replication").plain().decode())
    assert r1.call("ROLE").plain()[2] == []
    r1.call("RPUSH", "while-away", "a", "b")
    r1.call("ZADD", "zset", "42", "new")
    with _replica_of(cluster.ports[0]) as again:
        rep = RespConnection(again.port)
        r1.call("SADD", "after", "x")
        _wait_synced(r1)
        assert rdbkit.assert_same_data(_call(r1), rep) >= 3
        assert rep.call("LRANGE", "while-away", "0", "-1").plain() == [b"a", b"b"]
        rep.close()
    r1.close()


def test_swapdb_flushall_and_expiry_reach_the_replica() -> None:
    """SWAPDB is refused while peers are configured: a region of its own."""
    with start_activekv("--enable-debug-command", "yes") as region:
        r = RespConnection(region.port)
        r.call("SET", "zero", "0")
        with _replica_of(region.port) as replica:
            rep = RespConnection(replica.port)
            r.call("SELECT", "1")
            r.call("SET", "one", "1")
            r.call("SET", "ttl", "x", "PX", "1500")
            assert r.call("SWAPDB", "0", "1").plain() == "OK"
            r.call("SELECT", "0")
            _wait_synced(r)
            rep.call("SELECT", "0")
            assert sorted(rep.call("KEYS", "*").plain()) == [b"one", b"ttl"]
            assert rep.call("PEXPIRETIME", "ttl").plain() == r.call("PEXPIRETIME", "ttl").plain()
            rep.call("SELECT", "1")
            assert rep.call("KEYS", "*").plain() == [b"zero"]
            assert poll(lambda: r.call("EXISTS", "ttl").plain() == 0)
            _wait_synced(r)
            rep.call("SELECT", "0")
            assert poll(lambda: rep.call("DBSIZE").plain() == 1)  # the DEL of the expired key
            r.call("FLUSHALL")
            _wait_synced(r)
            assert rep.call("DBSIZE").plain() == 0
            rep.call("SELECT", "1")
            assert rep.call("DBSIZE").plain() == 0
            rep.close()
        r.close()
