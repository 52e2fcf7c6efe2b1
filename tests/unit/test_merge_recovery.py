"""A swapped-in peer state is durable before any snapshot covers it: a crash right after the
swap recovers the same state (the kept ``merge-<lsn>.akv`` is merged again at its place in the
log), and once a snapshot taken after the swap exists the kept file goes."""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from pathlib import Path

import pytest

from crdt.digest import keyspace_digest
from crdt.effects import Effect
from crdt.keyspace import Keyspace
from crdt.types.orset import SetAdd
from crdt.types.strings import Assign, Incr
from replication import merger, snapshot
from replication.replicator import Replicator


def _write(ks: Keyspace, rep: Replicator, *effects: Effect) -> None:
    ks.now_ms = int(time.time() * 1000)
    for e in effects:
        ks.emit(e)
    batch = ks.commit()
    assert batch is not None
    rep.append(batch)
    rep.flush()


def _peer_state(tmp_path: Path) -> str:
    a = Keyspace("a/1")
    a.now_ms = int(time.time() * 1000)
    for i in range(50):
        a.emit(Assign(0, b"k%d" % i, b"from-a"))
    a.emit(SetAdd(0, b"s", (b"a",)))
    a.commit()
    directory = tmp_path / "peer"
    directory.mkdir()
    return snapshot.write(a, str(directory), 1)


def _digest(ks: Keyspace) -> str:
    ks.now_ms = int(time.time() * 1000)
    return keyspace_digest(ks)


def _region(directory: str) -> tuple[Keyspace, Replicator]:
    ks = Keyspace("b", 16)
    rep = Replicator(ks, "b", directory, appendfsync="always")
    rep.recover()
    return ks, rep


def test_a_crash_after_the_swap_recovers_the_merged_state(tmp_path: Path) -> None:
    directory = str(tmp_path / "b")
    ks, rep = _region(directory)
    _write(ks, rep, Assign(0, b"before", b"1"), SetAdd(0, b"s", (b"b",)))
    received = os.path.join(directory, merger.TEMP_PREFIX + "x")
    shutil.copy(_peer_state(tmp_path), received)
    assert asyncio.run(rep.merge_state_file("a", received)) == 51
    assert not os.path.exists(received)
    _write(ks, rep, Incr(0, b"after", 5), Assign(0, b"k0", b"mine"))  # after the swap
    kept = merger.pending_merge_files(directory)
    assert [lsn for lsn, _ in kept] == [1]  # after the first record: merged again there
    digest, vv = _digest(ks), dict(ks.vv)
    assert rep.state_merges == 1 and "a/1" in vv
    # kill -9 now: no clean shutdown, no snapshot; a leftover transfer file too
    open(os.path.join(directory, merger.TEMP_PREFIX + "torn"), "wb").close()
    ks2, rep2 = _region(directory)
    assert _digest(ks2) == digest and ks2.vv == vv
    assert ks2.dbs[0].get(b"k0", ks2.now_ms).value() == b"mine"  # type: ignore[union-attr]
    assert not [n for n in os.listdir(directory) if n.startswith(merger.TEMP_PREFIX)]
    # a snapshot taken after the swap makes the kept file unnecessary
    rep2.merger.tick()  # starts it (in a child)
    deadline = time.monotonic() + 10
    while merger.pending_merge_files(directory) and time.monotonic() < deadline:
        rep2.tick()
        time.sleep(0.01)
    assert merger.pending_merge_files(directory) == [] and rep2.snapshot_lsn >= 2
    ks3, _ = _region(directory)
    assert _digest(ks3) == digest and ks3.vv == vv


def test_a_corrupt_received_state_changes_nothing(tmp_path: Path) -> None:
    directory = str(tmp_path / "b")
    ks, rep = _region(directory)
    _write(ks, rep, Assign(0, b"before", b"1"))
    digest = _digest(ks)
    received = os.path.join(directory, merger.TEMP_PREFIX + "bad")
    data = Path(_peer_state(tmp_path)).read_bytes()
    Path(received).write_bytes(data[: len(data) // 2])  # truncated mid-stream
    with pytest.raises(ValueError, match="truncated state stream"):  # the link drops, retries
        asyncio.run(rep.merge_state_file("a", received))
    assert _digest(ks) == digest and "a/1" not in ks.vv and rep.state_merges == 0
    assert not os.path.exists(received) and merger.pending_merge_files(directory) == []
