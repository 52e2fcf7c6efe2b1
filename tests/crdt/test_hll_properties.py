"""The HyperLogLog content (SEMANTICS.md, "HyperLogLog"), in process: the rows as unit tests,
and hypothesis properties over random concurrent histories — any causal order converges,
duplicates change nothing, merging states equals applying every effect, codecs round-trip.

Effects are made here the way the server's PFADD / PFCOUNT / PFMERGE / PFDEBUG make them
(``server/commands/hll.py``): the origin raises its registers with Redis's write path and ships
the raised ones."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import msgpack
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crdt import hyperloglog as H
from crdt import state
from crdt.codec import decode_batch, encode_batch
from crdt.digest import keyspace_digest
from crdt.effects import Batch, Delete, Effect
from crdt.keyspace import Keyspace
from crdt.types.hll import HLL, HllUpdate, HllValue, pack_pairs, regs_hash
from crdt.types.strings import Assign

from .histories import causal_order as _causal_order
from .histories import replay as _replay
from .test_semantics_rows import T0, region, write

K = b"k"


def hll(ks: Keyspace) -> HllValue | None:
    entry = ks.dbs[0].entries.get(K)
    part = entry.part(HLL) if entry is not None else None
    return part if isinstance(part, HllValue) else None


def visible(ks: Keyspace) -> bytes | None:
    entry = ks.dbs[0].get(K, T0 + 10**6)
    return None if entry is None else entry.content().value()


def pfadd(ks: Keyspace, *elements: bytes) -> HllUpdate:
    cur = hll(ks)
    updates = [H.pat_len(e) for e in elements]
    if cur is None:
        regs = bytearray(H.REGISTERS)
        changed, dense = H.write(regs, False, updates)
        return HllUpdate(0, K, (), pack_pairs(changed), dense, None)
    regs = bytearray(cur.registers())
    changed, dense = H.write(regs, cur.is_dense(), updates)
    return HllUpdate(0, K, tuple(cur.sketches), pack_pairs(changed), dense, None)


def pfcount(ks: Keyspace) -> HllUpdate | None:
    """PFCOUNT's cache write (None when the cache is valid: nothing to write)."""
    cur = hll(ks)
    if cur is None:
        return None
    regs = cur.registers()
    if cur.cache_state(regs)[1]:
        return None
    return HllUpdate(0, K, tuple(cur.sketches), b"", False, (H.count(regs), regs_hash(regs)))


def invalidate(ks: Keyspace) -> HllUpdate | None:
    """PFMERGE k (no other source): the cache is invalidated, its value kept."""
    cur = hll(ks)
    if cur is None:
        return None
    return HllUpdate(0, K, tuple(cur.sketches), b"", False, (cur.cache_state(cur.registers())[0], None))


def todense(ks: Keyspace) -> HllUpdate | None:
    cur = hll(ks)
    return None if cur is None else HllUpdate(0, K, tuple(cur.sketches), b"", True, None)


def deliver(ks: Keyspace, *batches: Batch) -> None:
    for b in batches:
        copy = decode_batch(encode_batch(b))
        assert copy == b
        assert ks.ready(copy)
        ks.apply_batch(copy)


def fresh(*elements: bytes) -> bytes:
    """What one Redis holding all of ``elements`` (added in one PFADD) stores."""
    ks = region("solo")
    write(ks, T0, pfadd(ks, *elements))
    value = visible(ks)
    assert value is not None
    return value


def registers(value: bytes | None) -> bytes:
    assert value is not None
    return bytes(H.parse(value).regs)


def converged(*regions: Keyspace) -> bytes | None:
    views = [visible(ks) for ks in regions]
    assert all(v == views[0] for v in views), [v[:16] if v else v for v in views]
    assert len({keyspace_digest(ks) for ks in regions}) == 1
    states = [_states(ks) for ks in regions]
    assert all(s == states[0] for s in states)
    return views[0]


def _states(ks: Keyspace) -> Any:
    cur = hll(ks)
    # region name -> a number standing for it (injective, the same in every region)
    return None if cur is None else cur.encode(lambda name: int.from_bytes(name.encode(), "big"))


def _records(ks: Keyspace) -> Iterator[Any]:
    for rec in state.dump(ks):
        yield msgpack.unpackb(rec, raw=False, strict_map_key=False)


def shared(*elements: bytes) -> tuple[Keyspace, Keyspace]:
    eu, us = region("eu"), region("us")
    deliver(us, write(eu, T0, pfadd(eu, *elements)))
    return eu, us


# -- SEMANTICS rows ----------------------------------------------------------------------------


def test_concurrent_pfadds_in_two_regions_all_count() -> None:
    eu, us = shared(b"a", b"b")
    x = write(eu, T0 + 1, pfadd(eu, b"x", b"y"))
    y = write(us, T0 + 1, pfadd(us, b"z"))
    deliver(eu, y)
    deliver(us, x)
    value = converged(eu, us)
    assert registers(value) == registers(fresh(b"a", b"b", b"x", b"y", b"z"))
    assert H.count(registers(value)) == 5


