"""One test per SEMANTICS.md row that the CRDT layer decides.

Each test: regions share some history, then write concurrently (neither has seen the other's
write), then exchange their batches; the row says what both must read afterwards.
"""

from __future__ import annotations

import itertools
from decimal import Decimal

from crdt.digest import keyspace_digest
from crdt.effects import Batch, Delete, Effect, Expire, Flush
from crdt.keyspace import Keyspace
from crdt.types.ormap import HASH, HashDelete, HashSet
from crdt.types.orset import SET, SetAdd, SetRemove
from crdt.types.strings import STRING, Assign, Incr

from .sim import internal_state

K = b"k"
T0 = 1_000_000  # wall clock of the shared history, ms


def region(name: str) -> Keyspace:
    ks = Keyspace(name, 2)
    ks.expect_peers()
    return ks


def write(ks: Keyspace, now_ms: int, *effects: Effect) -> Batch:
    ks.now_ms = now_ms
    for e in effects:
        ks.emit(e)
    batch = ks.commit()
    assert batch is not None
    return batch


def deliver(ks: Keyspace, *batches: Batch) -> None:
    for b in batches:
        assert ks.ready(b)
        ks.apply_batch(b)


def shared_base(*effects: Effect, names: tuple[str, ...]) -> tuple[list[Keyspace], Batch]:
    """Regions that all applied one batch of ``effects`` made by the first at T0."""
    regions = [region(n) for n in names]
    base = write(regions[0], T0, *effects)
    for ks in regions[1:]:
        deliver(ks, base)
    return regions, base


def shared(*effects: Effect, names: tuple[str, ...] = ("eu", "us")) -> list[Keyspace]:
    if not effects:
        return [region(n) for n in names]
    return shared_base(*effects, names=names)[0]


def exchange(a: Keyspace, b: Keyspace, from_a: Batch, from_b: Batch) -> None:
    deliver(b, from_a)
    deliver(a, from_b)


def get(ks: Keyspace, key: bytes = K, now: int | None = None) -> bytes | None:
    e = ks.dbs[0].get(key, T0 + 10_000 if now is None else now)
    if e is None:
        return None
    assert e.kind == STRING
    return e.string.value()  # type: ignore[union-attr]


def members(ks: Keyspace, key: bytes = K) -> set[bytes] | None:
    e = ks.dbs[0].get(key, T0 + 10_000)
    if e is None:
        return None
    assert e.kind == SET
    return set(e.part(SET).members)  # type: ignore[union-attr]


def fields(ks: Keyspace, key: bytes = K) -> dict[bytes, bytes] | None:
    e = ks.dbs[0].get(key, T0 + 10_000)
    return None if e is None else dict(e.part(HASH).items())  # type: ignore[union-attr]


def ttl_at(ks: Keyspace, key: bytes = K) -> int:
    e = ks.dbs[0].get(key, T0 + 10_000)
    assert e is not None
    return e.expire_at()


def assert_same(*regions: Keyspace) -> None:
    first = regions[0]
    for ks in regions:
        ks.now_ms = T0 + 10_000
    for ks in regions[1:]:
        assert internal_state(ks)[0] == internal_state(first)[0]
        assert keyspace_digest(ks) == keyspace_digest(first)


# -- strings and counters -------------------------------------------------------------------
def test_set_vs_set_greater_timestamp_wins() -> None:
    eu, us = shared()
    a = write(eu, T0 + 200, Assign(0, K, b"from-eu"))  # later wall clock
    b = write(us, T0 + 100, Assign(0, K, b"from-us"))
    exchange(eu, us, a, b)
    assert get(eu) == get(us) == b"from-eu"
    assert eu.conflicts.counts["lww"] == us.conflicts.counts["lww"] == 1
    assert eu.conflicts.recent[0].winner[1] == us.conflicts.recent[0].winner[1] == "eu"


def test_set_vs_set_equal_hlc_region_name_breaks_the_tie() -> None:
    eu, us = shared(Assign(0, K, b"base"))
    a = write(eu, T0 + 100, Assign(0, K, b"from-eu"))
    b = write(us, T0 + 100, Assign(0, K, b"from-us"))
    assert a.hlc == b.hlc
    exchange(eu, us, a, b)
    assert get(eu) == get(us) == b"from-us"  # "us" > "eu"


