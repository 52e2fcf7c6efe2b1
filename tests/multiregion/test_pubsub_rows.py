"""SEMANTICS "Pub/sub, notifications, client-side caching", with three real regions and a fault
proxy on every link: a PUBLISH (or SPUBLISH) in any region reaches the subscribers of every
region exactly once and replies with the local receiver count; while a link is down the
messages for it are dropped, never delivered late."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from server.harness.regions import Cluster
from tests.respclient import Reply, RespConnection

QUIET_S = 0.4  # how long "nothing more arrives" is watched for


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    with Cluster(3) as c:
        c.wait_linked()
        yield c


def _subscriber(cluster: Cluster, i: int, *cmd: str, protocol: int = 2) -> RespConnection:
    conn = RespConnection(cluster.ports[i], timeout=5.0)
    if protocol == 3:
        assert conn.call("HELLO", "3").type == "%"
    reply = conn.call(*cmd)
    assert reply.type in "*>" and reply.value[0].value.endswith(b"subscribe"), reply
    return conn


def _messages(conn: RespConnection, n: int) -> list[list[bytes]]:
    """The next ``n`` messages."""
    return [_plain(conn.read_reply()) for _ in range(n)]


def _nothing_more(conns: list[RespConnection]) -> None:
    """No connection receives anything more within QUIET_S (duplicates, late deliveries)."""
    time.sleep(QUIET_S)
    for conn in conns:
        conn.sock.settimeout(0.01)
        try:
            extra = conn.read_reply()
        except TimeoutError:
            extra = None
        finally:
            conn.sock.settimeout(5.0)
        assert extra is None, f"unexpected extra message {extra!r}"


def _plain(reply: Reply) -> list[bytes]:
    assert reply.type in "*>", reply
    return [r.value for r in reply.value]


def test_publish_in_each_region_reaches_every_region_once(cluster: Cluster) -> None:
    subs = [_subscriber(cluster, i, "SUBSCRIBE", "news", protocol=2 + i % 2) for i in range(3)]
    psubs = [_subscriber(cluster, i, "PSUBSCRIBE", "ne*") for i in range(3)]
    try:
        for i in range(3):
            assert cluster.call(i, "PUBLISH", "news", f"from-{i}") == 2  # local receivers only
        for conn in subs:
            got = _messages(conn, 3)
            assert sorted(got) == [[b"message", b"news", b"from-%d" % i] for i in range(3)]
        for conn in psubs:
            got = _messages(conn, 3)
            assert sorted(got) == [[b"pmessage", b"ne*", b"news", b"from-%d" % i] for i in range(3)]
        _nothing_more(subs + psubs)
    finally:
        for conn in subs + psubs:
            conn.close()


def test_spublish_reaches_every_region_once(cluster: Cluster) -> None:
    subs = [_subscriber(cluster, i, "SSUBSCRIBE", "orders") for i in range(3)]
    try:
        for i in range(3):
            assert cluster.call(i, "SPUBLISH", "orders", f"o{i}") == 1
        assert cluster.call(0, "PUBLISH", "orders", "not-a-shard-message") == 0
        for conn in subs:
            assert sorted(_messages(conn, 3)) == [[b"smessage", b"orders", b"o%d" % i] for i in range(3)]
        _nothing_more(subs)
    finally:
        for conn in subs:
            conn.close()


def test_messages_for_a_down_link_are_dropped_not_delayed(cluster: Cluster) -> None:
    subs = [_subscriber(cluster, i, "SUBSCRIBE", "alerts") for i in range(3)]
    try:
        cluster.partition(0, 1)
        time.sleep(0.2)  # the links notice
        assert cluster.call(0, "PUBLISH", "alerts", "during-partition") == 1
        assert _messages(subs[0], 1) == [[b"message", b"alerts", b"during-partition"]]
        assert _messages(subs[2], 1) == [[b"message", b"alerts", b"during-partition"]]
        cluster.heal_all()
        cluster.wait_linked()
        assert cluster.call(0, "PUBLISH", "alerts", "after") == 1
        for conn in subs:  # at-most-once: region 1 never gets the message of the partition
            assert _messages(conn, 1) == [[b"message", b"alerts", b"after"]]
        _nothing_more(subs)
    finally:
        cluster.heal_all()
        for conn in subs:
            conn.close()


@pytest.fixture
def notifying(cluster: Cluster) -> Iterator[None]:
    for i in range(3):
        cluster.call(i, "CONFIG", "SET", "notify-keyspace-events", "KEA")
    yield
    for i in range(3):
        cluster.call(i, "CONFIG", "SET", "notify-keyspace-events", "")


def test_keyspace_notifications_of_a_write_in_another_region(cluster: Cluster, notifying: None) -> None:
    """SEMANTICS: notifications fire for replicated writes exactly as for local ones, with
    the origin command's event names (APPEND is ``append`` everywhere, not ``set``)."""
    subs = [_subscriber(cluster, i, "PSUBSCRIBE", "__key*__:*") for i in range(3)]
    try:
        cluster.call(0, "SET", "kn", "v")
        cluster.call(0, "APPEND", "kn", "x")
        cluster.call(0, "HSET", "hn", "f", "1")
        cluster.call(0, "DEL", "hn")
        expected = [[b"pmessage", b"__key*__:*", ch, msg] for ch, msg in (
            (b"__keyspace@0__:kn", b"set"), (b"__keyevent@0__:set", b"kn"),
            (b"__keyspace@0__:kn", b"append"), (b"__keyevent@0__:append", b"kn"),
            (b"__keyspace@0__:hn", b"hset"), (b"__keyevent@0__:hset", b"hn"),
            (b"__keyspace@0__:hn", b"del"), (b"__keyevent@0__:del", b"hn"),
        )]
        for conn in subs:
            assert _messages(conn, len(expected)) == expected
        _nothing_more(subs)
    finally:
        for conn in subs:
            conn.close()