def test_concurrent_creations_both_count() -> None:
    eu, us = region("eu"), region("us")
    x = write(eu, T0, pfadd(eu, b"a"))
    y = write(us, T0, pfadd(us, b"b"))
    deliver(eu, y)
    deliver(us, x)
    value = converged(eu, us)
    assert registers(value) == registers(fresh(b"a", b"b"))
    # a later PFADD made on both sketches reaches both everywhere
    z = write(eu, T0 + 2, pfadd(eu, b"c"))
    deliver(us, z)
    assert registers(converged(eu, us)) == registers(fresh(b"a", b"b", b"c"))


def test_del_concurrent_with_pfadd_the_delete_wins_in_either_order() -> None:
    eu, us = shared(b"a")
    d = write(eu, T0 + 1, Delete(0, K))
    p = write(us, T0 + 1, pfadd(us, *[b"e%d" % i for i in range(50)]))
    deliver(eu, p)  # the PFADD arrives after the delete: its sketch is gone
    deliver(us, d)  # the delete arrives after the PFADD: it removes the sketch, updates and all
    assert converged(eu, us) is None
    # a PFADD made after the delete was seen creates the key again
    again = write(us, T0 + 2, pfadd(us, b"new"))
    deliver(eu, again)
    assert registers(converged(eu, us)) == registers(fresh(b"new"))


def test_set_concurrent_with_pfadd_the_string_wins() -> None:
    eu, us = shared(b"a")
    s = write(eu, T0 + 1, Assign(0, K, b"plain"))
    p = write(us, T0 + 1, pfadd(us, b"b"))
    deliver(eu, p)
    deliver(us, s)
    assert converged(eu, us) == b"plain"


def test_a_pfadd_lost_to_a_delete_still_removes_the_string_it_observed() -> None:
    """us's PFADD saw ap's concurrent SET (the HLL was visible there) and so removes it; eu's
    DEL removes the HLL. Wherever the PFADD arrives after the DEL, it must still do the first."""
    eu, us, ap = region("eu"), region("us"), region("ap")
    create = write(eu, T0, pfadd(eu, b"a"))
    deliver(us, create)
    plain = write(ap, T0 - 1, Assign(0, K, b"plain"))
    deliver(us, plain)
    p = write(us, T0 + 1, pfadd(us, b"b"))
    d = write(eu, T0 + 1, Delete(0, K))
    deliver(eu, plain, p)
    deliver(us, d)
    deliver(ap, create, d, p)  # here the PFADD comes last
    assert converged(eu, us, ap) is None


def test_pfcount_cache_concurrent_with_pfadd_reads_invalid_everywhere() -> None:
    eu, us = shared(b"a", b"b")
    c = pfcount(eu)
    assert c is not None
    cached = write(eu, T0 + 1, c)
    assert visible(eu) is not None and not (visible(eu) or b"")[15] & 0x80  # valid here
    p = write(us, T0 + 1, pfadd(us, b"c"))
    deliver(eu, p)
    deliver(us, cached)
    value = converged(eu, us)
    assert value is not None and value[15] & 0x80  # invalidated: registers changed since
    assert int.from_bytes(value[8:15], "little") == 2  # the stale count is kept, as in Redis


def test_concurrent_raises_of_one_register_keep_the_maximum_in_either_order() -> None:
    index = H.pat_len(ELEMENTS[0])[0]
    low, high = sorted((e for e in ELEMENTS if H.pat_len(e)[0] == index), key=lambda e: H.pat_len(e)[1])[:2]
    assert H.pat_len(low)[0] == H.pat_len(high)[0] and H.pat_len(low)[1] < H.pat_len(high)[1]
    eu, us = shared(b"a")
    x = write(eu, T0 + 1, pfadd(eu, high))
    y = write(us, T0 + 1, pfadd(us, low))
    deliver(eu, y)
    deliver(us, x)
    assert registers(converged(eu, us)) == registers(fresh(b"a", low, high))


def test_concurrent_pfcounts_keep_the_newest_cache_in_either_order() -> None:
    eu, us = shared(b"a", b"b")
    ce, cu = pfcount(eu), pfcount(us)
    assert ce is not None and cu is not None
    x = write(eu, T0 + 1, ce)
    y = write(us, T0 + 2, cu)
    deliver(eu, y)
    deliver(us, x)
    value = converged(eu, us)
    assert value is not None and not value[15] & 0x80
    cur = hll(eu)
    assert cur is not None and cur.cache is not None and cur.cache[1] == "us"


