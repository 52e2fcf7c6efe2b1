"""Local batches of one event-loop turn are logged and shipped as one record (the replicator's
``append``): only when they share an HLC, follow each other and nothing was applied between
them, so every effect keeps its tag and causal context; the record is in the log before any
remote batch that was applied after them."""

from __future__ import annotations

from pathlib import Path

from crdt.clock import LOGICAL_BITS, HybridClock
from crdt.codec import decode_batch, encode_batch
from crdt.keyspace import Keyspace
from crdt.types.strings import Assign
from replication.replicator import JOIN_MAX_EFFECTS, Replicator


def _records(rep: Replicator) -> list:
    rep.flush()
    return [decode_batch(raw) for _, raw, _ in rep.read_log(1)]


def _set(ks: Keyspace, key: bytes, now_ms: int = 1000) -> None:
    ks.now_ms = now_ms
    ks.emit(Assign(0, key, b"v"))


def test_the_clock_repeats_its_last_value_until_it_observes_or_the_wall_clock_moves() -> None:
    c = HybridClock()
    a = c.now(5)
    assert c.now(5) == a and c.now(4) == a  # same millisecond (or a clock step back): shared
    c.observe(a)  # a remote batch with the same HLC: the next local one must be after it
    b = c.now(5)
    assert b > a
    c.observe(b + 7)
    assert c.now(5) == b + 8
    assert c.now(6) == 6 << LOGICAL_BITS  # the wall clock passed it


def test_batches_of_one_turn_join_and_keep_their_tags(tmp_path: Path) -> None:
    ks = Keyspace("eu")
    rep = Replicator(ks, "eu", str(tmp_path), peers=[("127.0.0.1", 1)])
    rep.recover()
    batches = []
    for key in (b"a", b"b", b"c"):
        _set(ks, key)
        batch = ks.commit()
        assert batch is not None
        batches.append(batch)
        rep.append(batch)
    (record,) = _records(rep)
    assert [e.key for e in record.effects] == [b"a", b"b", b"c"]
    assert record.first_seq == batches[0].first_seq and record.last_seq == batches[-1].last_seq
    assert record.hlc == batches[0].hlc == batches[-1].hlc and record.deps == batches[0].deps
    # a peer that applies the joined record holds what it would from the three batches
    peer = Keyspace("us")
    peer.apply_batch(record)
    twin = Keyspace("us")
    for b in batches:
        twin.apply_batch(decode_batch(encode_batch(b)))
    assert peer.dbs[0].entries[b"c"].latest() == twin.dbs[0].entries[b"c"].latest()
    assert peer.vv == twin.vv


def test_a_remote_batch_or_a_new_millisecond_ends_the_joined_batch(tmp_path: Path) -> None:
    ks = Keyspace("eu")
    rep = Replicator(ks, "eu", str(tmp_path), peers=[("127.0.0.1", 1)])
    rep.recover()
    _set(ks, b"a")
    rep.append(ks.commit())  # type: ignore[arg-type]
    other = Keyspace("us")
    other.now_ms = 900
    other.emit(Assign(0, b"x", b"remote"))
    remote = other.commit()
    assert remote is not None
    raw = encode_batch(remote)
    rep.receive(decode_batch(raw), raw)  # applied after "a": logged after it
    _set(ks, b"b")  # same millisecond, but it observed the remote batch: cannot join "a"
    rep.append(ks.commit())  # type: ignore[arg-type]
    _set(ks, b"c", now_ms=1001)  # a new millisecond: a new HLC
    rep.append(ks.commit())  # type: ignore[arg-type]
    records = _records(rep)
    assert [(r.origin.split("/")[0], [e.key for e in r.effects]) for r in records] == [
        ("eu", [b"a"]), ("us", [b"x"]), ("eu", [b"b"]), ("eu", [b"c"])]


def test_a_joined_record_is_bounded(tmp_path: Path) -> None:
    ks = Keyspace("eu")
    rep = Replicator(ks, "eu", str(tmp_path), peers=[("127.0.0.1", 1)])
    rep.recover()
    for i in range(JOIN_MAX_EFFECTS + 10):
        _set(ks, b"k%d" % i)
        rep.append(ks.commit())  # type: ignore[arg-type]
    assert [len(r.effects) for r in _records(rep)] == [JOIN_MAX_EFFECTS, 10]


def test_joining_never_changes_a_committed_batch_and_keeps_events_in_order(tmp_path: Path) -> None:
    """A connection keeps its last committed batch (CRDT.TOKEN, WAIT read its last seq): the
    join builds the record's own lists, the batches handed over stay as they were."""
    ks = Keyspace("eu")
    rep = Replicator(ks, "eu", str(tmp_path), peers=[("127.0.0.1", 1)])
    rep.recover()
    batches = []
    for key in (b"a", b"b", b"c"):
        _set(ks, key)
        ks.events.append(("$", "set", 0, key))
        batch = ks.commit()
        assert batch is not None and len(batch.effects) == 1
        batches.append(batch)
        rep.append(batch)
    (record,) = _records(rep)
    assert [(b.first_seq, b.last_seq, len(b.effects)) for b in batches] == [(1, 1, 1), (2, 2, 1), (3, 3, 1)]
    assert [b.events for b in batches] == [(("$", "set", 0, k),) for k in (b"a", b"b", b"c")]
    assert record.events == tuple(("$", "set", 0, k) for k in (b"a", b"b", b"c"))
    assert [e.key for e in record.effects] == [b"a", b"b", b"c"]


def test_a_lone_batch_is_logged_as_it_was_committed(tmp_path: Path) -> None:
    ks = Keyspace("eu")
    rep = Replicator(ks, "eu", str(tmp_path), peers=[("127.0.0.1", 1)])
    rep.recover()
    _set(ks, b"k")
    ks.events.append(("$", "set", 0, b"k"))
    batch = ks.commit()
    assert batch is not None
    rep.append(batch)
    (record,) = _records(rep)
    assert record == batch  # same origin, seqs, HLC, deps, effects and events
