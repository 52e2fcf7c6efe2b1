"""Property tests of the function-library registry (crdt/types/library.py), through real
keyspaces: regions load, delete and flush libraries concurrently; batches arrive in any causal
order, twice, through the codec. SEMANTICS: libraries are data, replicated to every region;
concurrent loads of one name: the greatest timestamp wins."""

from __future__ import annotations

from typing import Any

import msgpack
from hypothesis import given, settings
from hypothesis import strategies as st

from crdt import state
from crdt.clock import Tag
from crdt.codec import decode_batch, encode_batch
from crdt.effects import Batch
from crdt.keyspace import Keyspace
from crdt.types.library import NO_DB, LibraryDelete, LibraryFlush, LibraryLoad, registry

REGIONS = ("ap", "eu", "us")
NAMES = (b"lib1", b"lib2")
CODES = (b"#!lua name=x\nv1", b"#!lua name=x\nv2", b"#!lua name=x\nv3")


class World:
    def __init__(self) -> None:
        self.ks = {r: Keyspace(r, databases=1) for r in REGIONS}
        for ks in self.ks.values():
            ks.expect_peers()
        self.batches: list[Batch] = []
        self.pending: dict[str, list[Batch]] = {r: [] for r in REGIONS}
        self.now = 1000

    def write(self, region: str, effect: Any) -> None:
        ks = self.ks[region]
        self.now += 1
        ks.now_ms = self.now
        ks.emit(effect)
        batch = ks.commit()
        assert batch is not None
        received = decode_batch(encode_batch(batch))  # what a peer receives
        assert received == batch  # the codec round-trips every batch exactly
        batch = received
        self.batches.append(batch)
        for other in REGIONS:
            if other != region:
                self.pending[other].append(batch)

    def deliver_one(self, region: str, index: int, twice: bool) -> bool:
        ks = self.ks[region]
        ready = [b for b in self.pending[region] if ks.ready(b)]
        if not ready:
            return False
        batch = ready[index % len(ready)]
        self.pending[region].remove(batch)
        ks.apply_batch(batch)
        if twice:
            ks.apply_batch(batch)  # a duplicate: skipped, exactly once
        return True

    def deliver_all(self, draw: Any) -> None:
        for region in REGIONS:
            while self.pending[region]:
                assert self.deliver_one(region, draw(st.integers(0, 5)), draw(st.booleans()))


def _effects(draw: Any) -> Any:
    kind = draw(st.sampled_from(("load", "load", "load", "delete", "flush")))
    name = draw(st.sampled_from(NAMES))
    if kind == "load":
        return LibraryLoad(NO_DB, name, draw(st.sampled_from(CODES)))
    if kind == "delete":
        return LibraryDelete(NO_DB, name)
    return LibraryFlush(NO_DB)


def _run(data: st.DataObject) -> World:
    w = World()
    for _ in range(data.draw(st.integers(1, 14))):
        if data.draw(st.booleans()):
            w.write(data.draw(st.sampled_from(REGIONS)), _effects(data.draw))
        else:
            region = data.draw(st.sampled_from(REGIONS))
            w.deliver_one(region, data.draw(st.integers(0, 5)), data.draw(st.booleans()))
    return w


def _oracle(w: World) -> dict[bytes, bytes]:
    """SEMANTICS from the batches alone: a load is live unless a later write that observed it
    (its causal context covers the load's dot) removed it (a load or delete of the same name,
    or a flush); the visible code of a name is its live load with the greatest tag."""
    writes: list[tuple[Tag, dict[str, int], Any]] = []
    for b in w.batches:
        for i, e in enumerate(b.effects):
            ctx = dict(b.deps)
            ctx[b.origin] = b.first_seq + i - 1
            writes.append(((b.hlc, b.origin, b.first_seq + i), ctx, e))
    live: dict[bytes, list[tuple[Tag, bytes]]] = {}
    for tag, _, e in writes:
        if type(e) is not LibraryLoad:
            continue
        removed = any(ctx.get(tag[1], 0) >= tag[2] and (type(o) is LibraryFlush or o.key == e.key)
                      for otag, ctx, o in writes if otag != tag)
        if not removed:
            live.setdefault(e.key, []).append((tag, e.code))
    return {name: max(entries)[1] for name, entries in sorted(live.items())}


@settings(max_examples=50, deadline=None)
@given(data=st.data())
def test_any_causal_order_with_duplicates_converges_to_the_semantics(data: st.DataObject) -> None:
    w = _run(data)
    w.deliver_all(data.draw)
    views = {r: registry(ks).visible() for r, ks in w.ks.items()}
    assert len({repr(v) for v in views.values()}) == 1, views
    assert views["ap"] == _oracle(w)


@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_merging_full_states_equals_applying_all_effects(data: st.DataObject) -> None:
    w = _run(data)
    # A fresh region that merges every region's state (catch-up by state) ...
    merged = Keyspace("zz", databases=1)
    merged.expect_peers()
    for ks in w.ks.values():
        records = [msgpack.unpackb(r, raw=False) for r in state.dump(ks)]
        state.merge(merged, records)
    # ... holds what applying every effect gives.
    w.deliver_all(data.draw)
    assert registry(merged).visible() == registry(w.ks["ap"]).visible() == _oracle(w)


@settings(max_examples=20, deadline=None)
@given(data=st.data())
def test_snapshot_round_trips_the_registry(data: st.DataObject) -> None:
    w = _run(data)
    ks = w.ks["eu"]
    records = [msgpack.unpackb(r, raw=False) for r in state.dump(ks)]
    again = Keyspace("eu", databases=1)
    state.restore(again, records)
    assert registry(again).libs == registry(ks).libs
    assert registry(again).visible() == registry(ks).visible()
