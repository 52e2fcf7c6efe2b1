"""Plain string keys at rest in their cold form (crdt/entry.py ``freeze``/``thaw``: one bytes
object as the database's value): the form round-trips, the ``Database`` accessors see through
it, and copies of a history that freeze every key after every step read, digest and dump the
same as copies that never do, and converge the same whatever the delivery order."""

from __future__ import annotations

import sys
import time
from typing import Any

import msgpack
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crdt import expiry, state
from crdt.codec import decode_batch, encode_batch
from crdt.digest import keyspace_digest
from crdt.effects import Delete, Effect, Expire, Flush
from crdt.entry import Database, Entry, freeze, thaw
from crdt.keyspace import Keyspace
from crdt.packing import Compactor
from crdt.types.orset import SetAdd
from crdt.types.strings import SEQ_BITS, Assign, Incr

from .test_semantics_rows import T0, region, write

KEYS = (b"a", b"b", b"c")
VALUES = (b"", b"x", b"xxx", b"12", b"a longer value than the common case" * 3)


def plain(stamp: int, org: str, val: bytes, own_never: bool, access: int | None) -> Entry:
    entry = Entry()
    entry.stamp, entry.org, entry.val = stamp, org, val
    if own_never:
        entry.x = expiry.OWN_NEVER
    if access is not None:
        entry.access = access
    return entry


def fields(entry: Entry) -> tuple[Any, ...]:
    try:
        access: int | None = entry.access
    except AttributeError:
        access = None
    return (entry.stamp, entry.org, entry.val, entry.x is expiry.OWN_NEVER, entry.x, access)


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 2**58), st.integers(1, 2**40), st.sampled_from(["eu", "us", "region-with-a-long-name"]),
       st.binary(max_size=80), st.booleans(), st.one_of(st.none(), st.integers(0, 2**24 - 1)))
def test_freeze_thaw_round_trips(hlc: int, seq: int, org: str, val: bytes, own_never: bool,
                                 access: int | None) -> None:
    entry = plain(hlc << SEQ_BITS | seq, org, val, own_never, access)
    cold = freeze(entry)
    assert type(cold) is bytes
    back = thaw(cold)
    assert fields(back) == fields(entry)
    assert back.regs == entry.regs and back.expire == entry.expire and back.kind == "string"
    assert freeze(back) == cold


def test_a_short_cold_string_is_one_small_object() -> None:
    """The point of the form: 64 bytes (one pymalloc size class) for a short value, in place of
    an entry, its value and its stamp."""
    entry = plain((1_764_000_000_000 << 16) << SEQ_BITS | 123_456, "eu", b"xxx", True, 1234)  # (a 2025 hlc)
    cold = freeze(entry)
    assert cold is not None and sys.getsizeof(cold) <= 64
    assert sys.getsizeof(cold) < sys.getsizeof(entry) + sys.getsizeof(entry.stamp) + sys.getsizeof(entry.val)


def test_only_plain_strings_freeze() -> None:
    ks = region("eu")
    write(ks, T0, Assign(0, b"plain", b"v"), Assign(0, b"ttl", b"v", T0 + 60_000), Incr(0, b"counter", 1),
          Assign(0, b"both", b"1"), SetAdd(0, b"set", (b"m",)))
    write(ks, T0 + 1, Incr(0, b"both", 2))
    db = ks.dbs[0]
    assert {k for k in db.entries if freeze(db.entries[k]) is not None} == {b"plain"}  # type: ignore[arg-type]
    big = plain(1 << 130, "eu", b"v", False, None)  # a stamp past the form's 16 bytes stays live
    assert freeze(big) is None
    assert freeze(plain(5, "eu", b"v", False, 1 << 24)) is None  # an access field past 24 bits


def test_database_accessors_see_through_the_cold_form() -> None:
    ks = region("eu")
    write(ks, T0, Assign(0, b"k", b"value"), Assign(0, b"other", b"w"))
    db = ks.dbs[0]
    live = db.entries[b"k"]
    assert db.pack_key(b"k") and type(db.entries[b"k"]) is bytes
    assert not db.pack_key(b"k") and not db.pack_key(b"missing")
    assert db.exists(b"k", T0) and type(db.entries[b"k"]) is bytes  # no thaw
    peeked = db.peek(b"k")
    assert peeked is not None and peeked.val == b"value" and type(db.entries[b"k"]) is bytes
    assert dict((k, e.val) for k, e in db.items()) == {b"k": b"value", b"other": b"w"}
    assert type(db.entries[b"k"]) is bytes  # items() reads without thawing
    found = db.find(b"k")
    assert found is not None and type(found) is Entry and db.entries[b"k"] is found
    assert fields(found) == fields(live)  # type: ignore[arg-type]
    db.pack_key(b"k")
    got = db.get(b"k", T0)
    assert got is not None and db.entries[b"k"] is got and got.val == b"value"
    assert db.find(b"missing") is None and db.peek(b"missing") is None and not db.exists(b"missing", T0)
    assert Database().get(b"k", T0) is None