def test_set_after_seeing_a_later_clock_still_wins() -> None:
    """A write that saw another is ordered after it, however skewed the wall clocks are."""
    eu, us = shared()
    deliver(us, write(eu, T0 + 5_000, Assign(0, K, b"first")))
    b = write(us, T0, Assign(0, K, b"second"))  # us's wall clock is behind
    deliver(eu, b)
    assert get(eu) == get(us) == b"second"


def test_incr_7_concurrent_with_incr_3_gives_10() -> None:
    eu, us = shared()
    exchange(eu, us, write(eu, T0 + 1, Incr(0, K, 7)), write(us, T0 + 1, Incr(0, K, 3)))
    assert get(eu) == get(us) == b"10"


def test_set_100_concurrent_with_incr_gives_101() -> None:
    for set_later in (True, False):
        eu, us = shared(Assign(0, K, b"5"))
        a = write(eu, T0 + (200 if set_later else 100), Assign(0, K, b"100"))
        b = write(us, T0 + 150, Incr(0, K, 1))
        exchange(eu, us, a, b)
        assert get(eu) == get(us) == b"101"


def test_del_concurrent_with_incr_d_gives_d() -> None:
    eu, us = shared(Assign(0, K, b"5"))
    exchange(eu, us, write(eu, T0 + 9, Delete(0, K)), write(us, T0 + 1, Incr(0, K, 4)))
    assert get(eu) == get(us) == b"4"


def test_merged_integer_beyond_64_bits_reads_as_exact_decimal() -> None:
    eu, us = shared(Assign(0, K, b"9223372036854775800"))
    exchange(eu, us, write(eu, T0 + 1, Incr(0, K, 7)), write(us, T0 + 1, Incr(0, K, 7)))
    assert get(eu) == get(us) == b"9223372036854775814"


def test_non_numeric_assignment_masks_a_concurrent_increment() -> None:
    eu, us = shared(Assign(0, K, b"1"))
    a = write(eu, T0 + 100, Assign(0, K, b"abc"))
    b = write(us, T0 + 50, Incr(0, K, 5))
    exchange(eu, us, a, b)
    assert get(eu) == get(us) == b"abc"
    # a conflict counted as counter_masked, by every region that resolved it
    assert eu.conflicts.counts["counter_masked"] == 1
    assert us.conflicts.counts["counter_masked"] == 1


def test_masked_increments_are_counted_alike_in_every_region() -> None:
    regions, base = shared_base(Assign(0, K, b"1"), names=("ap", "eu", "us"))
    ap, eu, us = regions
    batches = [write(ap, T0 + 100, Assign(0, K, b"abc")),
               write(eu, T0 + 50, Incr(0, K, 5)),
               write(us, T0 + 60, Incr(0, K, 2))]
    for ks, own in zip(regions, batches, strict=True):
        deliver(ks, *[b for b in batches if b is not own])
    for ks in regions:
        assert get(ks) == b"abc"
        assert ks.conflicts.counts["counter_masked"] == 2, ks.region


def test_incrbyfloat_decimals_print_identically_in_both_orders() -> None:
    deltas = [Decimal("0.1"), Decimal("0.2"), Decimal("-1e-17"), Decimal("3")]
    names = ("ap", "eu", "us", "za")
    regions, base = shared_base(Assign(0, K, b"10.5"), names=names)
    batches = [write(ks, T0 + 1, Incr(0, K, d)) for ks, d in zip(regions, deltas, strict=True)]
    for ks, own in zip(regions, batches, strict=True):
        deliver(ks, *[b for b in batches if b is not own])
    printed = {get(ks) for ks in regions}
    assert printed == {b"13.79999999999999999"}
    # and an observer applying them in every order prints the same digits
    for order in itertools.permutations(batches):
        obs = region("zz")
        deliver(obs, base, *order)
        assert get(obs) == b"13.79999999999999999"


def test_int_and_float_increments_make_a_float() -> None:
    eu, us = shared()
    exchange(eu, us, write(eu, T0 + 1, Incr(0, K, 1)), write(us, T0 + 1, Incr(0, K, Decimal("0.5"))))
    assert get(eu) == get(us) == b"1.5"


