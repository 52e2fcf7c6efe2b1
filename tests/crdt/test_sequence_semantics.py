"""The list rows of SEMANTICS.md ("Lists (sequence)"), in process: regions write concurrently,
exchange batches (through the codec), and must read the same list with equal digests; plus a
property test over random concurrent histories delivered in different causal orders."""

from __future__ import annotations

import random
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
from crdt.types.sequence import LIST, ListPush, ListRemove, ListSet, Sequence, between
from crdt.types.strings import STRING, Assign

from .sim import internal_state
from .test_semantics_rows import T0, region, write

K = b"k"
HEAD, TAIL = "head", "tail"


# -- what the server's handlers would emit, computed from a region's own state ---------------
def seq(ks: Keyspace, key: bytes = K) -> Sequence | None:
    e = ks.dbs[0].get(key, T0 + 10_000)
    if e is None or e.kind != LIST:
        return None
    s: Sequence = e.content()
    return s


def lst(ks: Keyspace, key: bytes = K) -> list[bytes] | None:
    s = seq(ks, key)
    return None if s is None else s.visible()


def push(ks: Keyspace, where: str, *values: bytes) -> ListPush:
    s = seq(ks)
    order = s.order if s is not None else []
    if not order:
        prefix, digit = between(None, None)
    elif where == HEAD:
        prefix, digit = between(None, order[0])
    else:
        prefix, digit = between(order[-1], None)
    return ListPush(0, K, prefix, digit, tuple(values))


def linsert(ks: Keyspace, pivot: bytes, after: bool, value: bytes) -> ListPush:
    s = seq(ks)
    assert s is not None
    i = s.visible().index(pivot)
    order = s.order
    if after:
        left, right = order[i], (order[i + 1] if i + 1 < len(order) else None)
    else:
        left, right = (order[i - 1] if i > 0 else None), order[i]
    prefix, digit = between(left, right)
    return ListPush(0, K, prefix, digit, (value,))


def remove(ks: Keyspace, indexes: list[int]) -> Effect:
    s = seq(ks)
    assert s is not None
    if len(set(indexes)) >= len(s):
        return Delete(0, K)
    return ListRemove(0, K, tuple(s.order[i] for i in sorted(set(indexes))))


def pop(ks: Keyspace, where: str) -> Effect:
    s = seq(ks)
    assert s is not None
    return remove(ks, [0 if where == HEAD else len(s) - 1])


def lset(ks: Keyspace, index: int, value: bytes) -> ListSet:
    s = seq(ks)
    assert s is not None
    return ListSet(0, K, s.order[index], value)


def full_state(ks: Keyspace) -> Any:
    """``sim.internal_state`` plus every list's positions and value registers."""
    lists = {(dbi, key): (tuple(c.order), dict(c.elems))
             for dbi, db in enumerate(ks.dbs) for key, e in db.entries.items()
             if (c := e.part(LIST)) is not None}
    return internal_state(ks), lists


def via_codec(ks: Keyspace, *batches: Batch) -> None:
    for b in batches:
        copy = decode_batch(encode_batch(b))
        assert ks.ready(copy)
        ks.apply_batch(copy)


def records(ks: Keyspace) -> Iterator[Any]:
    for rec in state.dump(ks):
        yield msgpack.unpackb(rec, raw=False, strict_map_key=False)


def two(*base: list[bytes]) -> tuple[Keyspace, Keyspace]:
    """Two regions that share a list made by ``eu`` (one RPUSH per given list)."""
    eu, us = region("eu"), region("us")
    for values in base:
        via_codec(us, write(eu, T0, push(eu, TAIL, *values)))
    return eu, us


def converged(*regions: Keyspace) -> list[bytes] | None:
    seen = [lst(ks) for ks in regions]
    assert all(v == seen[0] for v in seen), seen
    digests = {keyspace_digest(ks) for ks in regions}
    assert len(digests) == 1
    return seen[0]


# -- the rows ---------------------------------------------------------------------------------
def test_concurrent_pushes_at_one_end_are_both_kept_in_the_same_order_everywhere() -> None:
    for where in (HEAD, TAIL):
        eu, us = two([b"m"])
        a = write(eu, T0 + 5, push(eu, where, b"e1"))
        b = write(us, T0 + 5, push(us, where, b"u1"))
        via_codec(eu, b)
        via_codec(us, a)
        got = converged(eu, us)
        assert got is not None and sorted(got) == [b"e1", b"m", b"u1"]
        assert (got[-1] if where == HEAD else got[0]) == b"m"  # both at that end


