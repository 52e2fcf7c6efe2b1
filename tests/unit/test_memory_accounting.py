"""server/memory.py's measure and server/eviction.py's LFU counter, in-process."""

from __future__ import annotations

import sys

from crdt.keyspace import Keyspace
from crdt.types.strings import Assign
from server.eviction import LFU_INIT_VAL, _KeySample, _lfu_decay, _lfu_incr
from server.memory import FULL_WALK, deep_size, key_size


def _ks() -> Keyspace:
    ks = Keyspace("r", 16)
    ks.now_ms = 1
    return ks


def test_a_string_key_costs_its_name_value_and_entry() -> None:
    ks = _ks()
    ks.emit(Assign(0, b"key", b"v" * 1000))
    ks.commit()
    db = ks.dbs[0]
    entry = db.entries[b"key"]
    size = key_size(db, b"key", entry)
    assert size == sys.getsizeof(b"key") + deep_size(entry, set())  # the fast path = the walk
    assert 1000 + sys.getsizeof(b"key") < size < 1300


def test_big_containers_are_sampled_and_scaled() -> None:
    small = {i: (b"%05d" % i) * 20 for i in range(FULL_WALK)}  # distinct 100-byte values
    big = {i: (b"%05d" % i) * 20 for i in range(100 * FULL_WALK)}
    per_item_small = (deep_size(small, set()) - sys.getsizeof(small)) / len(small)
    per_item_big = (deep_size(big, set()) - sys.getsizeof(big)) / len(big)
    assert abs(per_item_small - per_item_big) < 2  # same items: the same cost per item
    nested = [[(b"%05d" % i) * 10] for i in range(1000)]
    expected = sys.getsizeof(nested) + sum(sys.getsizeof(x) + sys.getsizeof(x[0]) for x in nested)
    assert abs(deep_size(nested, set()) - expected) < expected * 0.05


def test_shared_and_interned_objects_are_not_counted_per_reference() -> None:
    shared = b"s" * 500
    both = [shared, shared]
    assert deep_size(both, set()) == sys.getsizeof(both) + sys.getsizeof(shared)
    assert deep_size("region-name", set()) == 0  # region names are shared by every entry


def test_lfu_counter_is_logarithmic_and_decays() -> None:
    assert _lfu_incr(LFU_INIT_VAL, 0) == LFU_INIT_VAL + 1  # log factor 0: every access counts
    assert _lfu_incr(255, 0) == 255
    counter = LFU_INIT_VAL
    for _ in range(1000):
        counter = _lfu_incr(counter, 10)
    assert LFU_INIT_VAL + 5 <= counter <= LFU_INIT_VAL + 40  # ~log of 1000 accesses, not 1000
    assert _lfu_decay((0, 10), 3 * 60_000, 1) == 7  # one step per idle minute
    assert _lfu_decay((0, 10), 3 * 60_000, 2) == 9
    assert _lfu_decay((0, 10), 30 * 60_000, 1) == 0
    assert _lfu_decay((0, 10), 30 * 60_000, 0) == 10  # lfu-decay-time 0: no decay


def test_key_sample_skips_keys_gone_and_sees_new_ones() -> None:
    source = {f"k{i}".encode(): None for i in range(100)}
    sample = _KeySample()
    assert len(sample.pick(source, 10)) == 10
    for i in range(95):
        del source[f"k{i}".encode()]
    for i in range(100, 195):
        source[f"k{i}".encode()] = None
    picked = sample.pick(source, 10)
    assert len(picked) == 10 and all(k in source for k in picked)
    assert len(sample.pick({b"only": None}, 5)) == 1
    assert sample.pick({}, 5) == []
