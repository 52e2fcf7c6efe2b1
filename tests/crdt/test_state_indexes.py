"""State that arrives whole (a snapshot restored at start-up, a peer's state merged to catch up)
must leave the keyspace's indexes as true as the same history arriving as effects: the
expire index, the orphan expire registers and the GC queue. Metadata every region has observed
is then collected the same way, whichever way it came."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import msgpack

from crdt import state
from crdt.effects import Delete, Expire
from crdt.keyspace import Keyspace
from crdt.types.orset import SetAdd
from crdt.types.strings import Assign

from .test_semantics_rows import T0, deliver, region, write

NEVER_KEY, ORPHAN_KEY, TTL_KEY = b"persisted", b"orphan", b"ttl"


def _records(ks: Keyspace) -> Iterator[Any]:
    for rec in state.dump(ks):
        yield msgpack.unpackb(rec, raw=False, strict_map_key=False)


def _history() -> tuple[Keyspace, Keyspace]:
    """Two regions that both hold a key with a "never" expire entry (EXPIRE then PERSIST), an
    orphan expire register (EXPIRE concurrent with DEL) and a key with a TTL."""
    us, eu = region("us"), region("eu")
    base = write(us, T0, SetAdd(0, NEVER_KEY, (b"m",)), Assign(0, ORPHAN_KEY, b"v"),
                 Assign(0, TTL_KEY, b"t", T0 + 60_000))
    deliver(eu, base)
    expire = write(us, T0, Expire(0, NEVER_KEY, T0 + 5_000))
    deliver(eu, expire)
    persist = write(eu, T0, Expire(0, NEVER_KEY, 0))
    deleted = write(eu, T0, Delete(0, ORPHAN_KEY))
    expired = write(us, T0, Expire(0, ORPHAN_KEY, T0 + 9_000))  # concurrent with the DEL
    deliver(us, persist, deleted)
    deliver(eu, expired)
    for ks in (us, eu):
        db = ks.dbs[0]
        assert db.entries[NEVER_KEY].expire_at() == 0 and db.entries[NEVER_KEY].expire
        assert ORPHAN_KEY not in db.entries and db.orphan_expiry[ORPHAN_KEY]
        assert db.expires == {TTL_KEY: T0 + 60_000}
    return us, eu


def _observed_everywhere(ks: Keyspace) -> None:
    ks.stable.clear()
    ks.stable.update(ks.vv)


def _assert_collected(ks: Keyspace) -> None:
    _observed_everywhere(ks)
    assert ks.collect(1000) == 2, ks.region
    db = ks.dbs[0]
    assert db.entries[NEVER_KEY].expire is None, ks.region
    assert ORPHAN_KEY not in db.orphan_expiry, ks.region
    assert not db.gc_pending, ks.region
    assert db.expires == {TTL_KEY: T0 + 60_000}, ks.region


def test_metadata_that_arrived_as_effects_is_collected() -> None:
    us, eu = _history()
    _assert_collected(us)
    _assert_collected(eu)


def test_metadata_of_a_restored_snapshot_is_collected_as_after_the_effects() -> None:
    us, _ = _history()
    restored = region("us")
    state.restore(restored, _records(us))
    assert restored.dbs[0].expires == {TTL_KEY: T0 + 60_000}
    _assert_collected(restored)


def test_metadata_of_a_merged_state_is_collected_as_after_the_effects() -> None:
    us, eu = _history()
    newcomer = region("ap")  # has nothing: catches up by merging eu's state
    state.merge(newcomer, _records(eu))
    assert newcomer.dbs[0].expires == {TTL_KEY: T0 + 60_000}
    _assert_collected(newcomer)
    # a region that already had the history merges it again: nothing changes, GC still works
    state.merge(us, _records(eu))
    _assert_collected(us)