def test_writes_to_a_cold_key_thaw_it() -> None:
    ks = region("eu")
    write(ks, T0, Assign(0, b"k", b"5"))
    db = ks.dbs[0]
    for i, effect in enumerate((Incr(0, b"k", 2), Assign(0, b"k", b"x"), Expire(0, b"k", T0 + 99), Delete(0, b"k"))):
        db.pack_key(b"k")
        write(ks, T0 + 1 + i, effect)
        entry = db.entries.get(b"k")
        assert entry is None or type(entry) is Entry
    assert b"k" not in db.entries


# -- histories: frozen after every step vs never ---------------------------------------------
STEP = st.tuples(st.integers(0, 1), st.integers(0, 9), st.sampled_from(KEYS), st.sampled_from(VALUES),
                 st.integers(-3, 3))


def effect(op: int, key: bytes, value: bytes, n: int) -> Effect:
    if op < 5:
        return Assign(0, key, value)
    if op == 5:
        return Incr(0, key, n)
    if op == 6:
        return Expire(0, key, expiry.PERSISTENT if n < 0 else T0 + 5_000 + n)
    if op == 7:
        return Assign(0, key, value, T0 + 4_000)
    if op == 8:
        return Delete(0, key)
    return Flush(0)


def visible(ks: Keyspace) -> dict[bytes, Any]:
    out: dict[bytes, Any] = {}
    for key in KEYS:
        entry = ks.dbs[0].peek(key) if ks.dbs[0].exists(key, T0 + 4_500) else None
        out[key] = None if entry is None else (entry.kind, entry.content().visible(), entry.expire_at())
    return out


def dump(ks: Keyspace) -> list[Any]:
    return [msgpack.unpackb(r, raw=False, strict_map_key=False) for r in state.dump(ks)]


def freeze_all(ks: Keyspace) -> None:
    Compactor().run(ks.dbs, 10**9, float("inf"), time.monotonic)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(STEP, min_size=1, max_size=50), st.lists(st.booleans(), min_size=50, max_size=50),
       st.booleans())
def test_frozen_and_live_copies_of_a_history_never_differ(steps: list[Any], deliveries: list[bool],
                                                          peers: bool) -> None:
    # [0] freezes every plain string after every step, [1] never does
    worlds = [(region("eu"), region("us")) for _ in range(2)]
    if not peers:  # (region() expects peers: a lone region stores no "never" entries)
        for regions in worlds:
            for ks in regions:
                ks.has_peers = False
    inbox: list[list[list[Any]]] = [[[], []] for _ in range(2)]
    for i, (r, op, key, value, n) in enumerate(steps):
        e = effect(op, key, value, n)
        for w, regions in enumerate(worlds):
            batch = write(regions[r], T0 + i, e)
            inbox[w][1 - r].append(decode_batch(encode_batch(batch)))
            if deliveries[i] and inbox[w][r]:
                regions[r].apply_batch(inbox[w][r].pop(0))
        for ks in worlds[0]:
            freeze_all(ks)
        for frozen, live in zip(worlds[0], worlds[1], strict=True):
            assert visible(frozen) == visible(live)
            assert keyspace_digest(frozen) == keyspace_digest(live)
            assert dump(frozen) == dump(live)
    for w in range(2):  # deliver everything: the copies converge, frozen or not
        for r in range(2):
            for b in inbox[w][r]:
                worlds[w][r].apply_batch(b)
    for ks in worlds[0]:
        freeze_all(ks)
    for frozen, live in zip(worlds[0], worlds[1], strict=True):
        assert dump(frozen) == dump(live)
        assert visible(frozen) == visible(live)
    if peers:  # (lone regions keep no metadata for others: only peered ones must converge)
        assert visible(worlds[0][0]) == visible(worlds[0][1]) == visible(worlds[1][0])
        assert keyspace_digest(worlds[0][0]) == keyspace_digest(worlds[1][1])


def test_a_snapshot_of_cold_keys_restores_the_same_state() -> None:
    ks = region("eu")
    write(ks, T0, *(Assign(0, b"k%d" % i, b"v%d" % i) for i in range(20)), Incr(0, b"n", 3))
    live = dump(ks)
    freeze_all(ks)
    assert sum(type(v) is bytes for v in ks.dbs[0].entries.values()) == 20
    assert dump(ks) == live
    copy = region("eu")
    state.restore(copy, dump(ks))
    assert dump(copy) == live and keyspace_digest(copy) == keyspace_digest(ks)