def test_concurrent_rpush_both_land_after_everything_either_side_had() -> None:
    eu, us = two([b"a"])
    a = write(eu, T0 + 1, push(eu, TAIL, b"e1"), push(eu, TAIL, b"e2"))
    b1 = write(us, T0 + 2, push(us, TAIL, b"u1"))
    b2 = write(us, T0 + 3, push(us, TAIL, b"u2", b"u3"))
    via_codec(eu, b1, b2)
    via_codec(us, a)
    got = converged(eu, us)
    assert got is not None and got[0] == b"a"
    # each region's own pushes keep their order; a multi-value push is never interleaved
    assert [v for v in got if v.startswith(b"e")] == [b"e1", b"e2"]
    us_part = [v for v in got if v.startswith(b"u")]
    assert us_part == [b"u1", b"u2", b"u3"]
    assert got.index(b"u3") == got.index(b"u2") + 1


def test_a_push_that_observed_another_goes_beyond_it() -> None:
    eu, us = two([b"a"])
    via_codec(us, write(eu, T0 + 1, push(eu, HEAD, b"h1")))
    via_codec(eu, write(us, T0 - 500, push(us, HEAD, b"h2")))  # a slow clock, yet after h1
    assert converged(eu, us) == [b"h2", b"h1", b"a"]


def test_concurrent_lpop_in_both_regions_pops_at_least_once() -> None:
    eu, us = two([b"a", b"b", b"c"])
    a = write(eu, T0 + 1, pop(eu, HEAD))
    b = write(us, T0 + 1, pop(us, HEAD))
    via_codec(eu, b)
    via_codec(us, a)
    assert converged(eu, us) == [b"b", b"c"]  # both popped "a": it is gone once


def test_concurrent_pops_of_everything_delete_the_key_once() -> None:
    eu, us = two([b"a"])
    a = write(eu, T0 + 1, pop(eu, HEAD))
    b = write(us, T0 + 1, pop(us, TAIL))
    via_codec(eu, b)
    via_codec(us, a)
    assert converged(eu, us) is None
    assert K not in eu.dbs[0].entries and K not in us.dbs[0].entries


def test_lset_concurrent_with_lrem_never_revives_the_element() -> None:
    for first in (0, 1):
        eu, us = two([b"a", b"b", b"c"])
        a = write(eu, T0 + 1, lset(eu, 1, b"B"))
        b = write(us, T0 + 1, remove(us, [1]))
        if first:
            via_codec(eu, b)
            via_codec(us, a)
        else:
            via_codec(us, a)
            via_codec(eu, b)
        assert converged(eu, us) == [b"a", b"c"]


def test_concurrent_lsets_are_last_writer_wins() -> None:
    eu, us = two([b"a", b"b"])
    a = write(eu, T0 + 1, lset(eu, 0, b"eu"))
    b = write(us, T0 + 2, lset(us, 0, b"us"))
    via_codec(eu, b)
    via_codec(us, a)
    assert converged(eu, us) == [b"us", b"b"]
    c = write(eu, T0 + 3, lset(eu, 0, b"later"))
    via_codec(us, c)
    assert converged(eu, us) == [b"later", b"b"]


def test_del_concurrent_with_lpush_leaves_only_the_push() -> None:
    for where in (HEAD, TAIL):
        eu, us = two([b"a", b"b"])
        a = write(eu, T0 + 1, Delete(0, K))
        b = write(us, T0 + 1, push(us, where, b"y"))
        via_codec(eu, b)
        via_codec(us, a)
        assert converged(eu, us) == [b"y"]
        # later inserts next to what survived agree too
        c = write(us, T0 + 2, push(us, HEAD, b"h"))
        d = write(eu, T0 + 2, push(eu, TAIL, b"t"))
        via_codec(eu, c)
        via_codec(us, d)
        assert converged(eu, us) == [b"h", b"y", b"t"]


