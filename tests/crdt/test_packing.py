"""Small collections packed at rest (crdt/packing.py) behave exactly as live ones: three copies of
the same two-region history, one packing every small collection after every step (the sweep),
one packing at write time every key it writes (``recent_keys`` 0: at the end of each batch) and
one never packing, read and digest the same at every step and dump the same state at the end."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

import msgpack
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crdt import state
from crdt.codec import decode_batch, encode_batch
from crdt.digest import keyspace_digest
from crdt.effects import Delete, Effect, Expire
from crdt.entry import EntryExtra
from crdt.keyspace import Keyspace
from crdt.packing import PACK_MAX, Compactor, Packed
from crdt.types.ormap import HashDelete, HashIncr, HashSet
from crdt.types.orset import SetAdd, SetRemove
from crdt.types.sequence import LIST, ListPush, ListRemove, ListSet, between
from crdt.types.strings import Assign
from crdt.types.zset import ZAssign, ZIncr, ZRemove

from .test_semantics_rows import T0, region, write

KEYS = (b"z", b"l", b"h", b"s")
NAMES = (b"a", b"b", b"c")
STEP = st.tuples(st.integers(0, 1), st.integers(0, 12), st.sampled_from(KEYS), st.sampled_from(NAMES),
                 st.integers(-3, 3))


def effect(ks: Keyspace, op: int, key: bytes, name: bytes, n: int) -> Effect | None:
    """A write of ``key``'s type, computed from ``ks``'s state as a server would."""
    entry = ks.dbs[0].entries.get(key)
    if op == 12:
        return Delete(0, key) if entry is not None else None
    if key == b"z":
        return (ZAssign(0, key, ((name, float(n)),)) if op < 5 else
                ZIncr(0, key, name, n + 0.5) if op < 9 else ZRemove(0, key, (name,)))
    if key == b"h":
        return (HashSet(0, key, ((name, b"%d" % n),)) if op < 5 else
                HashIncr(0, key, name, Decimal(n) if op == 5 else n) if op < 9 else HashDelete(0, key, (name,)))
    if key == b"s":
        return SetAdd(0, key, (name,)) if op < 8 else SetRemove(0, key, (name,))
    seq = entry.part(LIST) if entry is not None else None
    order = list(seq.order) if seq is not None else []
    if op < 7 or not order:
        left, right = (None, order[0] if order else None) if n < 0 else (order[-1] if order else None, None)
        prefix, digit = between(left, right)
        return ListPush(0, key, prefix, digit, tuple(name for _ in range(1 + n % 2)))
    if op < 10:
        return ListRemove(0, key, (order[n % len(order)],))
    return ListSet(0, key, order[n % len(order)], name + b"!")


def visible(ks: Keyspace) -> dict[bytes, Any]:
    out = {}
    for key in KEYS:
        entry = ks.dbs[0].get(key, T0 + 10_000)
        out[key] = None if entry is None else entry.content().visible()
    return out


def dump(ks: Keyspace) -> list[Any]:
    return [msgpack.unpackb(r, raw=False, strict_map_key=False) for r in state.dump(ks)]


def pack_all(ks: Keyspace) -> None:
    Compactor().run(ks.dbs, 10**9, float("inf"), time.monotonic)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(STEP, min_size=1, max_size=60), st.lists(st.booleans(), min_size=60, max_size=60))
def test_packed_and_live_copies_of_a_history_never_differ(steps: list[Any], deliveries: list[bool]) -> None:
    # [0] packs by the sweep, [1] does not pack, [2] packs at write time
    worlds = [(region("eu"), region("us")) for _ in range(3)]
    for ks in worlds[2]:
        ks.recent_keys = 0
    inbox: list[list[list[Any]]] = [[[], []] for _ in range(3)]  # world -> region -> batches to receive
    for i, (r, op, key, name, n) in enumerate(steps):
        e = effect(worlds[1][r], op, key, name, n)
        for w, regions in enumerate(worlds):
            if e is not None:
                batch = write(regions[r], T0 + i, e)
                inbox[w][1 - r].append(decode_batch(encode_batch(batch)))
            if deliveries[i] and inbox[w][r]:
                regions[r].apply_batch(inbox[w][r].pop(0))
        for ks in worlds[0]:
            pack_all(ks)
        for packed, live in [*zip(worlds[0], worlds[1], strict=True), *zip(worlds[2], worlds[1], strict=True)]:
            assert visible(packed) == visible(live)
            assert keyspace_digest(packed) == keyspace_digest(live)
    for w in range(3):  # deliver everything: the copies converge, packed or not
        for r in range(2):
            for b in inbox[w][r]:
                worlds[w][r].apply_batch(b)
    for ks in worlds[0]:
        pack_all(ks)
    for packed, live in [*zip(worlds[0], worlds[1], strict=True), *zip(worlds[2], worlds[1], strict=True)]:
        assert dump(packed) == dump(live)
    assert visible(worlds[0][0]) == visible(worlds[0][1]) == visible(worlds[2][0])


def test_small_collections_are_packed_and_unpacked_on_use_large_ones_stay_live() -> None:
    ks = region("eu")
    write(ks, T0, ZAssign(0, b"small", tuple((b"m%d" % i, float(i)) for i in range(10))),
          ZAssign(0, b"big", tuple((b"m%d" % i, float(i)) for i in range(PACK_MAX + 1))))
    c = Compactor()
    assert c.run(ks.dbs, 100, float("inf"), time.monotonic) == 1 and c.packed == 1
    small, big = ks.dbs[0].entries[b"small"], ks.dbs[0].entries[b"big"]
    assert isinstance(small.x.other, Packed) and not isinstance(big.x.other, Packed)  # type: ignore[union-attr]
    assert small.kind == "zset" and isinstance(small.x.other, Packed)  # TYPE does not unpack  # type: ignore[union-attr]
    assert small.content().score(b"m3") == 3.0 and not isinstance(small.x.other, Packed)  # type: ignore[union-attr]
    write(ks, T0 + 1, ZIncr(0, b"small", b"m3", 1.0))
    assert small.content().score(b"m3") == 4.0


def test_a_pass_is_bounded_by_its_key_budget_and_moves_on() -> None:
    ks = region("eu")
    for i in range(100):
        write(ks, T0 + i, SetAdd(0, b"s%d" % i, (b"x",)))
    c = Compactor()
    assert c.run(ks.dbs, 40, float("inf"), time.monotonic) == 40
    assert c.run(ks.dbs, 40, float("inf"), time.monotonic) == 40
    assert c.passes == 0
    assert c.run(ks.dbs, 40, float("inf"), time.monotonic) == 20 and c.passes == 1  # the pass ends
    assert c.run(ks.dbs, 10**6, float("inf"), time.monotonic) == 0  # all packed already
    assert c.passes == 2
    clock = iter(range(100)).__next__  # a deadline already passed: nothing visited
    assert c.run(ks.dbs, 10**6, 0.0, lambda: float(clock())) == 0


def test_a_burst_of_writes_keeps_only_the_latest_keys_live() -> None:
    """Write-time packing: past ``recent_keys`` keys written, the oldest are packed when a batch
    ends (a packed content alone takes the entry's ``x`` slot: no ``EntryExtra``), a key with an
    expire time keeps its ``EntryExtra`` around the packed content, and the memory accounting
    hears of each packed key."""
    ks = region("eu")
    ks.recent_keys = 4
    heard: list[tuple[int, bytes]] = []
    ks.on_packed = lambda db, key: heard.append((db, key))
    for i in range(10):
        ttl = [Expire(0, b"h0", T0 + 10**9)] if i == 0 else []
        write(ks, T0 + 1 + i, HashSet(0, b"h%d" % i, ((b"f", b"v%d" % i),)), *ttl)
    entries = ks.dbs[0].entries
    packed = [k for k, e in entries.items() if isinstance(e.x, Packed) or isinstance(getattr(e.x, "other", None), Packed)]
    assert sorted(packed) == [b"h%d" % i for i in range(6)] and ks.packed == 6
    assert heard == [(0, b"h%d" % i) for i in range(6)]
    assert type(entries[b"h0"].x) is EntryExtra and isinstance(entries[b"h0"].x.other, Packed)
    assert isinstance(entries[b"h1"].x, Packed)  # alone: in the slot itself
    assert entries[b"h1"].kind == "hash" and isinstance(entries[b"h1"].x, Packed)  # TYPE does not unpack
    assert entries[b"h0"].expire_at() == T0 + 10**9
    for i in range(10):  # packed or live, every key reads the same
        assert entries[b"h%d" % i].content().get(b"f") == b"v%d" % i
    assert all(not isinstance(e.x, Packed) for e in entries.values())  # read: unpacked
    write(ks, T0 + 20, Expire(0, b"h1", T0 + 10**9), HashSet(0, b"h1", ((b"g", b"w"),)))
    assert entries[b"h1"].expire_at() == T0 + 10**9
    assert entries[b"h1"].content().visible() == [(b"f", b"v1"), (b"g", b"w")]


def test_a_packed_key_written_as_another_type_or_deleted() -> None:
    """A packed content alone in the slot is removed by what observed it (DEL, a SET of the
    key) and shadowed by what did not, as a live one."""
    eu, us = region("eu"), region("us")
    for ks in (eu, us):
        ks.recent_keys = 0
    base = write(eu, T0, ZAssign(0, b"z", ((b"m", 1.0),)), SetAdd(0, b"s", (b"x",)))
    us.apply_batch(base)
    assert isinstance(eu.dbs[0].entries[b"z"].x, Packed) and isinstance(us.dbs[0].entries[b"s"].x, Packed)
    concurrent = write(us, T0 + 2, SetAdd(0, b"z", (b"y",)))  # z as a set, not observing eu's next
    write(eu, T0 + 1, Assign(0, b"z", b"str", 0), Delete(0, b"s"))
    assert eu.dbs[0].entries[b"z"].kind == "string" and b"s" not in eu.dbs[0].entries
    eu.apply_batch(concurrent)
    z = eu.dbs[0].entries[b"z"]
    assert sorted(c.type_name for c in z.parts()) == ["set", "string"] and z.kind == "set"
