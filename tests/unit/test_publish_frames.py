"""``Replication.publish``: one PUBLISH frame per peer region that pulls from us (not logged),
on that region's current link; nothing for a link that pushes back (at-most-once, bounded) or
is closed. Without sockets: the links are accepted ``CRDT.SYNC`` connections on mock
transports."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import msgpack
import pytest

from crdt.keyspace import Keyspace
from replication.facade import Replication
from replication.oplog import LOG_VERSION
from replication.peerlink import PeerLinkProtocol
from replication.wire import F_PUBLISH, PULLER_FRAMES, WIRE_VERSION, FrameReader, pack_vv
from server.harness.mocktransport import MockTransport


@pytest.fixture
def rep(tmp_path: Any) -> Iterator[Replication]:
    ks = Keyspace("r1")
    replication = Replication(ks, "r1", str(tmp_path), appendfsync="no")
    replication.recover()
    yield replication
    replication.sink.close()


def _link(rep: Replication, region: bytes, instance: bytes = b"inst") -> tuple[PeerLinkProtocol, MockTransport]:
    _, link = rep.accept_sync(WIRE_VERSION, region, instance, LOG_VERSION, pack_vv({}), b"log",
                              "127.0.0.1:5", lambda exc: None)
    transport = MockTransport()
    link.connection_made(transport)  # type: ignore[arg-type]
    transport.written.clear()
    return link, transport


def _published(transport: MockTransport) -> list[list[Any]]:
    frames = FrameReader(PULLER_FRAMES).feed(bytes(transport.written))
    return [msgpack.unpackb(p, raw=False) for t, p in frames if t == F_PUBLISH]


def test_one_frame_per_peer_region_and_nothing_logged(rep: Replication) -> None:
    _, t2 = _link(rep, b"r2")
    _, t3 = _link(rep, b"r3")
    before = rep.log_position()
    assert rep.publish(False, b"news", b"hello") == 2
    assert rep.publish(True, b"orders", b"\x00\xff") == 2
    for t in (t2, t3):
        assert _published(t) == [[False, b"news", b"hello"], [True, b"orders", b"\x00\xff"]]
    assert rep.log_position() == before  # pub/sub never enters the op log


def test_a_paused_or_closed_link_drops_the_message(rep: Replication) -> None:
    l2, t2 = _link(rep, b"r2")
    l3, t3 = _link(rep, b"r3")
    l2.pause_writing()  # the socket pushes back
    l3.connection_lost(None)
    assert rep.publish(False, b"c", b"m") == 0
    assert _published(t2) == [] and _published(t3) == []
    l2.resume_writing()
    assert rep.publish(False, b"c", b"later") == 1
    assert _published(t2) == [[False, b"c", b"later"]]  # the dropped one never comes


def test_a_region_with_two_connections_gets_one_frame(rep: Replication) -> None:
    _, old = _link(rep, b"r2")
    _, new = _link(rep, b"r2")
    assert rep.publish(False, b"c", b"once") == 1
    assert len(_published(old)) + len(_published(new)) == 1
