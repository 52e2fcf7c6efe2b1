"""The op log and snapshots on their own (replication/oplog.py, replication/snapshot.py,
crdt/state.py merge): pure, in temporary directories."""

from __future__ import annotations

import logging
import os
import tempfile
import time
from pathlib import Path

import pytest

from crdt import state
from crdt.keyspace import Keyspace
from crdt.types.orset import SetAdd
from crdt.types.strings import Assign, Incr
from replication import oplog, snapshot
from replication.oplog import HEADER, OpLog, OpLogCorrupt
from tests.puresub import run_pure


def _fill(log: OpLog, n: int, size: int = 10, start: int = 1) -> list[bytes]:
    payloads = []
    for i in range(start, start + n):
        p = (b"%06d" % i) * (size // 6 + 1)
        log.append(p, {"a/1": i})
        payloads.append(p)
    log.flush()
    return payloads


def _reopen(directory: Path, **kwargs: object) -> tuple[OpLog, list[tuple[int, bytes]]]:
    log = OpLog(str(directory), **kwargs)  # type: ignore[arg-type]
    return log, list(log.open())


def _segment_files(directory: Path) -> list[Path]:
    return sorted((directory / "oplog").glob("*.aol"))


def test_append_flush_reopen_returns_the_same_records(tmp_path: Path) -> None:
    log, recs = _reopen(tmp_path)
    assert recs == []
    payloads = _fill(log, 20)
    log.close()
    log2, recs = _reopen(tmp_path)
    assert recs == list(enumerate(payloads, 1))
    assert log2.next_lsn == 21
    assert log2.append(b"more", {"a/1": 21}) == 21
    log2.close()
    _, recs = _reopen(tmp_path)
    assert recs[-1] == (21, b"more") and len(recs) == 21


def test_flush_writes_before_close(tmp_path: Path) -> None:
    """What flush wrote is in the file (a crash after the reply loses nothing)."""
    log, _ = _reopen(tmp_path, appendfsync="always")
    _fill(log, 3)
    assert log.fsyncs >= 1
    # no close: read the files as a crash would leave them
    _, recs = _reopen(tmp_path)
    assert [lsn for lsn, _ in recs] == [1, 2, 3]


def test_segments_rotate_and_reopen_in_order(tmp_path: Path) -> None:
    log, _ = _reopen(tmp_path, segment_bytes=300)
    payloads = _fill(log, 40, size=50)
    # a closed segment's max VV covers its records (log truncation waits for peers to have it)
    assert all(seg.max_vv == {"a/1": seg.last_lsn} for seg in log.segments[:-1])
    log.close()
    files = _segment_files(tmp_path)
    assert len(files) > 3
    # segment files are named by their first LSN; start VVs follow the records
    log2, recs = _reopen(tmp_path, segment_bytes=300)
    assert recs == list(enumerate(payloads, 1))
    assert [s.first_lsn for s in log2.segments] == [int(f.name[:-4]) for f in files]
    for seg in log2.segments[1:]:
        assert seg.start_vv == {"a/1": seg.first_lsn - 1}
    assert log2.segments[0].start_vv == {}
    assert all(seg.max_vv == {"a/1": seg.last_lsn} for seg in log2.segments[:-1])  # also reopened


def test_torn_last_record_is_dropped_and_the_log_stays_appendable(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    log, _ = _reopen(tmp_path)
    _fill(log, 5, size=40)
    log.close()
    path = _segment_files(tmp_path)[-1]
    size = path.stat().st_size
    os.truncate(path, size - 7)  # a crash in the middle of the last record
    with caplog.at_level(logging.WARNING, logger="activekv"):
        log2, recs = _reopen(tmp_path)
    assert [lsn for lsn, _ in recs] == [1, 2, 3, 4]
    assert any("truncated record" in r.getMessage() and str(path) in r.getMessage() for r in caplog.records)
    assert log2.append(b"after-crash", {"a/1": 5}) == 5
    log2.close()
    _, recs = _reopen(tmp_path)
    assert recs[-1] == (5, b"after-crash") and len(recs) == 5


def test_torn_header_is_dropped(tmp_path: Path) -> None:
    log, _ = _reopen(tmp_path)
    _fill(log, 3)
    log.close()
    path = _segment_files(tmp_path)[-1]
    with open(path, "ab") as f:
        f.write(b"\x01\x01\x05")  # fewer bytes than a header
    _, recs = _reopen(tmp_path)
    assert [lsn for lsn, _ in recs] == [1, 2, 3]


def _record_offsets(path: Path) -> list[int]:
    data = path.read_bytes()
    offs, off = [], 0
    while off < len(data):
        offs.append(off)
        _, _, length, _ = HEADER.unpack_from(data, off)
        off += HEADER.size + length
    return offs


def _flip(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


def test_corrupt_middle_record_stops_open_naming_file_and_offset(tmp_path: Path) -> None:
    log, _ = _reopen(tmp_path)
    _fill(log, 10, size=30)
    log.close()
    path = _segment_files(tmp_path)[-1]
    offs = _record_offsets(path)  # offs[0] is the segment header record
    bad = offs[5]
    _flip(path, bad + HEADER.size + 3)  # a payload byte of batch 5
    with pytest.raises(OpLogCorrupt) as info:
        _reopen(tmp_path)
    assert info.value.path == str(path) and info.value.offset == bad
    msg = str(info.value)
    assert str(path) in msg and f"offset {bad}" in msg and "checksum" in msg
    assert "\n" not in msg
    assert path.stat().st_size > bad  # nothing was cut without being asked


def test_corrupt_middle_record_with_truncate_corrupt_cuts_there(tmp_path: Path) -> None:
    log, _ = _reopen(tmp_path)
    payloads = _fill(log, 10, size=30)
    log.close()
    path = _segment_files(tmp_path)[-1]
    bad = _record_offsets(path)[5]
    _flip(path, bad + HEADER.size + 3)
    log2, recs = _reopen(tmp_path, truncate_corrupt=True)
    assert recs == list(enumerate(payloads[:4], 1))
    assert path.stat().st_size == bad
    assert log2.append(b"x", {"a/1": 5}) == 5
    log2.close()
    _, recs = _reopen(tmp_path)
    assert len(recs) == 5


def test_corrupt_record_in_an_older_segment_is_not_silently_skipped(tmp_path: Path) -> None:
    log, _ = _reopen(tmp_path, segment_bytes=200)
    _fill(log, 30, size=40)
    log.close()
    first = _segment_files(tmp_path)[0]
    offs = _record_offsets(first)
    _flip(first, offs[1] + HEADER.size)
    with pytest.raises(OpLogCorrupt) as info:
        _reopen(tmp_path, segment_bytes=200)
    assert info.value.path == str(first)
    # a torn (truncated) record in a segment that is not the last is corruption too
    first.write_bytes(first.read_bytes()[: offs[1] + 3])
    with pytest.raises(OpLogCorrupt):
        _reopen(tmp_path, segment_bytes=200)


def test_read_from_memory_tail_and_from_disk_agree(tmp_path: Path) -> None:
    log, _ = _reopen(tmp_path, segment_bytes=400)
    _fill(log, 50, size=30)
    from_memory = [(lsn, p) for lsn, p, _ in log.read_from(7)]
    assert [lsn for lsn, _ in from_memory] == list(range(7, 51))
    log.tail.clear()  # force the segment files
    from_disk = [(lsn, p) for lsn, p, meta in log.read_from(7)]
    assert from_disk == from_memory
    assert [lsn for lsn, _, _ in log.read_from(51)] == []
    # queued but not yet flushed records are readable from disk too
    log.append(b"pending", {"a/1": 51})
    log.tail.clear()
    assert list(log.read_from(51)) == [(51, b"pending", None)]
    log.close()


@pytest.mark.parametrize("chunk", [7, 100, 1 << 20])
def test_read_from_disk_seeks_by_the_sparse_index_and_reads_in_chunks(chunk: int) -> None:
    run_pure(_seeks_by_the_sparse_index, chunk)  # counts _scan calls: see tests/puresub.py


def _seeks_by_the_sparse_index(chunk: int) -> None:
    with tempfile.TemporaryDirectory() as tmp, pytest.MonkeyPatch.context() as monkeypatch:
        _read_in_chunks(Path(tmp), monkeypatch, chunk)


def _read_in_chunks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int) -> None:
    monkeypatch.setattr(oplog, "INDEX_EVERY", 16)
    monkeypatch.setattr(oplog, "READ_CHUNK", chunk)  # records straddle chunk boundaries
    log, _ = _reopen(tmp_path, segment_bytes=3000)
    payloads = _fill(log, 300, size=20)
    assert len(log.segments) > 2
    assert all(len(seg.index) > 1 for seg in log.segments[:-1])
    log.tail.clear()
    opened: list[int] = []
    real_scan = oplog._scan
    def scan(path: str, offset: int, next_lsn: int, lsn: int):  # type: ignore[no-untyped-def]
        opened.append(offset)
        return real_scan(path, offset, next_lsn, lsn)
    monkeypatch.setattr(oplog, "_scan", scan)
    for start in (1, 2, 16, 17, 33, 150, 299, 300, 301):
        opened.clear()
        got = [(lsn, p) for lsn, p, _ in log.read_from(start)]
        assert got == list(enumerate(payloads, 1))[start - 1 :], start
        if 1 < start <= 300:  # the reader started near its record, not at the segment's start
            assert opened and opened[0] > 0, start
    # the index is rebuilt on reopen, and the same reads come back
    log.close()
    log, _ = _reopen(tmp_path, segment_bytes=3000)
    log.tail.clear()
    assert [(lsn, p) for lsn, p, _ in log.read_from(150)] == list(enumerate(payloads, 1))[149:]
    log.close()


def test_read_from_memory_tail_takes_just_the_suffix(tmp_path: Path) -> None:
    log, _ = _reopen(tmp_path)
    payloads = _fill(log, 2000)
    assert log.tail[0][0] == 1
    assert [(lsn, p) for lsn, p, _ in log.read_from(1)] == list(enumerate(payloads, 1))
    assert [(lsn, p) for lsn, p, _ in log.read_from(2000)] == [(2000, payloads[-1])]
    assert [lsn for lsn, _, _ in log.read_from(1995)] == list(range(1995, 2001))
    assert list(log.read_from(2001)) == []
    log.close()


def test_segment_for_finds_where_a_reader_must_start(tmp_path: Path) -> None:
    log, _ = _reopen(tmp_path, segment_bytes=200)
    _fill(log, 30, size=40)
    segs = log.segments
    assert len(segs) >= 4
    assert log.segment_for({}) == 1
    assert log.segment_for({"a/1": 30}) == segs[-1].first_lsn
    mid = segs[2]
    have = mid.start_vv["a/1"]
    assert log.segment_for({"a/1": have}) == mid.first_lsn
    assert log.segment_for({"a/1": have - 1}) == segs[1].first_lsn
    # everything from segment_for on covers what the reader lacks
    start = log.segment_for({"a/1": 17})
    assert start <= 18
    log.truncate_before(segs[2].first_lsn)
    assert log.segment_for({"a/1": 0}) == 0  # the log no longer reaches back
    assert log.segment_for({"a/1": have}) == mid.first_lsn
    log.close()


def test_truncate_before_removes_whole_old_segments_only(tmp_path: Path) -> None:
    log, _ = _reopen(tmp_path, segment_bytes=200)
    _fill(log, 30, size=40)
    segs = list(log.segments)
    cut = segs[2].first_lsn + 1  # inside segment 2: only segments 0 and 1 end before it
    assert log.truncate_before(cut) == 2
    assert log.first_lsn == segs[2].first_lsn
    assert not os.path.exists(segs[0].path) and os.path.exists(segs[2].path)
    assert log.truncate_before(10**9) == len(segs) - 3  # never the current segment
    assert len(log.segments) == 1
    log.tail.clear()
    assert [lsn for lsn, _, _ in log.read_from(1)] == list(range(log.segments[0].first_lsn, 31))
    log.close()
    log2, recs = _reopen(tmp_path, segment_bytes=200)
    assert recs[0][0] == log2.first_lsn and recs[-1][0] == 30


# -- snapshots and state merge ---------------------------------------------------------------


def _write(ks: Keyspace, *effects: object) -> None:
    ks.now_ms = int(time.time() * 1000)
    for e in effects:
        ks.emit(e)  # type: ignore[arg-type]
    ks.commit()


def _digest(ks: Keyspace) -> str:
    from crdt.digest import keyspace_digest

    return keyspace_digest(ks)


def test_snapshot_write_load_round_trip(tmp_path: Path) -> None:
    ks = Keyspace("a/1")
    _write(ks, Assign(0, b"s", b"v"), Incr(0, b"n", 5), SetAdd(0, b"set", (b"x", b"y")))
    _write(ks, Assign(3, b"ttl", b"t", int(time.time() * 1000) + 60_000))
    snapshot.write(ks, str(tmp_path), 42)
    assert os.listdir(tmp_path) == [snapshot.FILENAME]  # no temporary file left
    ks2 = Keyspace("a/2")
    assert snapshot.load(ks2, str(tmp_path)) == 42
    ks2.now_ms = ks.now_ms
    assert ks2.vv == ks.vv
    assert _digest(ks2) == _digest(ks)
    assert Keyspace("z").vv == {} and snapshot.load(Keyspace("z"), str(tmp_path / "none")) == 0


def test_snapshot_corrupt_file_is_an_error(tmp_path: Path) -> None:
    (tmp_path / snapshot.FILENAME).write_bytes(b"garbage")
    with pytest.raises(snapshot.SnapshotError):
        snapshot.load(Keyspace("a/1"), str(tmp_path))


def test_state_merge_keeps_both_sides_unreplicated_writes(tmp_path: Path) -> None:
    a, b = Keyspace("a/1"), Keyspace("b/1")
    _write(a, Assign(0, b"common", b"0"), SetAdd(0, b"set", (b"base",)), Incr(0, b"n", 1))
    # b has everything a had so far (as if replicated)
    snapshot.write(a, str(tmp_path), 1)
    _, recs = snapshot.records(str(tmp_path / snapshot.FILENAME))
    state.merge(b, recs)
    assert b.vv == a.vv
    # concurrent, unreplicated writes on both sides
    _write(a, SetAdd(0, b"set", (b"from-a",)), Incr(0, b"n", 10), Assign(0, b"only-a", b"1"))
    _write(b, SetAdd(0, b"set", (b"from-b",)), Incr(0, b"n", 100), Assign(0, b"only-b", b"2"))
    (tmp_path / "a").mkdir()
    snapshot.write(a, str(tmp_path / "a"), 2)
    _, recs = snapshot.records(str(tmp_path / "a" / snapshot.FILENAME))
    state.merge(b, recs)
    db = b.dbs[0]
    now = int(time.time() * 1000)
    assert sorted(db.get(b"set", now).content()) == [b"base", b"from-a", b"from-b"]  # type: ignore[union-attr]
    assert db.get(b"n", now).content().value() == b"111"  # type: ignore[union-attr]
    assert db.get(b"only-a", now) is not None and db.get(b"only-b", now) is not None
    assert b.vv == {"a/1": a.vv["a/1"], "b/1": b.vv["b/1"]}
    # merging the other way gives the same state (a join)
    (tmp_path / "b").mkdir()
    snapshot.write(b, str(tmp_path / "b"), 3)
    _, recs = snapshot.records(str(tmp_path / "b" / snapshot.FILENAME))
    state.merge(a, recs)
    a.now_ms = b.now_ms = now
    assert _digest(a) == _digest(b)


def test_state_merge_applies_removals_the_peer_observed(tmp_path: Path) -> None:
    from crdt.effects import Delete
    from crdt.types.orset import SetRemove

    a, b = Keyspace("a/1"), Keyspace("b/1")
    _write(a, SetAdd(0, b"set", (b"x", b"y")), Assign(0, b"gone", b"v"))
    snapshot.write(a, str(tmp_path), 1)
    state.merge(b, snapshot.records(str(tmp_path / snapshot.FILENAME))[1])
    _write(a, SetRemove(0, b"set", (b"x",)), Delete(0, b"gone"))
    _write(b, SetAdd(0, b"set", (b"z",)))
    snapshot.write(a, str(tmp_path), 2)
    state.merge(b, snapshot.records(str(tmp_path / snapshot.FILENAME))[1])
    now = int(time.time() * 1000)
    assert sorted(b.dbs[0].get(b"set", now).content()) == [b"y", b"z"]  # type: ignore[union-attr]
    assert b.dbs[0].get(b"gone", now) is None
