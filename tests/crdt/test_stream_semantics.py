"""SEMANTICS.md "Streams" rows, in process (regions exchange batches through the codec and must
read the same thing), and hypothesis properties of the stream type: random concurrent
histories converge in any causal order, delivering a batch twice changes nothing, a state
merge of the regions' states equals applying every effect, and the state codec round-trips."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import msgpack
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import server.commands.streams  # noqa: F401  (registers TYPE_COMMANDS[STREAM])
from crdt import state
from crdt.codec import decode_batch, encode_batch
from crdt.digest import keyspace_digest
from crdt.effects import Batch, Delete, Effect
from crdt.keyspace import Keyspace
from crdt.types.stream import (
    STREAM,
    Stream,
    XAck,
    XAdd,
    XGroupDestroy,
    XGroupSet,
    XLocal,
    XRemove,
    XRestore,
    XSetId,
)
from crdt.types.stream_groups import LOCAL_CONSUMER, LOCAL_LAST, LOCAL_NACK, NO_ENTRIES_READ
from server.commands.common import TYPE_COMMANDS

from .histories import causal_order as _causal_order
from .histories import replay as _replay
from .test_semantics_rows import T0, region, write

K = b"k"


def deliver(ks: Keyspace, *batches: Batch) -> None:
    for b in batches:
        copy = decode_batch(encode_batch(b))
        assert copy == b
        assert ks.ready(copy)
        ks.apply_batch(copy)


def stream(ks: Keyspace, key: bytes = K) -> Stream | None:
    entry = ks.dbs[0].get(key, T0 + 10_000)
    if entry is None:
        return None
    content = entry.content()
    assert content.type_name == STREAM
    s: Stream = content
    assert list(s.keys) == sorted(s.fields)
    return s


def replicated(s: Stream | None) -> Any:
    """Everything a stream replicates (not its local group state), in a canonical form."""
    if s is None:
        return None
    return (
        [(k, s.fields[k]) for k in s.keys], s.last, s.maxdel, s.added_base,
        sorted(s.added.items()),
        sorted((name, g.regs, sorted(g.acks)) for name, g in s.groups.items()),
    )


def view(ks: Keyspace) -> Any:
    s = stream(ks)
    return None if s is None else s.visible()


def converged(*regions: Keyspace) -> Any:
    states = [replicated(stream(ks)) for ks in regions]
    assert all(x == states[0] for x in states), states
    views = [view(ks) for ks in regions]
    assert all(v == views[0] for v in views)
    assert len({keyspace_digest(ks) for ks in regions}) == 1
    return views[0]


def ids(ks: Keyspace) -> list[tuple[int, int]]:
    s = stream(ks)
    return [] if s is None else [(k[0], k[1]) for k in s.keys]


def shared(*effects: Effect) -> tuple[Keyspace, Keyspace]:
    eu, us = region("eu"), region("us")
    if effects:
        deliver(us, write(eu, T0, *effects))
    return eu, us


def _records(ks: Keyspace) -> Iterator[Any]:
    for rec in state.dump(ks):
        yield msgpack.unpackb(rec, raw=False, strict_map_key=False)


# -- rows ---------------------------------------------------------------------------------
def test_xadd_in_two_regions_is_a_union_ordered_by_id() -> None:
    eu, us = shared(XAdd(0, K, 1, 0, (b"f", b"0")))
    a = write(eu, T0 + 5, XAdd(0, K, 5, 1, (b"f", b"eu")))
    b = write(us, T0 + 5, XAdd(0, K, 3, 2, (b"f", b"us")))
    deliver(eu, b)
    deliver(us, a)
    converged(eu, us)
    assert ids(eu) == [(1, 0), (3, 2), (5, 1)]
    s = stream(eu)
    assert s is not None and s.last_id == (5, 1) and s.entries_added == 3


def test_concurrent_equal_explicit_ids_are_both_kept_and_counted() -> None:
    eu, us = shared()
    a = write(eu, T0 + 5, XAdd(0, K, 7, 0, (b"f", b"eu")))
    b = write(us, T0 + 6, XAdd(0, K, 7, 0, (b"f", b"us")))
    deliver(eu, b)
    deliver(us, a)
    converged(eu, us)
    s = stream(us)
    assert s is not None
    assert [s.fields[k] for k in s.keys] == [(b"f", b"eu"), (b"f", b"us")]  # (ID, timestamp)
    assert eu.conflicts.counts["lww"] == us.conflicts.counts["lww"] == 1
    assert s.entries_added == 2 and len(s) == 2


def test_xdel_removes_only_what_it_observed() -> None:
    eu, us = shared(XAdd(0, K, 1, 0, (b"f", b"v")), XAdd(0, K, 2, 0, (b"f", b"v")))
    s = stream(eu)
    assert s is not None
    observed = tuple(s.range((1, 0), (2, 0)))
    a = write(eu, T0 + 5, XRemove(0, K, observed, (2, 0)))
    b = write(us, T0 + 5, XAdd(0, K, 3, 0, (b"f", b"new")))
    deliver(eu, b)
    deliver(us, a)
    converged(eu, us)
    assert ids(eu) == [(3, 0)]
    s = stream(us)
    assert s is not None and s.max_deleted == (2, 0) and s.last_id == (3, 0)


def test_del_concurrent_with_xadd_keeps_the_new_entry() -> None:
    eu, us = shared(XAdd(0, K, 1, 0, (b"f", b"v")), XGroupSet(0, K, b"g", (0, 0), NO_ENTRIES_READ, False))
    a = write(eu, T0 + 5, Delete(0, K))
    b = write(us, T0 + 5, XAdd(0, K, 2, 0, (b"f", b"new")))
    deliver(eu, b)
    deliver(us, a)
    converged(eu, us)
    s = stream(eu)
    assert s is not None and ids(eu) == [(2, 0)] and s.live_groups() == [] and s.entries_added == 1


def test_group_destroy_concurrent_with_create_destroy_wins() -> None:
    eu, us = shared(XAdd(0, K, 1, 0, (b"f", b"v")), XGroupSet(0, K, b"g", (0, 0), NO_ENTRIES_READ, False))
    a = write(eu, T0 + 5, XGroupDestroy(0, K, b"g"))
    b = write(us, T0 + 6, XGroupSet(0, K, b"g", (1, 0), 1, False))  # SETID, concurrently
    c = write(us, T0 + 7, XGroupSet(0, K, b"h", (0, 0), NO_ENTRIES_READ, False))
    deliver(eu, b, c)
    deliver(us, a)
    converged(eu, us)
    s = stream(eu)
    assert s is not None and [name for name, _ in s.live_groups()] == [b"h"]
    d = write(eu, T0 + 20, XGroupSet(0, K, b"g", (0, 0), 0, False))  # observed both: created again
    deliver(us, d)
    converged(eu, us)
    assert s.group(b"g") is not None


def test_xack_replicates_and_clears_pending_everywhere() -> None:
    eu, us = shared(XAdd(0, K, 1, 0, (b"f", b"v")), XGroupSet(0, K, b"g", (0, 0), NO_ENTRIES_READ, False))
    for ks in (eu, us):  # both regions delivered the entry (local pending lists)
        s = stream(ks)
        assert s is not None
        g = s.group(b"g")
        assert g is not None
        g.set_nack((1, 0), b"c", T0, 1)
    a = write(eu, T0 + 5, XAck(0, K, b"g", ((1, 0),)))
    deliver(us, a)
    converged(eu, us)
    for ks in (eu, us):
        s = stream(ks)
        assert s is not None
        g = s.group(b"g")
        assert g is not None and not g.pel and (1, 0) in g.acked


def test_entries_added_counts_concurrent_adds_on_top_of_xsetid() -> None:
    eu, us = shared(XAdd(0, K, 1, 0, (b"f", b"v")))
    a = write(eu, T0 + 5, XSetId(0, K, (10, 0), 50, (0, 5)))
    b = write(us, T0 + 5, XAdd(0, K, 2, 0, (b"f", b"v")))
    deliver(eu, b)
    deliver(us, a)
    converged(eu, us)
    s = stream(eu)
    assert s is not None and s.entries_added == 51 and s.last_id == (10, 0) and s.max_deleted == (0, 5)


def test_restore_copies_the_replicated_state() -> None:
    eu, _ = shared()
    write(eu, T0, XRestore(0, K, ((1, 0, (b"a", b"1")), (2, 0, (b"b", b"2"))), (9, 0), 7, (1, 5),
                           ((b"g", 1, 0, 3, ((1, 0),)),)))
    s = stream(eu)
    assert s is not None
    assert ids(eu) == [(1, 0), (2, 0)] and s.last_id == (9, 0) and s.entries_added == 7
    g = s.group(b"g")
    assert g is not None and g.last_id == (1, 0) and g.entries_read == 3 and g.acked == {(1, 0)}


# -- properties: random concurrent histories -------------------------------------------------
REGIONS = ("eu", "us", "ap")
GROUPS = (b"g", b"h")


def _effects(ks: Keyspace, draw: Any) -> list[Effect]:
    s = stream(ks)
    if s is not None and draw(st.integers(0, 9)) == 0:  # RENAME onto itself: DEL + restore
        return [Delete(0, K), *TYPE_COMMANDS[STREAM].recreate(0, K, s, 0)]
    return [_effect(ks, s, draw)]


def _effect(ks: Keyspace, s: Stream | None, draw: Any) -> Effect:
    kind = draw(st.sampled_from(("add", "add", "add", "remove", "setid", "group", "destroy", "ack", "delete")))
    if kind == "add" or s is None:
        last = s.last_id if s is not None else (0, 0)
        if draw(st.booleans()):  # an explicit ID that other regions may also pick
            return XAdd(0, K, last[0] + draw(st.integers(1, 2)), 0, (b"f", draw(st.sampled_from((b"a", b"b")))))
        return XAdd(0, K, last[0], last[1] + 1 + REGIONS.index(ks.region) * 1000, (b"f", b"c"))
    if kind == "remove" and len(s):
        keys = draw(st.lists(st.sampled_from(list(s.keys)), min_size=1, max_size=3, unique=True))
        return XRemove(0, K, tuple(sorted(keys)), (keys[0][0], keys[0][1]) if draw(st.booleans()) else None)
    if kind == "setid":
        return XSetId(0, K, max(s.last_id, s.top_id()), draw(st.sampled_from((-1, len(s), 99))),
                      (0, 1) if draw(st.booleans()) else None)
    name = draw(st.sampled_from(GROUPS))
    if kind == "group":
        return XGroupSet(0, K, name, (draw(st.integers(0, 3)), 0), draw(st.sampled_from((NO_ENTRIES_READ, 0, 2))), False)
    if kind == "destroy":
        return XGroupDestroy(0, K, name)
    if kind == "ack":
        return XAck(0, K, name, ((draw(st.integers(0, 3)), 0),))
    return Delete(0, K)


@st.composite
def histories(draw: Any) -> tuple[list[Batch], list[Keyspace]]:
    regions = {name: region(name) for name in REGIONS}
    batches: list[Batch] = []
    applied: dict[str, set[int]] = {name: set() for name in REGIONS}
    now = T0
    for _ in range(draw(st.integers(1, 16))):
        name = draw(st.sampled_from(REGIONS))
        ks = regions[name]
        now += draw(st.integers(0, 5))
        if draw(st.booleans()):
            for i, b in enumerate(batches):
                if i not in applied[name] and b.origin != name and ks.ready(b) and draw(st.booleans()):
                    deliver(ks, b)
                    applied[name].add(i)
        ks.now_ms = now
        for _ in range(draw(st.integers(1, 2))):
            for e in _effects(ks, draw):
                ks.emit(e)
        batch = ks.commit()
        assert batch is not None
        batches.append(batch)
        applied[name].add(len(batches) - 1)
    return batches, list(regions.values())




PROPS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPS
@given(st.data())
def test_any_causal_order_converges(data: Any) -> None:
    batches, _ = data.draw(histories())
    one = _replay(batches, list(range(len(batches))))
    two = _replay(batches, _causal_order(batches, data.draw))
    converged(one, two)


@PROPS
@given(st.data())
def test_duplicates_change_nothing(data: Any) -> None:
    batches, _ = data.draw(histories())
    ks = _replay(batches, list(range(len(batches))))
    before = replicated(stream(ks))
    for i in data.draw(st.permutations(range(len(batches)))):
        assert ks.apply_batch(batches[i]) == 0
    assert replicated(stream(ks)) == before


@PROPS
@given(st.data())
def test_merge_of_states_equals_applying_every_effect(data: Any) -> None:
    batches, regions = data.draw(histories())
    everything = _replay(batches, list(range(len(batches))))
    merged = region("mm")
    for ks in data.draw(st.permutations(regions)):
        state.merge(merged, _records(ks))
    converged(everything, merged)
    # and the regions, once every batch reached them, hold it too
    for ks in regions:
        for b in batches:
            if ks.ready(b):
                ks.apply_batch(b)
    converged(everything, *regions)


@PROPS
@given(st.data())
def test_state_codec_round_trips(data: Any) -> None:
    batches, regions = data.draw(histories())
    for ks in regions:
        restored = region(ks.region)
        state.restore(restored, _records(ks))
        assert replicated(stream(restored)) == replicated(stream(ks))
        assert keyspace_digest(restored) == keyspace_digest(ks)


def test_local_group_state_is_applied_only_by_its_own_region_in_any_epoch() -> None:
    eu, us = region("eu/1"), region("us/1")
    made = write(eu, T0, XAdd(0, K, 1, 0, (b"f", b"v")), XGroupSet(0, K, b"g", (0, 0), NO_ENTRIES_READ, False))
    ops = ((LOCAL_CONSUMER, b"c", T0), (LOCAL_NACK, 1, 0, b"c", T0, 1), (LOCAL_LAST, 1, 0, 1))
    local = write(eu, T0 + 5, XLocal(0, K, b"g", ops))
    deliver(us, made, local)
    converged(eu, us)  # local state is in neither the replicated state nor the digest

    def pending(ks: Keyspace) -> list[Any]:
        s = stream(ks)
        g = s.group(b"g") if s is not None else None
        assert g is not None
        return [(sid, n.consumer, n.delivery_count, g.last_id) for sid, n in g.pel.items()]

    assert pending(eu) == [((1, 0), b"c", 1, (1, 0))] and pending(us) == []
    restarted = region("eu/2")  # eu in a new epoch, replaying its op log: applies them again
    deliver(restarted, made, local)
    assert pending(restarted) == pending(eu)
    deliver(restarted, local)  # (a duplicate: skipped)
    assert pending(restarted) == pending(eu)