# -- sets -------------------------------------------------------------------------------------
def test_sadd_x_concurrent_with_sadd_y_keeps_both() -> None:
    eu, us = shared()
    exchange(eu, us, write(eu, T0 + 1, SetAdd(0, K, (b"x",))), write(us, T0 + 1, SetAdd(0, K, (b"y",))))
    assert members(eu) == members(us) == {b"x", b"y"}


def test_srem_x_concurrent_with_sadd_x_keeps_x() -> None:
    eu, us = shared(SetAdd(0, K, (b"x", b"w")))
    a = write(eu, T0 + 9, SetRemove(0, K, (b"x",)))
    b = write(us, T0 + 1, SetAdd(0, K, (b"x",)))
    exchange(eu, us, a, b)
    assert members(eu) == members(us) == {b"x", b"w"}


# -- hashes -----------------------------------------------------------------------------------
def test_hset_f_concurrent_with_hdel_f_keeps_f() -> None:
    eu, us = shared(HashSet(0, K, ((b"f", b"1"),)))
    exchange(eu, us, write(eu, T0 + 1, HashSet(0, K, ((b"f", b"2"),))),
             write(us, T0 + 9, HashDelete(0, K, (b"f",))))
    assert fields(eu) == fields(us) == {b"f": b"2"}


def test_different_fields_never_conflict() -> None:
    eu, us = shared(HashSet(0, K, ((b"f", b"1"), (b"g", b"1"))))
    exchange(eu, us, write(eu, T0 + 1, HashSet(0, K, ((b"f", b"2"),)), HashDelete(0, K, (b"g",))),
             write(us, T0 + 1, HashSet(0, K, ((b"h", b"3"),))))
    assert fields(eu) == fields(us) == {b"f": b"2", b"h": b"3"}
    assert sum(eu.conflicts.counts.values()) == sum(us.conflicts.counts.values()) == 0


# -- type conflicts -----------------------------------------------------------------------------
def test_set_x_concurrent_with_sadd_x_greater_timestamp_visible_other_hidden() -> None:
    for string_later in (True, False):
        eu, us = shared()
        a = write(eu, T0 + (200 if string_later else 100), Assign(0, K, b"v"))
        b = write(us, T0 + 150, SetAdd(0, K, (b"m",)))
        exchange(eu, us, a, b)
        for ks in (eu, us):
            e = ks.dbs[0].get(K, T0 + 10_000)
            assert e is not None
            assert e.kind == (STRING if string_later else SET)
            assert e.string is not None and e.part(SET) is not None  # the loser is hidden, kept
            assert ks.conflicts.counts["type"] == 1
        assert_same(eu, us)
        # a later write (of the visible type, as a server allows) that observed both removes
        # the hidden one, everywhere
        if string_later:
            deliver(us, write(eu, T0 + 300, Assign(0, K, b"w")))
        else:
            deliver(us, write(eu, T0 + 300, SetAdd(0, K, (b"n",))))
        for ks in (eu, us):
            e = ks.dbs[0].get(K, T0 + 10_000)
            assert e is not None
            if string_later:
                assert e.kind == STRING and e.part(SET) is None and get(ks) == b"w"
            else:
                assert e.kind == SET and e.string is None and members(ks) == {b"m", b"n"}
        assert_same(eu, us)


# -- expiry -------------------------------------------------------------------------------------
def test_expire_10_concurrent_with_expire_50_keeps_50() -> None:
    eu, us = shared(Assign(0, K, b"v"))
    exchange(eu, us, write(eu, T0 + 1, Expire(0, K, T0 + 1 + 10_000)),
             write(us, T0 + 1, Expire(0, K, T0 + 1 + 50_000)))
    assert ttl_at(eu) == ttl_at(us) == T0 + 50_001
    assert eu.conflicts.counts["expire"] == us.conflicts.counts["expire"] == 1


def test_expire_concurrent_with_persist_is_persistent() -> None:
    eu, us = shared(Assign(0, K, b"v", T0 + 100_000))
    exchange(eu, us, write(eu, T0 + 1, Expire(0, K, T0 + 200_000)), write(us, T0 + 9, Expire(0, K, 0)))
    assert ttl_at(eu) == ttl_at(us) == 0


