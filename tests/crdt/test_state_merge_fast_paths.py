"""The sliced merge's fast path for our own plain strings (crdt/state_merge.py): a key only
we hold, of which the peer observed nothing, is its own join and stays as it is; one the peer
observed and removed goes. Either way the result is ``state.merge``'s."""

from __future__ import annotations

from typing import Any

import msgpack

from crdt import state
from crdt.digest import keyspace_digest
from crdt.effects import Delete
from crdt.keyspace import Keyspace
from crdt.state_merge import SlicedMerge
from crdt.types.strings import Assign

from . import sim


def _records(ks: Keyspace) -> list[Any]:
    return [msgpack.unpackb(r, raw=False, strict_map_key=False) for r in state.dump(ks)]


def _set(ks: Keyspace, key: bytes, value: bytes, expire_at: int = 0) -> Any:
    ks.emit(Assign(0, key, value, expire_at))
    return ks.commit()


def test_our_plain_strings_the_peer_never_saw_stay_as_they_are() -> None:
    here, peer = sim.new_region("a/1"), sim.new_region("b/1")
    seen = [_set(here, b"seen:%d" % i, b"v") for i in range(6)]  # the peer gets these ...
    for batch in seen:
        peer.apply_batch(batch)
    for i in range(3):  # ... and deletes half of them
        peer.emit(Delete(0, b"seen:%d" % i))
        peer.commit()
    for i in range(20):  # never sent to the peer, a few with a TTL
        _set(here, b"new:%d" % i, b"x", 10**13 if i % 5 == 0 else 0)
    expected = sim.new_region("a/1")
    state.restore(expected, _records(here))
    state.merge(expected, _records(peer))
    before = {k: e for k, e in here.dbs[0].entries.items() if k.startswith(b"new:")}
    job = SlicedMerge(here, _records(peer))
    while not job.ready:
        job.step(4)
    job.finish()
    assert keyspace_digest(here) == keyspace_digest(expected)
    assert sorted(here.dbs[0].entries) == sorted(expected.dbs[0].entries)
    assert not any(b"seen:%d" % i in here.dbs[0].entries for i in range(3))
    assert all(here.dbs[0].entries[k] is e for k, e in before.items())  # not rebuilt
    assert here.dbs[0].expires == expected.dbs[0].expires
    assert here.vv == expected.vv


def test_a_touched_key_is_joined_again_at_the_swap() -> None:
    here, peer = sim.new_region("a/1"), sim.new_region("b/1")
    for i in range(8):
        _set(here, b"k:%d" % i, b"old")
    job = SlicedMerge(here, _records(peer))
    here.on_change = job.touched
    job.step(3)
    _set(here, b"k:7", b"new")  # written between slices
    while not job.ready:
        job.step(3)
    here.on_change = None
    job.finish()
    assert here.dbs[0].entries[b"k:7"].val == b"new"
    assert len(here.dbs[0].entries) == 8