def test_linsert_next_to_an_element_removed_concurrently() -> None:
    for after in (False, True):
        eu, us = two([b"a", b"p", b"z"])
        a = write(eu, T0 + 1, linsert(eu, b"p", after, b"x"))
        b = write(us, T0 + 1, remove(us, [1]))
        via_codec(eu, b)
        via_codec(us, a)
        assert converged(eu, us) == [b"a", b"x", b"z"]


def test_concurrent_linserts_at_one_spot_are_both_kept() -> None:
    eu, us = two([b"a", b"b"])
    a = write(eu, T0 + 1, linsert(eu, b"a", True, b"x"))
    b = write(us, T0 + 1, linsert(us, b"b", False, b"y"))
    via_codec(eu, b)
    via_codec(us, a)
    got = converged(eu, us)
    assert got is not None and got[0] == b"a" and got[-1] == b"b" and sorted(got[1:3]) == [b"x", b"y"]


def test_string_concurrent_with_list_shadows_and_a_later_write_removes_it() -> None:
    eu, us = region("eu"), region("us")
    a = write(eu, T0 + 1, push(eu, TAIL, b"a"))
    b = write(us, T0 + 2, Assign(0, K, b"v"))
    via_codec(eu, b)
    via_codec(us, a)
    for ks in (eu, us):
        entry = ks.dbs[0].entries[K]
        assert {c.type_name for c in entry.parts()} == {LIST, STRING}
        assert entry.kind == STRING
    assert keyspace_digest(eu) == keyspace_digest(us)
    c = write(eu, T0 + 3, push(eu, TAIL, b"b"))  # removes the string it observed
    via_codec(us, c)
    assert converged(eu, us) == [b"a", b"b"]


def test_state_merge_and_codec_converge_with_equal_digests() -> None:
    eu, us = two([b"a", b"b", b"c"])
    a = write(eu, T0 + 1, push(eu, HEAD, b"h"), lset(eu, 1, b"B"))
    b = write(us, T0 + 1, remove(us, [0]), push(us, TAIL, b"t1", b"t2"))
    newcomer = region("ap")
    state.merge(newcomer, records(eu))  # catches up from eu's state, then merges us's
    state.merge(newcomer, records(us))
    via_codec(eu, b)
    via_codec(us, a)
    got = converged(eu, us, newcomer)
    assert got == [b"h", b"B", b"c", b"t1", b"t2"]
    assert full_state(newcomer) == full_state(eu)
    restored = region("eu")
    state.restore(restored, records(eu))
    assert keyspace_digest(restored) == keyspace_digest(eu) and lst(restored) == got


# -- random concurrent histories ----------------------------------------------------------------
VALUES = (b"a", b"b", b"c", b"")
NAMES = ("eu", "us", "ap")


def _local_write(ks: Keyspace, draw: Any, now: int) -> Batch | None:
    s = seq(ks)
    n = 0 if s is None else len(s)
    entry = ks.dbs[0].get(K, T0 + 10_000)
    if entry is not None and entry.kind == STRING:
        ops = ["del", "set"]  # list commands would be WRONGTYPE
    else:
        ops = ["lpush", "rpush", "del", "set"] + (["pop", "lset", "lrem", "linsert", "ltrim"] if n else [])
    op = draw(st.sampled_from(ops))
    if op == "set":
        e: Effect = Assign(0, K, draw(st.sampled_from(VALUES)))
    elif op in ("lpush", "rpush"):
        values = tuple(draw(st.lists(st.sampled_from(VALUES), min_size=1, max_size=3)))
        e = push(ks, HEAD if op == "lpush" else TAIL, *values)
    elif op == "del":
        e = Delete(0, K)
    elif op == "pop":
        e = pop(ks, draw(st.sampled_from((HEAD, TAIL))))
    elif op == "lset":
        e = lset(ks, draw(st.integers(0, n - 1)), draw(st.sampled_from(VALUES)))
    elif op == "lrem":
        assert s is not None
        v = draw(st.sampled_from(s.visible()))
        e = remove(ks, [i for i, x in enumerate(s.visible()) if x == v])
    elif op == "linsert":
        assert s is not None
        e = linsert(ks, draw(st.sampled_from(s.visible())), draw(st.booleans()), draw(st.sampled_from(VALUES)))
    else:
        lo = draw(st.integers(0, n - 1))
        e = remove(ks, [i for i in range(n) if i != lo])
    ks.now_ms = now
    ks.emit(e)
    return ks.commit()