def test_a_key_expiring_everywhere_fires_expired_once_per_region(cluster: Cluster, notifying: None) -> None:
    subs = [_subscriber(cluster, i, "SUBSCRIBE", "__keyevent@0__:expired") for i in range(3)]
    try:
        cluster.call(1, "SET", "ke", "v", "PX", "50")
        for conn in subs:  # removed by whichever expire cycle comes first; fired once each
            assert _messages(conn, 1) == [[b"message", b"__keyevent@0__:expired", b"ke"]]
        _nothing_more(subs)
    finally:
        for conn in subs:
            conn.close()


def test_tracking_client_in_another_region_is_invalidated(cluster: Cluster) -> None:
    """SEMANTICS: CLIENT TRACKING invalidations fire for replicated writes (and flushes)."""
    tracker = RespConnection(cluster.ports[1], timeout=5.0)
    bcast = RespConnection(cluster.ports[2], timeout=5.0)
    try:
        for conn in (tracker, bcast):
            assert conn.call("HELLO", "3").type == "%"
        assert tracker.call("CLIENT", "TRACKING", "on").value == "OK"
        assert bcast.call("CLIENT", "TRACKING", "on", "bcast", "prefix", "tk").value == "OK"
        assert tracker.call("GET", "tk").value is None  # read (absent): now tracked
        cluster.call(0, "SET", "tk", "from-region-0")
        invalidate = [b"invalidate", [b"tk"]]
        assert _plain_push(tracker.read_reply()) == invalidate
        assert _plain_push(bcast.read_reply()) == invalidate
        assert tracker.call("GET", "tk").value == b"from-region-0"
        cluster.call(0, "FLUSHALL")
        for conn in (tracker, bcast):
            assert _plain_push(conn.read_reply()) == [b"invalidate", None]
        _nothing_more([tracker, bcast])
    finally:
        tracker.close()
        bcast.close()


def _plain_push(reply: Reply) -> list[object]:
    assert reply.type == ">", reply
    return [r.value if r.type != "*" else [x.value for x in r.value] for r in reply.value]
