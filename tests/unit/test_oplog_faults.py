"""The op log and the replicator when the disk fails (replication/diskio.py's fault layer, in
temporary directories): no torn record, nothing readable by peers or acknowledged before it is
in the file, retries at most once a second, a state merge that cannot be made durable is not
swapped in."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from crdt.keyspace import Keyspace
from crdt.types.strings import Assign
from replication import diskio, snapshot
from replication.oplog import OpLog
from replication.replicator import Replicator


@pytest.fixture(autouse=True)
def no_fault() -> Iterator[None]:
    yield
    diskio.inject("off")


def _no_wait(log: OpLog) -> None:
    log._last_retry = 0.0  # as if RETRY_S had passed


def _reopen(directory: Path) -> list[tuple[int, bytes]]:
    log = OpLog(str(directory))
    records = list(log.open())
    log.close()
    return records


def test_a_failed_write_leaves_whole_records_and_is_retried(tmp_path: Path) -> None:
    log = OpLog(str(tmp_path), appendfsync="no")
    list(log.open())
    log.append(b"one", {"a/1": 1})
    assert log.flush() and log.durable_lsn == 1
    size = os.path.getsize(log.segments[-1].path)
    diskio.inject("eio")
    log.append(b"two", {"a/1": 2})
    assert not log.flush()
    assert log.status.write_errno == 5 and log.durable_lsn == 1
    assert os.path.getsize(log.segments[-1].path) == size  # nothing of "two" in the file
    assert [lsn for lsn, _, _ in log.read_from(1)] == [1, 2]  # the tail still has it...
    diskio.inject("off")
    log.append(b"three", {"a/1": 3})
    assert not log.flush()  # ...and the next attempt waits for RETRY_S
    _no_wait(log)
    assert log.flush() and log.status.ok and log.durable_lsn == 3
    assert _reopen(tmp_path) == [(1, b"one"), (2, b"two"), (3, b"three")]


def test_a_short_write_is_cut_back_to_the_last_whole_record(tmp_path: Path, monkeypatch: Any) -> None:
    log = OpLog(str(tmp_path), appendfsync="no")
    list(log.open())
    log.append(b"one", {"a/1": 1})
    log.flush()
    size = os.path.getsize(log.segments[-1].path)
    calls = []

    def half_then_full(fd: int, data: Any) -> int:
        calls.append(len(data))
        if len(calls) == 1:
            return os.write(fd, bytes(data[: len(data) // 2]))  # a short write, then ENOSPC
        raise OSError(28, os.strerror(28))

    monkeypatch.setattr(diskio, "write", half_then_full)
    log.append(b"two" * 100, {"a/1": 2})
    assert not log.flush() and log.status.write_errno == 28
    assert os.path.getsize(log.segments[-1].path) == size
    monkeypatch.undo()
    _no_wait(log)
    assert log.flush()
    assert [p for _, p in _reopen(tmp_path)] == [b"one", b"two" * 100]


def test_a_failed_fsync_with_always_is_not_durable_until_it_succeeds(tmp_path: Path) -> None:
    log = OpLog(str(tmp_path), appendfsync="always")
    list(log.open())
    diskio.inject("fsync-eio")
    log.append(b"one", {"a/1": 1})
    assert not log.flush() and log.durable_lsn == 0 and log.status.fsync_errno == 5
    diskio.inject("off")
    _no_wait(log)
    assert log.flush() and log.durable_lsn == 1 and log.status.ok


def test_a_segment_that_cannot_be_started_is_not_used(tmp_path: Path) -> None:
    log = OpLog(str(tmp_path), appendfsync="no", segment_bytes=64)
    list(log.open())
    log.append(b"x" * 80, {"a/1": 1})
    log.flush()
    diskio.inject("enospc")
    log.append(b"y", {"a/1": 2})  # would start a new segment: the disk refuses, logged later
    assert len(log.segments) == 1 and len(os.listdir(log.dir)) == 1
    assert not log.flush()
    diskio.inject("off")
    _no_wait(log)
    assert log.flush()
    log.append(b"z", {"a/1": 3})  # rotation is retried once the disk works
    assert log.flush() and len(log.segments) == 2
    log.close()
    assert [p for _, p in _reopen(tmp_path)] == [b"x" * 80, b"y", b"z"]


def test_one_log_line_per_failure_not_per_retry(tmp_path: Path, caplog: Any) -> None:
    log = OpLog(str(tmp_path), appendfsync="no")
    list(log.open())
    diskio.inject("enospc")
    for i in range(5):
        log.append(b"r", {"a/1": i + 1})
        _no_wait(log)
        log.flush()
    assert log.status.failures == 5
    diskio.inject("off")
    _no_wait(log)
    log.flush()
    lines = [r.getMessage() for r in caplog.records if "op log" in r.getMessage().lower()]
    assert len(lines) == 2 and "No space left on device" in lines[0] and "solved" in lines[1]


def _local(ks: Keyspace, rep: Replicator, key: bytes) -> None:
    ks.emit(Assign(0, key, b"v"))
    batch = ks.commit()
    assert batch is not None
    rep.append(batch)


def test_acknowledged_vv_is_what_the_log_holds(tmp_path: Path) -> None:
    ks = Keyspace("r1")
    rep = Replicator(ks, "r1", str(tmp_path), appendfsync="no")
    rep.recover()
    _local(ks, rep, b"a")
    rep.flush()
    acked = dict(rep.durable_vv)
    assert acked == ks.vv and rep.disk_ok
    diskio.inject("eio")
    _local(ks, rep, b"b")
    rep.flush()
    assert not rep.disk_ok and rep.durable_vv == acked != ks.vv
    assert [lsn for lsn, _, _ in rep.read_log(1)] == [1]  # peers are not sent the unwritten one
    diskio.inject("off")
    rep.oplog._last_retry = 0.0
    rep.flush()
    assert rep.disk_ok and rep.durable_vv == ks.vv
    assert [lsn for lsn, _, _ in rep.read_log(1)] == [1, 2]
    rep.close()


def test_a_state_merge_that_cannot_be_made_durable_is_not_swapped_in(tmp_path: Path) -> None:
    """A peer's state is fsynced before its swap (``replication/merger.py``): when that fails,
    nothing of it is applied, no file is left, and the link's retry merges it once the disk
    is back."""
    other = Keyspace("r2")
    other.emit(Assign(0, b"theirs", b"1"))
    assert other.commit() is not None
    os.makedirs(tmp_path / "r2")
    ks = Keyspace("r1")
    rep = Replicator(ks, "r1", str(tmp_path / "r1"), appendfsync="no")
    rep.recover()
    received = snapshot.write(other, str(tmp_path / "r2"), 1)
    diskio.inject("fsync-eio")
    with pytest.raises(OSError):
        asyncio.run(rep.merge_state_file("r2", received))
    assert b"theirs" not in ks.dbs[0].entries and rep.state_merges == 0
    assert not [n for n in os.listdir(rep.directory) if n.startswith(("merge-", "peer-state"))]
    diskio.inject("off")
    asyncio.run(rep.merge_state_file("r2", snapshot.write(other, str(tmp_path / "r2"), 1)))
    assert ks.dbs[0].entries[b"theirs"] is not None and rep.state_merges == 1
    rep.close()


def test_a_snapshot_is_refused_while_the_log_cannot_be_written(tmp_path: Path) -> None:
    """A snapshot past the log's end would hide the records the log lacks after a restart."""
    ks = Keyspace("r1")
    rep = Replicator(ks, "r1", str(tmp_path), appendfsync="no")
    rep.recover()
    diskio.inject("eio")
    _local(ks, rep, b"a")
    rep.flush()
    with pytest.raises(OSError):
        rep.snapshot_now(blocking=True)
    assert not os.path.exists(os.path.join(str(tmp_path), snapshot.FILENAME))
    diskio.inject("off")
    rep.oplog._last_retry = 0.0
    rep.snapshot_now(blocking=True)
    assert rep.snapshot_lsn == 1
    rep.close()
