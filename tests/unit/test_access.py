"""Access statistics (server/access.py) as Redis's evict.c defines them: a new key's LFU
counter is 5, it decays by one per minute idle (lfu-decay-time 1), grows logarithmically
(lfu-log-factor 10: about a hundred hits to pass 10) and saturates at 255; idle time is
seconds since the last access, on the 24-bit LRU clock."""

from __future__ import annotations

import random
from types import SimpleNamespace
from typing import Any

from crdt.entry import Entry
from crdt.keyspace import Keyspace
from server.access import LFU_INIT_VAL, LRU_CLOCK_MAX, AccessStats
from server.config import Config


def _stats(policy: str, now_ms: int) -> tuple[AccessStats, Any]:
    """A real keyspace and configuration (access.py is compiled: it takes nothing else) on a
    server stand-in holding just those two; the keyspace's clock is set by hand."""
    config = Config(maxmemory_policy=policy, lfu_log_factor=10, lfu_decay_time=1)
    ks = Keyspace("r1", 1)
    ks.now_ms = now_ms
    server: Any = SimpleNamespace(config=config, ks=ks)
    return AccessStats(server), server


def test_lfu_new_key_starts_at_init_value_and_decays_per_minute() -> None:
    stats, server = _stats("allkeys-lfu", 10 * 60_000)
    entry = Entry()
    server.ks.dbs[0].entries[b"k"] = entry
    stats.written(0, b"k")
    assert stats.frequency(entry) == LFU_INIT_VAL
    server.ks.now_ms += 3 * 60_000
    assert stats.frequency(entry) == LFU_INIT_VAL - 3
    server.ks.now_ms += 60 * 60_000
    assert stats.frequency(entry) == 0


def test_lfu_counter_grows_logarithmically_and_saturates() -> None:
    random.seed(1)
    stats, _ = _stats("volatile-lfu", 0)
    entry = Entry()
    for _ in range(100):
        stats.touch(entry)
    after_100 = stats.frequency(entry)
    assert 8 <= after_100 <= 14
    for _ in range(20_000):
        stats.touch(entry)
    assert after_100 < stats.frequency(entry) <= 255


def test_lru_idle_time_and_restore_idletime() -> None:
    stats, server = _stats("noeviction", 1_000_000_000)
    entry = Entry()
    server.ks.dbs[0].entries[b"k"] = entry
    stats.written(0, b"k")
    server.ks.now_ms += 42_000
    assert stats.idle_seconds(entry) == 42
    stats.touch(entry)
    assert stats.idle_seconds(entry) == 0
    stats.restored(0, b"k", idle=1000, freq=-1)
    assert stats.idle_seconds(entry) == 1000
    # the clock wraps at 24 bits; across the wrap estimateObjectIdleTime computes
    # clock + (LRU_CLOCK_MAX - lru), one second short of the elapsed time, and so do we
    server.ks.now_ms = (LRU_CLOCK_MAX - 4) * 1000
    stats.touch(entry)
    server.ks.now_ms += 10_000
    assert stats.idle_seconds(entry) == 9