def test_state_merge_and_restore_converge() -> None:
    eu, us = shared(b"a")
    x = write(eu, T0 + 1, pfadd(eu, b"x"))
    y = write(us, T0 + 1, pfadd(us, *[b"y%d" % i for i in range(3000)]))  # dense
    newcomer = region("ap")
    state.merge(newcomer, _records(eu))
    state.merge(newcomer, _records(us))
    deliver(eu, y)
    deliver(us, x)
    value = converged(eu, us, newcomer)
    assert value is not None and value[4] == H.DENSE
    restored = region("us")
    state.restore(restored, _records(us))
    converged(us, restored)


# -- properties: random concurrent histories ---------------------------------------------------
REGIONS = ("eu", "us", "ap")


def _colliding(n_groups: int = 3) -> tuple[bytes, ...]:
    """Elements in groups that hit the same register with different counts, so concurrent
    adds race on registers (random elements almost never share one of 16384)."""
    by_index: dict[int, dict[int, bytes]] = {}
    for i in range(40_000):
        e = b"m%d" % i
        index, value = H.pat_len(e)
        by_index.setdefault(index, {}).setdefault(value, e)
    groups = sorted((g for g in by_index.values() if len(g) >= 3), key=len, reverse=True)
    return tuple(e for g in groups[:n_groups] for e in g.values())


ELEMENTS = _colliding()
BIG = tuple(b"big%d" % i for i in range(2500))  # enough to turn the sketch dense
OPS = ("pfadd", "pfadd", "pfadd", "pfadd", "big", "pfcount", "invalidate", "todense", "del", "set")


@st.composite
def histories(draw: Any) -> tuple[list[Batch], list[Keyspace], set[bytes], bool]:
    regions = {name: region(name) for name in REGIONS}
    batches: list[Batch] = []
    applied: dict[str, set[int]] = {name: set() for name in REGIONS}
    added: set[bytes] = set()
    removed = False
    now = T0
    for _ in range(draw(st.integers(1, 12))):
        name = draw(st.sampled_from(REGIONS))
        ks = regions[name]
        now += draw(st.integers(0, 3))
        if draw(st.booleans()):  # deliver some of what is ready from the others
            for i, b in enumerate(batches):
                if i not in applied[name] and b.origin != name and ks.ready(b) and draw(st.booleans()):
                    deliver(ks, b)
                    applied[name].add(i)
        op = draw(st.sampled_from(OPS))
        e: Effect | None
        if op in ("pfadd", "big"):
            if visible(ks) is not None and hll(ks) is None:
                continue  # a string: PFADD would be refused
            els = BIG if op == "big" else tuple(draw(st.lists(st.sampled_from(ELEMENTS), max_size=4)))
            added.update(els)
            e = pfadd(ks, *els)
        elif op == "pfcount":
            e = pfcount(ks)
        elif op == "invalidate":
            e = invalidate(ks)
        elif op == "todense":
            e = todense(ks)
        elif op == "del":
            removed = True
            e = Delete(0, K)
        else:
            removed = True
            e = Assign(0, K, b"plain")
        if e is None:
            continue
        batches.append(write(ks, now, e))
        applied[name].add(len(batches) - 1)
    return batches, list(regions.values()), added, removed




PROPS = settings(max_examples=40, deadline=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@PROPS
@given(st.data())
def test_any_causal_order_converges_and_merge_equals_applying_all(data: Any) -> None:
    batches, regions, added, removed = data.draw(histories())
    one = _replay(batches, list(range(len(batches))))  # the order made: causal
    two = _replay(batches, _causal_order(batches, data.draw))
    value = converged(one, two)
    if not removed and value is not None:
        # nothing removed: every element added anywhere counts
        assert registers(value) == registers(fresh(*sorted(added)))
    # the regions' partial, concurrent states merged together hold every batch: the same
    merged = region("mm")
    for ks in data.draw(st.permutations(regions)):
        state.merge(merged, _records(ks))
    converged(one, merged)


@PROPS
@given(st.data())
def test_duplicate_effects_change_nothing_and_codecs_round_trip(data: Any) -> None:
    batches, _, _, _ = data.draw(histories())
    ks = region("dup")
    for b in batches:
        assert decode_batch(encode_batch(b)) == b
        deliver(ks, b)
        before = _states(ks), visible(ks)
        # the same effects interpreted again (not only skipped by the VV): nothing changes
        cur = hll(ks)
        if cur is not None:
            for i, e in enumerate(b.effects):
                if isinstance(e, HllUpdate) and (not e.gens or any(g in cur.sketches for g in e.gens)):
                    cur.apply(e, (b.hlc, b.origin, b.first_seq + i))
        assert (_states(ks), visible(ks)) == before
        ks.apply_batch(b)  # a duplicate delivery
        assert (_states(ks), visible(ks)) == before
        cur = hll(ks)
        if cur is not None:  # the content's own codec
            names = sorted({d[0] for d in cur.sketches} | {s.latest[1] for s in cur.sketches.values()}
                           | {s.cache[1] for s in cur.sketches.values() if s.cache is not None})
            back = HllValue.decode(cur.encode(names.index), names)
            assert back.encode(names.index) == cur.encode(names.index)
            assert back.value() == cur.value()
