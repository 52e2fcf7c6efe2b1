"""The face ``replication/`` shows ``server/`` (``Replication``), without sockets: recovery,
periodic work, what WAIT counts, and the status rows INFO and CRDT.PEERS print."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from crdt.keyspace import Keyspace
from crdt.types.strings import Assign
from replication.facade import Replication
from replication.oplog import LOG_VERSION
from replication.peerlink import PeerLinkProtocol, SyncRefused
from replication.wire import F_ACK, WIRE_VERSION, frame, pack_vv
from server.harness.mocktransport import MockTransport


@pytest.fixture
def face(tmp_path: Any) -> Iterator[tuple[Keyspace, Replication]]:
    ks = Keyspace("r1")
    rep = Replication(ks, "r1", str(tmp_path), appendfsync="no", log_retention_bytes=12345)
    yield ks, rep
    rep.sink.close()


def _write(ks: Keyspace, rep: Replication, key: bytes) -> None:
    ks.emit(Assign(0, key, b"v"))
    batch = ks.commit()
    assert batch is not None
    rep.sink.append(batch)
    rep.sink.flush()


def _link(rep: Replication, region: bytes = b"r2") -> tuple[PeerLinkProtocol, MockTransport]:
    reply, link = rep.accept_sync(WIRE_VERSION, region, b"inst", LOG_VERSION, pack_vv({}), b"log",
                                  "127.0.0.1:5", lambda exc: None)
    assert reply.startswith("SYNC r1 ") and reply.endswith(" log")
    transport = MockTransport(buffered=7)
    link.connection_made(transport)  # type: ignore[arg-type]
    return link, transport


def test_recover_reports_the_new_life(face: Any) -> None:
    ks, rep = face
    done = rep.recover()
    assert done.replayed == 0 and done.snapshot_lsn == 0 and done.unclean
    assert done.origin.startswith("r1/") and ks.region == done.origin
    assert not rep.fsync_every_second


def test_log_position_and_crdt_fields_follow_the_log(face: Any) -> None:
    ks, rep = face
    rep.recover()
    _write(ks, rep, b"a")
    _write(ks, rep, b"b")
    pos = rep.log_position()
    assert (pos.first_lsn, pos.last_lsn, pos.retention_bytes) == (1, 2, 12345) and pos.bytes > 0
    fields = dict(rep.crdt_fields())
    assert list(fields) == [
        "gc_timed_out_peers", "oplog_segments", "oplog_bytes", "oplog_first_lsn", "oplog_last_lsn",
        "oplog_fsyncs", "oplog_write_failures", "oplog_pending_bytes", "peer_batches_waiting_for_disk",
        "appendfsync", "snapshot_lsn", "applied_remote_batches", "duplicate_batches",
        "state_merges", "state_merge_in_progress", "state_merge_keys", "state_merge_slices",
        "state_merge_last_ms", "state_merge_swap_ms", "causal_buffer_batches", "causal_buffer_bytes",
        "causal_buffer_limit_bytes",
        "link_deferred_relay_batches", "link_output_buffer_bytes",
    ]
    assert (fields["oplog_last_lsn"], fields["appendfsync"], fields["link_output_buffer_bytes"]) == (2, "no", 0)
    _link(rep)
    assert dict(rep.crdt_fields())["link_output_buffer_bytes"] == 7


def test_acked_by_counts_the_peers_that_acknowledged(face: Any) -> None:
    ks, rep = face
    rep.recover()
    assert rep.acked_by({}) == 0
    _write(ks, rep, b"a")
    link, transport = _link(rep)
    assert transport.written  # the batch went out
    mine = dict(ks.vv)
    assert rep.acked_by({}) == 1  # WAIT without a write of ours: every known peer
    assert rep.acked_by(mine) == 0
    link.data_received(frame(F_ACK, pack_vv(mine)))
    assert rep.acked_by(mine) == 1
    (row,) = rep.peer_rows()
    assert row["region"] == "r2" and row["address"] == "" and row["link_in"] == "down"
    assert row["link_out"] == "up" and row["state"] == "up" and row["lag_ops"] == 0


def test_tick_without_peers_collects_nothing(face: Any) -> None:
    ks, rep = face
    rep.recover()
    _write(ks, rep, b"a")
    assert rep.tick() == 0


def test_accept_sync_refuses_our_own_name_and_a_second_instance(face: Any) -> None:
    ks, rep = face
    rep.recover()
    with pytest.raises(SyncRefused, match="CRDTERR duplicate region name 'r1'"):
        rep.accept_sync(WIRE_VERSION, b"r1", b"x", LOG_VERSION, pack_vv({}), b"log", "a", lambda exc: None)
    _link(rep, b"r2")
    with pytest.raises(SyncRefused, match="another instance is connected"):
        rep.accept_sync(WIRE_VERSION, b"r2", b"other", LOG_VERSION, pack_vv({}), b"log", "a", lambda exc: None)