def _deliver_all(ks: Keyspace, batches: list[Batch], rng: random.Random) -> None:
    """Every batch, in a random order that respects causality, with duplicates."""
    pending = list(batches)
    while pending:
        ready = [b for b in pending if ks.ready(b) or ks.vv.get(b.origin, 0) >= b.last_seq]
        b = rng.choice(ready)
        pending.remove(b)
        via_codec(ks, b)
        if rng.random() < 0.3:
            before = full_state(ks)
            ks.apply_batch(b)  # a duplicate changes nothing
            assert full_state(ks) == before


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), seed=st.integers(0, 2**32))
def test_random_concurrent_histories_converge_in_any_causal_order(data: st.DataObject, seed: int) -> None:
    draw = data.draw
    regions = [region(n) for n in NAMES]
    batches: list[Batch] = []
    inbox: list[list[Batch]] = [[] for _ in regions]
    for step in range(draw(st.integers(1, 20))):
        r = draw(st.integers(0, len(regions) - 1))
        if inbox[r] and draw(st.booleans()):  # receive what another region sent (in order)
            b = inbox[r][0]
            if regions[r].ready(b):
                inbox[r].pop(0)
                via_codec(regions[r], b)
                continue
        b = _local_write(regions[r], draw, T0 + draw(st.integers(0, 3)) + step)
        if b is not None:
            batches.append(b)
            for i in range(len(regions)):
                if i != r:
                    inbox[i].append(b)
    mid = [list(records(ks)) for ks in regions[:2]]  # divergent states, mid-history
    rng = random.Random(seed)
    one, other = region("zz"), region("zz")
    _deliver_all(one, batches, rng)
    _deliver_all(other, list(reversed(batches)), rng)
    for ks in regions:
        _deliver_all(ks, batches, rng)
    assert converged(one, other, *regions) == lst(one)
    assert full_state(one) == full_state(other)
    merged = region("zz")  # catches up by merging two divergent states, then by batches
    state.merge(merged, mid[0])
    state.merge(merged, mid[1])
    _deliver_all(merged, batches, rng)
    assert lst(merged) == lst(one) and keyspace_digest(merged) == keyspace_digest(one)
    assert full_state(merged) == full_state(one)


@settings(max_examples=100, deadline=None)
@given(gaps=st.lists(st.tuples(st.integers(0, 10_000), st.integers(1, 3)), min_size=1, max_size=60))
def test_inserts_at_any_gap_land_there_and_positions_stay_short(gaps: list[tuple[int, int]]) -> None:
    """Local inserts at arbitrary gaps (LINSERT, pushes) are placed exactly where asked."""
    s = Sequence()
    model: list[bytes] = []
    for seq_no, (g, n) in enumerate(gaps, 1):
        at = g % (len(model) + 1)
        left = s.order[at - 1] if at > 0 else None
        right = s.order[at] if at < len(s.order) else None
        prefix, digit = between(left, right)
        values = [b"%d.%d" % (seq_no, i) for i in range(n)]
        s.insert(prefix, digit, values, (T0, "eu", seq_no))
        model[at:at] = values
        assert s.visible() == model
    assert max(len(p) for p in s.order) <= 2 * len(gaps)  # at most 2 components per insert


def test_repeated_inserts_at_one_spot_grow_positions_slowly() -> None:
    s = Sequence()
    s.insert(*between(None, None), [b"p"], (T0, "eu", 1))
    for i in range(2, 200):  # LINSERT BEFORE p, and AFTER p, again and again
        p = s.visible().index(b"p")
        left, right = (s.order[p - 1] if p else None), s.order[p]
        s.insert(*between(left, right), [b"b"], (T0, "eu", i))
        p = s.visible().index(b"p")
        nxt = s.order[p + 1] if p + 1 < len(s.order) else None
        s.insert(*between(s.order[p], nxt), [b"a"], (T0, "us", i))
    assert s.visible() == [b"b"] * 198 + [b"p"] + [b"a"] * 198
    assert max(len(p) for p in s.order) <= 3
