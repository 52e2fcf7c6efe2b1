"""server/memory.py's measure and server/eviction.py's LFU counter, in-process."""

from __future__ import annotations

import sys

from crdt.entry import Entry
from crdt.keyspace import Keyspace
from crdt.types.strings import Assign
from replication.sink import RecordingSink
from server.access import LFU_INIT_VAL
from server.app import Server
from server.config import Config
from server.eviction import _KeySample
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


def test_lfu_options_drive_the_counter() -> None:
    """lfu-log-factor and lfu-decay-time (Redis's options) in server/access.py's counter."""
    server = Server(Config(region="r", maxmemory_policy="allkeys-lfu", lfu_log_factor=0),
                    sink=RecordingSink())
    server.ks.now_ms = 0
    entry = Entry()
    for _ in range(20):
        server.access.touch(entry)
    assert server.access.frequency(entry) == LFU_INIT_VAL + 20  # factor 0: every access counts
    server.ks.now_ms = 3 * 60_000
    assert server.access.frequency(entry) == LFU_INIT_VAL + 17  # one step per idle minute
    server.config.lfu_decay_time = 0
    assert server.access.frequency(entry) == LFU_INIT_VAL + 20  # 0: no decay
    server.config.lfu_log_factor = 10
    for _ in range(1000):
        server.access.touch(entry)
    assert server.access.frequency(entry) < LFU_INIT_VAL + 20 + 40  # logarithmic, not 1000


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
