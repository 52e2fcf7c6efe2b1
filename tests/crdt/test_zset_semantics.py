"""SEMANTICS.md "Sorted sets" rows, in process: regions share a history, write concurrently,
exchange their batches (through the codec), and must read the same thing; plus convergence by
state merge and a property test over random concurrent histories."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import msgpack
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crdt import state
from crdt.codec import decode_batch, encode_batch
from crdt.digest import keyspace_digest
from crdt.effects import Batch, Delete, Effect
from crdt.keyspace import Keyspace
from crdt.types.strings import Assign
from crdt.types.zset import ZSET, ZAssign, ZIncr, ZRemove, ZSet

from .histories import causal_order as _causal_order
from .histories import replay as _replay
from .test_semantics_rows import T0, region, write

K = b"k"


def deliver(ks: Keyspace, *batches: Batch) -> None:
    for b in batches:
        copy = decode_batch(encode_batch(b))
        assert ks.ready(copy)
        ks.apply_batch(copy)


def shared(*effects: Effect) -> tuple[Keyspace, Keyspace]:
    eu, us = region("eu"), region("us")
    if effects:
        deliver(us, write(eu, T0, *effects))
    return eu, us


def zset(ks: Keyspace, key: bytes = K) -> ZSet | None:
    entry = ks.dbs[0].get(key, T0 + 10_000)
    if entry is None:
        return None
    content = entry.content()
    assert content.type_name == ZSET
    z: ZSet = content
    assert list(z.index) == sorted((z.score_of(name), name) for name in z.members)
    return z


def scores(ks: Keyspace) -> dict[bytes, float] | None:
    z = zset(ks)
    return None if z is None else dict(z.visible())


def converged(*regions: Keyspace) -> Any:
    views = [scores(ks) for ks in regions]
    assert all(v == views[0] for v in views), views
    assert len({keyspace_digest(ks) for ks in regions}) == 1
    return views[0]


def _records(ks: Keyspace) -> Iterator[Any]:
    for rec in state.dump(ks):
        yield msgpack.unpackb(rec, raw=False, strict_map_key=False)


def test_concurrent_zadd_same_member_greatest_tag_wins() -> None:
    eu, us = shared()
    a = write(eu, T0 + 5, ZAssign(0, K, ((b"m", 1.0),)))
    b = write(us, T0 + 9, ZAssign(0, K, ((b"m", 2.0),)))  # later timestamp
    deliver(eu, b)
    deliver(us, a)
    assert converged(eu, us) == {b"m": 2.0}
    c = write(eu, T0 + 20, ZAssign(0, K, ((b"m", 3.0),)))  # observed both: replaces them
    deliver(us, c)
    assert converged(eu, us) == {b"m": 3.0}
    m = zset(us).full(b"m")  # type: ignore[union-attr]
    assert m is not None and m.regs[0][3] == 3.0 and len(m.regs) == 1


def test_zrem_concurrent_with_zincrby_keeps_only_the_increment() -> None:
    eu, us = shared(ZAssign(0, K, ((b"m", 4.1), (b"other", 1.0))))
    a = write(eu, T0 + 5, ZRemove(0, K, (b"m",)))
    b = write(us, T0 + 5, ZIncr(0, K, b"m", 2.0))
    assert scores(us) == {b"m": 6.1, b"other": 1.0}  # the origin reads Redis's 4.1 + 2
    deliver(eu, b)
    deliver(us, a)
    assert converged(eu, us) == {b"m": 2.0, b"other": 1.0}


def test_zadd_concurrent_with_zrem_add_wins() -> None:
    eu, us = shared(ZAssign(0, K, ((b"m", 1.0), (b"other", 1.0))))
    a = write(eu, T0 + 5, ZRemove(0, K, (b"m",)))
    b = write(us, T0 + 5, ZAssign(0, K, ((b"m", 1.0),)))  # re-added at the same score
    deliver(eu, b)
    deliver(us, a)
    assert converged(eu, us) == {b"m": 1.0, b"other": 1.0}


def test_del_concurrent_with_zadd_keeps_only_the_add() -> None:
    eu, us = shared(ZAssign(0, K, ((b"a", 1.0), (b"b", 2.0))))
    a = write(eu, T0 + 5, Delete(0, K))
    b = write(us, T0 + 5, ZAssign(0, K, ((b"c", 3.0),)))
    deliver(eu, b)
    deliver(us, a)
    assert converged(eu, us) == {b"c": 3.0}


def test_concurrent_zincrby_both_count_in_any_order() -> None:
    eu, us = shared(ZAssign(0, K, ((b"m", 0.1),)))
    a = write(eu, T0 + 5, ZIncr(0, K, b"m", 0.2))
    b = write(us, T0 + 5, ZIncr(0, K, b"m", 0.7))
    deliver(eu, b)
    deliver(us, a)
    total = converged(eu, us)[b"m"]
    # the tag order decides the rounding, the same everywhere
    first, second = (0.2, 0.7) if (a.hlc, "eu") < (b.hlc, "us") else (0.7, 0.2)
    assert total == (0.1 + first) + second


def test_concurrent_infinities_never_make_nan() -> None:
    eu, us = shared(ZAssign(0, K, ((b"m", 1.0),)))
    a = write(eu, T0 + 5, ZIncr(0, K, b"m", float("inf")))
    b = write(us, T0 + 6, ZIncr(0, K, b"m", float("-inf")))
    deliver(eu, b)
    deliver(us, a)
    assert converged(eu, us) == {b"m": float("-inf")}  # the later term wins the NaN step


def test_type_conflict_with_a_string_converges() -> None:
    eu, us = shared()
    a = write(eu, T0 + 5, ZAssign(0, K, ((b"m", 1.0),)))
    b = write(us, T0 + 6, Assign(0, K, b"v"))
    deliver(eu, b)
    deliver(us, a)
    assert keyspace_digest(eu) == keyspace_digest(us)
    c = write(eu, T0 + 20, ZAssign(0, K, ((b"n", 2.0),)))  # observes the string: removes it
    deliver(us, c)
    assert converged(eu, us) == {b"m": 1.0, b"n": 2.0}


def test_state_merge_converges_with_effects() -> None:
    eu, us = shared(ZAssign(0, K, ((b"a", 1.0), (b"b", 2.0))))
    a = write(eu, T0 + 5, ZIncr(0, K, b"a", 0.5), ZRemove(0, K, (b"b",)))
    b = write(us, T0 + 5, ZIncr(0, K, b"b", 3.0), ZAssign(0, K, ((b"c", -1.5),)))
    newcomer = region("ap")
    state.merge(newcomer, _records(eu))
    state.merge(newcomer, _records(us))
    deliver(eu, b)
    deliver(us, a)
    assert converged(eu, us, newcomer) == {b"a": 1.5, b"b": 3.0, b"c": -1.5}
    # a state merge into a region that has the same history changes nothing
    state.merge(us, _records(eu))
    assert converged(eu, us) == {b"a": 1.5, b"b": 3.0, b"c": -1.5}
    restored = region("us")
    state.restore(restored, _records(us))
    assert converged(us, restored)


# -- property: random concurrent histories converge in any causal order --------------------
MEMBERS = (b"a", b"b", b"c")
SCORES = (0.0, 0.1, 1.5, -2.0, 1e16, 3.0, float("inf"), float("-inf"))
REGIONS = ("eu", "us", "ap")


@st.composite
def histories(draw: Any) -> tuple[list[Batch], list[Keyspace]]:
    regions = {name: region(name) for name in REGIONS}
    batches: list[Batch] = []
    applied: dict[str, set[int]] = {name: set() for name in REGIONS}
    now = T0
    for _ in range(draw(st.integers(1, 14))):
        name = draw(st.sampled_from(REGIONS))
        ks = regions[name]
        now += draw(st.integers(0, 5))
        if draw(st.booleans()):  # deliver what is ready from the others
            for i, b in enumerate(batches):
                if i not in applied[name] and b.origin != name and ks.ready(b):
                    if draw(st.booleans()):
                        deliver(ks, b)
                        applied[name].add(i)
        kind = draw(st.sampled_from(("assign", "incr", "remove", "delete")))
        member = draw(st.sampled_from(MEMBERS))
        if kind == "assign":
            e: Effect = ZAssign(0, K, ((member, draw(st.sampled_from(SCORES))),))
        elif kind == "incr":
            e = ZIncr(0, K, member, draw(st.sampled_from(SCORES)))
        elif kind == "remove":
            e = ZRemove(0, K, (member,))
        else:
            e = Delete(0, K)
        batches.append(write(ks, now, e))
        applied[name].add(len(batches) - 1)
    return batches, list(regions.values())




@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_random_histories_converge_in_any_causal_order(data: Any) -> None:
    batches, regions = data.draw(histories())
    one = _replay(batches, list(range(len(batches))))  # the order made: causal
    two = _replay(batches, _causal_order(batches, data.draw))
    converged(one, two)
    # the regions' partial, concurrent states merged together hold every batch: the same
    merged = region("mm")
    for ks in data.draw(st.permutations(regions)):
        state.merge(merged, _records(ks))
    converged(one, merged)
