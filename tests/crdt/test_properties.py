"""Property tests of the CRDT layer, driven by the multi-region simulator (``sim.py``).

(a) regions that applied the same batches agree exactly (internal state, visible values, digest);
(b) a duplicate delivery changes nothing (checked inside the simulator at every duplicate);
(c) every batch round-trips through the codec exactly;
(d) the same batches in two different causal orders give identical state;
(e) a key only ever incremented holds the sum of all increments;
(f) sets are add-wins: a member's live adds are exactly those no remove of it observed;
plus the general oracle for every type, and ``merge_from`` (state merge) against op replay.
"""

from __future__ import annotations

from decimal import Decimal

import msgpack
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crdt import state
from crdt.clock import vv_merge
from crdt.codec import decode_batch, decode_meta, encode_batch
from crdt.digest import keyspace_digest
from crdt.effects import Flush
from crdt.entry import Entry, EntryExtra
from crdt.expiry import OWN_NEVER
from crdt.keyspace import Keyspace
from crdt.numbers import EXACT, format_number
from crdt.types.ormap import HASH, HashIncr, ORMap
from crdt.types.orset import SET, ORSet
from crdt.types.strings import Incr, StrValue

from . import sim

# Moderate, so the file runs in well under a minute on two cores; the parametrized tests
# (one run per command profile) take fewer examples each.
SETTINGS = settings(max_examples=100, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
PER_PROFILE = settings(SETTINGS, max_examples=50)


def run(data: st.DataObject, profile: str = "all", max_steps: int = 40) -> sim.Sim:
    s = sim.Sim(cmds=sim.PROFILES[profile])
    s.run(data.draw, max_steps)
    return s


def digest_at(ks: Keyspace, now_ms: int) -> str:
    ks.now_ms = now_ms
    return keyspace_digest(ks)


def assert_converged(s: sim.Sim) -> None:
    regions = list(s.regions.values())
    first = regions[0]
    for ks in regions[1:]:
        assert sim.internal_state(ks) == sim.internal_state(first), ks.region
    for now in (s.time, s.time + 100, s.time + 1000):
        views = [sim.visible_state(ks, now) for ks in regions]
        digests = [digest_at(ks, now) for ks in regions]
        assert all(v == views[0] for v in views), now
        assert len(set(digests)) == 1, now


# -- (a) + (b): convergence, for the whole keyspace and per type -------------------------
@pytest.mark.parametrize("profile", ["all", "string", "set", "hash", "types"])
@PER_PROFILE
@given(data=st.data())
def test_regions_that_applied_the_same_batches_agree(profile: str, data: st.DataObject) -> None:
    s = run(data, profile)
    s.deliver_all(data.draw)
    assert_converged(s)


@SETTINGS
@given(data=st.data())
def test_digest_equal_iff_visible_state_equal_at_any_point(data: st.DataObject) -> None:
    s = run(data)
    now = s.time
    regions = list(s.regions.values())
    for a in regions:
        for b in regions:
            same_view = sim.visible_state(a, now) == sim.visible_state(b, now)
            assert same_view == (digest_at(a, now) == digest_at(b, now)), (a.region, b.region)


# -- (b) duplicates, directly -----------------------------------------------------------
@SETTINGS
@given(data=st.data())
def test_delivering_every_batch_twice_changes_nothing(data: st.DataObject) -> None:
    s = run(data)
    s.deliver_all(data.draw)
    for name, ks in s.regions.items():
        before = sim.internal_state(ks)
        view = sim.visible_state(ks, s.time)
        for i in data.draw(st.permutations(range(len(s.batches)))):
            assert ks.ready(s.batches[i])
            assert s.deliver(name, i, data.draw(st.booleans())) == 0
        assert sim.internal_state(ks) == before
        assert sim.visible_state(ks, s.time) == view


# -- (c) codec ---------------------------------------------------------------------------
@SETTINGS
@given(data=st.data())
def test_codec_round_trips_every_batch_exactly(data: st.DataObject) -> None:
    s = run(data)
    for b in s.batches:
        wire = encode_batch(b)
        back = decode_batch(wire)
        assert back == b
        assert sim.typed(back) == sim.typed(b)  # Decimal stays Decimal, tuples stay tuples
        assert encode_batch(back) == wire
        assert decode_meta(wire) == (b.origin, b.first_seq, b.last_seq, b.deps)


# -- (d) order independence --------------------------------------------------------------
@pytest.mark.parametrize("profile", ["all", "types"])
@PER_PROFILE
@given(data=st.data())
def test_two_causal_orders_give_identical_state(profile: str, data: st.DataObject) -> None:
    s = run(data, profile)
    order1 = sim.causal_order(s.batches, data.draw)
    order2 = sim.causal_order(s.batches, data.draw)
    one = sim.replay(s.batches, order1, "obs1")
    two = sim.replay(s.batches, order2, "obs2")
    assert sim.internal_state(one) == sim.internal_state(two)
    for now in (s.time, s.time + 1000):
        assert sim.visible_state(one, now) == sim.visible_state(two, now)
        assert digest_at(one, now) == digest_at(two, now)
    # and the regions themselves, once everything reached them, hold the same
    s.deliver_all(data.draw)
    for ks in s.regions.values():
        assert sim.internal_state(ks) == sim.internal_state(one)


# -- (e) counters ------------------------------------------------------------------------
def _expected_sum(deltas: list[int | Decimal]) -> bytes:
    total: int | Decimal = 0
    for d in deltas:
        total = total + d if type(total) is int and type(d) is int else EXACT.add(
            Decimal(total), Decimal(d))
    return format_number(total)


@SETTINGS
@given(data=st.data())
def test_a_key_only_incremented_holds_the_sum_of_all_increments(data: st.DataObject) -> None:
    s = run(data, "string")
    s.deliver_all(data.draw)
    effects = [e for b in s.batches for e in b.effects]
    if any(type(e) is Flush and e.db in (-1, sim.COUNTER_DB) for e in effects):
        return  # the counter db was flushed: covered by the general oracle instead
    deltas = [e.delta for e in effects if type(e) is Incr and e.db == sim.COUNTER_DB]
    for ks in s.regions.values():
        entry = ks.dbs[sim.COUNTER_DB].get(sim.COUNTER_KEY, s.time)
        if not deltas:
            assert entry is None
            continue
        assert entry is not None
        assert entry.string.value() == _expected_sum(deltas)


@SETTINGS
@given(data=st.data())
def test_a_hash_field_only_incremented_holds_the_sum(data: st.DataObject) -> None:
    s = run(data, "hash")
    s.deliver_all(data.draw)
    effects = [e for b in s.batches for e in b.effects]
    if any(type(e) is Flush and e.db in (-1, sim.COUNTER_DB) for e in effects):
        return
    deltas = [e.delta for e in effects if type(e) is HashIncr and e.db == sim.COUNTER_DB]
    for ks in s.regions.values():
        entry = ks.dbs[sim.COUNTER_DB].get(sim.HCOUNTER_KEY, s.time)
        if not deltas:
            assert entry is None
            continue
        assert entry is not None
        assert entry.part(HASH).get(b"n") == _expected_sum(deltas)


# -- (f) add-wins, and the oracle for every type --------------------------------------------
@pytest.mark.parametrize("profile", ["set", "types"])
@PER_PROFILE
@given(data=st.data())
def test_set_member_present_iff_an_add_is_unobserved_by_every_remove(
    profile: str, data: st.DataObject
) -> None:
    s = run(data, profile)
    # check every region at every point it reached, not only after full delivery
    for final in (False, True):
        if final:
            s.deliver_all(data.draw)
        for name, ks in s.regions.items():
            oracle = sim.Oracle(s.batches[i] for i in sorted(s.applied[name]))
            for key in sim.KEYS:
                expected = oracle.set(0, key)
                entry = ks.dbs[0].entries.get(key)
                assert sim.set_state(entry.part(SET) if entry else None) == expected, (name, key)
                visible = ks.dbs[0].get(key, s.time)
                if visible is not None and visible.kind == SET:
                    assert set(visible.part(SET).members) == set(expected)


@pytest.mark.parametrize("profile", ["all", "types"])
@PER_PROFILE
@given(data=st.data())
def test_every_region_holds_exactly_the_live_dots_of_its_history(
    profile: str, data: st.DataObject
) -> None:
    s = run(data, profile)
    for final in (False, True):
        if final:
            s.deliver_all(data.draw)
        for name, ks in s.regions.items():
            oracle = sim.Oracle(s.batches[i] for i in sorted(s.applied[name]))
            for dbi, key in sim.all_keys():
                db = ks.dbs[dbi]
                e = db.entries.get(key)
                where = (name, dbi, key)
                assert sim.str_state(e.string if e else None) == oracle.string(dbi, key), where
                assert sim.set_state(e.part(SET) if e else None) == oracle.set(dbi, key), where
                assert sim.map_state(e.part(HASH) if e else None) == oracle.hash(dbi, key), where
                held = tuple(sorted((e.expire or []) if e else db.orphan_expiry.get(key, [])))
                assert held == oracle.expire(dbi, key), where
                if e is None:
                    assert key not in db.expires
                else:
                    assert_compact(e, where)
            for now in (s.time, s.time + 60):
                assert sim.visible_state(ks, now) == sim.expected_visible(oracle, now), name


def assert_compact(e: Entry, where: object) -> None:
    """A plain string (maybe with expire entries) keeps nothing but its own slots: the
    EntryExtra object exists only while something needs it."""
    x = e.x
    if type(x) is EntryExtra:
        needed = x.more is not None or x.contribs or x.other is not None
        assert needed, where
        assert all(not c.is_empty() for c in e.others()), where
    elif x is OWN_NEVER:  # stands for the winning assignment's own "never" (oracle-checked)
        assert e.val is not None, where
    else:
        assert x is None or (type(x) is list and x), where


# -- state merge (catch-up by snapshot) equals op replay --------------------------------------
def _contents(ks: Keyspace, dbi: int, key: bytes) -> tuple:  # type: ignore[type-arg]
    e = ks.dbs[dbi].entries.get(key)
    if e is None:
        return StrValue(), ORSet(), ORMap()
    return (sim.deepcopy(e.string) if e.string is not None else StrValue(),
            sim.deepcopy(e.part(SET)) if e.part(SET) is not None else ORSet(),
            sim.deepcopy(e.part(HASH)) if e.part(HASH) is not None else ORMap())


def _states(parts: tuple) -> tuple:  # type: ignore[type-arg]
    sv, os_, om = parts
    return (sim.str_state(sv if not sv.is_empty() else None),
            sim.set_state(os_ if not os_.is_empty() else None),
            sim.map_state(om if not om.is_empty() else None))


@SETTINGS
@given(data=st.data())
def test_merging_full_states_equals_applying_all_ops(data: st.DataObject) -> None:
    s = run(data, "all", max_steps=50)
    names = sorted(s.regions)
    # merge the regions' states one by one into the first, as a snapshot catch-up would
    acc_vv = dict(s.regions[names[0]].vv)
    acc = {k: _contents(s.regions[names[0]], *k) for k in sim.all_keys()}
    seen = set(s.applied[names[0]])
    for other in names[1:]:
        ks = s.regions[other]
        for k in sim.all_keys():
            mine, theirs = acc[k], _contents(ks, *k)
            for m, t in zip(mine, theirs, strict=True):
                m.merge_from(t, acc_vv, ks.vv)
        vv_merge(acc_vv, ks.vv)
        seen |= s.applied[other]
        union = sim.replay(s.batches, sorted(seen))
        for k in sim.all_keys():
            assert _states(acc[k]) == _states(_contents(union, *k)), (other, k)


# -- state that arrives whole keeps the indexes that effects keep ----------------------------
def _records(ks: Keyspace) -> list:  # type: ignore[type-arg]
    return [msgpack.unpackb(r, raw=False, strict_map_key=False) for r in state.dump(ks)]


def _collect_all(ks: Keyspace) -> None:
    ks.stable.clear()
    ks.stable.update(ks.vv)  # every region has observed everything
    ks.collect(10**6)


@SETTINGS
@given(data=st.data())
def test_a_restored_or_merged_state_is_indexed_and_collected_as_the_effects_left_it(
    data: st.DataObject,
) -> None:
    s = run(data, "all", max_steps=40)
    for name, ks in s.regions.items():
        restored = sim.new_region(name)
        state.restore(restored, _records(ks))
        merged = sim.new_region("newcomer")  # had nothing: catches up by merging ks's state
        state.merge(merged, _records(ks))
        for other in (restored, merged):
            assert sim.internal_state(other) == sim.internal_state(ks), name
        for other in (ks, restored, merged):
            _collect_all(other)
        assert sim.internal_state(restored) == sim.internal_state(ks), name
        assert sim.internal_state(merged) == sim.internal_state(ks), name