def test_a_causally_later_expire_shortens_the_ttl() -> None:
    eu, us = shared(Assign(0, K, b"v"))
    deliver(us, write(eu, T0 + 1, Expire(0, K, T0 + 50_000)))
    deliver(us, write(eu, T0 + 2, Expire(0, K, T0 + 20_000)))
    assert ttl_at(eu) == ttl_at(us) == T0 + 20_000
    # and from the other region, having seen both
    deliver(eu, write(us, T0 + 3, Expire(0, K, T0 + 15_000)))
    assert ttl_at(eu) == ttl_at(us) == T0 + 15_000


def test_expired_key_reads_absent_at_once() -> None:
    (eu,) = shared(Assign(0, K, b"v", T0 + 100), names=("eu",))
    assert get(eu, now=T0 + 99) == b"v"
    assert get(eu, now=T0 + 100) is None


def test_expire_del_sadd_in_three_regions_converge_in_every_order() -> None:
    names = ("ap", "eu", "us")
    base_regions, base = shared_base(SetAdd(0, K, (b"a",)), names=names)
    ap, eu, us = base_regions
    batches = [write(ap, T0 + 1, Expire(0, K, T0 + 60_000)),
               write(eu, T0 + 2, Delete(0, K)),
               write(us, T0 + 3, SetAdd(0, K, (b"b",)))]
    states = []
    for order in itertools.permutations(batches):
        obs = region("zz")
        deliver(obs, base, *order)
        states.append(internal_state(obs)[0])
        obs.now_ms = T0 + 10_000
        assert members(obs) == {b"b"}  # DEL removed what it saw; the concurrent SADD survives
        assert ttl_at(obs) == T0 + 60_000  # the concurrent EXPIRE survives the DEL too
    assert all(s == states[0] for s in states)
    for ks, own in zip(base_regions, batches, strict=True):
        deliver(ks, *[b for b in batches if b is not own])
        assert internal_state(ks)[0] == states[0]


# -- keys, deletion, flush --------------------------------------------------------------------
def test_flushall_concurrent_with_set_keeps_the_set() -> None:
    eu, us = shared(Assign(0, b"k1", b"1"), Assign(0, b"k2", b"2"), Assign(1, b"k3", b"3"))
    exchange(eu, us, write(eu, T0 + 9, Flush(-1)), write(us, T0 + 1, Assign(0, b"k1", b"new")))
    for ks in (eu, us):
        assert get(ks, b"k1") == b"new"
        assert get(ks, b"k2") is None
        assert ks.dbs[1].get(b"k3", T0 + 10_000) is None
    assert_same(eu, us)


def test_del_removes_only_what_it_observed() -> None:
    eu, us = shared(SetAdd(0, K, (b"a",)), Assign(0, b"s", b"old"))
    exchange(eu, us, write(eu, T0 + 9, Delete(0, K), Delete(0, b"s")),
             write(us, T0 + 1, SetAdd(0, K, (b"b",)), Assign(0, b"s", b"new")))
    assert members(eu) == members(us) == {b"b"}
    assert get(eu, b"s") == get(us, b"s") == b"new"
    assert_same(eu, us)


def test_each_type_ignores_an_effect_applied_twice() -> None:
    """ARCHITECTURE.md: every type's apply is idempotent on its own, not only behind the
    keyspace's version-vector check."""
    from crdt.types.orset import ORSet
    from crdt.types.strings import StrValue

    tag, ctx = (100, "r", 1), {"r": 0}
    sv = StrValue()
    assert sv.assign(tag, b"v", ctx) is False
    assert sv.assign(tag, b"v", ctx) is False  # no false conflict, no duplicate
    assert sv.regs == [(100, "r", 1, b"v")]
    sv.add((101, "r", 2), 5, {})
    sv.add((101, "r", 2), 5, {})
    assert sv.value() == b"v"  # a non-numeric assignment masks the contribution
    assert len(sv.contribs or []) == 1
    s = ORSet()
    s.add([b"x"], tag, ctx)
    s.add([b"x"], tag, ctx)
    assert s.tags_of(b"x") == [tag]
