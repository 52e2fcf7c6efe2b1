"""Property tests of the sliced state merge (``crdt.state_merge``): joined a few keys per slice
while local writes, replicated batches and flushes keep changing the keyspace, the result is
exactly ``state.merge`` at the swap, and exactly the merge followed by the same batches (the
order a merge-then-apply would give); the keyspace is not changed before the swap."""

from __future__ import annotations

from typing import Any

import msgpack
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crdt import state
from crdt.digest import keyspace_digest
from crdt.effects import Batch, Delete
from crdt.expiry import OWN_NEVER
from crdt.keyspace import Keyspace
from crdt.state_merge import SlicedMerge
from crdt.types.strings import Assign

from . import sim
from .test_semantics_rows import deliver, get, region, write

SETTINGS = settings(max_examples=100, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _records(ks: Keyspace) -> list[Any]:
    return [msgpack.unpackb(r, raw=False, strict_map_key=False) for r in state.dump(ks)]


def _copy(ks: Keyspace) -> Keyspace:
    out = sim.new_region(ks.region)
    state.restore(out, _records(ks))
    out.now_ms = ks.now_ms
    return out


def _digest(ks: Keyspace, now: int) -> str:
    ks.now_ms = now
    return keyspace_digest(ks)


@SETTINGS
@given(data=st.data())
def test_a_sliced_merge_with_writes_between_slices_equals_merge_then_apply(data: st.DataObject) -> None:
    s = sim.Sim(cmds=sim.PROFILES["all"])
    s.run(data.draw, 40)
    here, peer = data.draw(st.permutations(sorted(s.regions)))[:2]
    ks = s.regions[here]
    before = _copy(ks)
    job = SlicedMerge(ks, _records(s.regions[peer]))
    ks.on_change = job.touched
    during: list[Batch] = []  # what was applied between slices, in order
    untouched = sim.internal_state(ks)
    while not job.ready:
        job.step(data.draw(st.integers(1, 3)))
        if not during:
            assert sim.internal_state(ks) == untouched  # nothing visible changes before the swap
        action = data.draw(st.sampled_from(("none", "write", "deliver")))
        if action == "write":
            batch = s.write(here, data.draw)
            if batch is not None:
                during.append(batch)
        elif action == "deliver":
            ready = s.deliverable(here)
            if ready:
                i = data.draw(st.sampled_from(ready))
                s.deliver(here, i, data.draw(st.booleans()))
                during.append(s.batches[i])
    ks.on_change = None
    job.finish()
    # merge-then-apply: the pre-merge state, merged, then the same batches
    merge_first = before
    state.merge(merge_first, _records(s.regions[peer]))
    for batch in during:
        assert merge_first.ready(batch)
        merge_first.apply_batch(batch)
    assert merge_first.vv == ks.vv
    assert sim.internal_state(ks) == sim.internal_state(merge_first)
    for now in (s.time, s.time + 1000):
        assert _digest(ks, now) == _digest(merge_first, now)


@SETTINGS
@given(data=st.data())
def test_a_sliced_merge_in_any_slice_sizes_equals_the_one_pass_merge(data: st.DataObject) -> None:
    s = sim.Sim(cmds=sim.PROFILES["all"])
    s.run(data.draw, 40)
    here, peer = data.draw(st.permutations(sorted(s.regions)))[:2]
    one_pass = _copy(s.regions[here])
    keys = state.merge(one_pass, _records(s.regions[peer]))
    ks = s.regions[here]
    job = SlicedMerge(ks, _records(s.regions[peer]))
    while not job.ready:
        job.step(data.draw(st.integers(1, 5)))
    assert job.finish() == keys
    assert sim.internal_state(ks) == sim.internal_state(one_pass) and ks.vv == one_pass.vv
    # and merging the same state again changes nothing (a kept merge file replayed twice)
    state.merge(ks, _records(s.regions[peer]))
    assert sim.internal_state(ks) == sim.internal_state(one_pass)


def _merge_sliced(ks: Keyspace, peer: Keyspace) -> int:
    job = SlicedMerge(ks, _records(peer))
    while not job.ready:
        job.step(1)
    return job.finish()


def test_plain_strings_we_removed_stay_removed_and_new_ones_arrive() -> None:
    """The plain-string fast path: a peer's SET we observed and deleted is not brought back;
    one we never saw arrives, TTL-less, as its SET stores it."""
    a, b = region("a"), region("b")
    deliver(b, write(a, 1000, Assign(0, b"seen", b"1")))
    write(b, 1001, Delete(0, b"seen"))
    write(a, 1002, Assign(0, b"new", b"2"), Assign(1, b"new", b"3", 5000))  # the second with a TTL
    assert _merge_sliced(b, a) == 3
    assert get(b, b"seen") is None and b"seen" not in b.dbs[0].entries
    assert get(b, b"new") == b"2" and b.dbs[0].entries[b"new"].x is OWN_NEVER
    assert b.dbs[1].expires == {b"new": 5000}
    # merging again (both paths) changes nothing
    again = _replayed_merge(b, a)
    _merge_sliced(b, a)
    assert sim.internal_state(b) == sim.internal_state(again)


def _replayed_merge(ks: Keyspace, peer: Keyspace) -> Keyspace:
    """``ks`` merged with ``peer`` by the one-pass merge, on a copy (the oracle)."""
    out = _copy(ks)
    state.merge(out, _records(peer))
    return out


@SETTINGS
@given(data=st.data())
def test_the_dump_fast_path_encodes_exactly_as_the_type_registry(data: st.DataObject) -> None:
    s = sim.Sim(cmds=sim.PROFILES["all"])
    s.run(data.draw, 40)
    for ks in s.regions.values():
        regions = state._Regions(sorted(ks.vv))
        reference = []
        for dbi, db in enumerate(ks.dbs):  # each database's entries, then its orphan registers
            reference += [[dbi, key, state._enc_entry(entry, regions)] for key, entry in db.entries.items()]
            reference += [[dbi, key, [[], state._enc_expire(e, regions)]] for key, e in db.orphan_expiry.items()]
        dumped = _records(ks)
        assert dumped[0][5] == regions.names  # the same region table, in the same order
        assert dumped[1:1 + len(reference)] == reference
