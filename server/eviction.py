"""``maxmemory-policy``: which keys go when the keyspace is over ``maxmemory``.

As Redis's ``evict.c``, approximately: each eviction samples ``maxmemory-samples`` keys of
every database (all keys, or only keys with a TTL for the ``volatile-*`` policies) and evicts
the best candidate of the sample — the one idle longest (``lru``), used least often (``lfu``:
Redis's 8-bit logarithmic counter, decayed one step per idle minute), expiring soonest
(``ttl``), or any (``random``). ``noeviction`` evicts nothing.

An eviction is a local decision replicated as an observed-remove delete (SEMANTICS "Memory
limits"): the key's content as this region had observed it goes everywhere, while writes made
concurrently in other regions survive (add-wins), so all regions converge. Evicted keys count
in ``INFO stats`` ``evicted_keys``.

Sampling needs random access to keys, which a dict lacks: each database keeps a list snapshot
of its keys (for all keys and for keys with a TTL), rebuilt when the dict's size has drifted
by an eighth from it or when a sample comes up short because too many picks were keys gone
since (those are skipped). Access times (LRU) and counters (LFU) are kept
per key only while an ``lru``/``lfu`` policy is set, updated by each command's keys and by
writes that arrive from peers.
"""

from __future__ import annotations

import math
import random
import sys
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING

from crdt.effects import Delete

if TYPE_CHECKING:
    from server.app import Server
    from server.memory import Memory

LFU_INIT_VAL = 5  # Redis's: a new key's counter, so it is not evicted at once
EVICT_BUDGET_S = 0.005  # per check; the 100 ms tick carries on if still over
# One access record beyond its dict slot: the (db, key) tuple, the (time, counter) tuple, the time.
ACCESS_RECORD_SIZE = 2 * sys.getsizeof((0, 0)) + sys.getsizeof(1 << 40)


class _KeySample:
    """Random keys of a dict, through a list snapshot of its keys."""

    __slots__ = ("keys",)

    def __init__(self) -> None:
        self.keys: list[bytes] = []

    def pick(self, source: Mapping[bytes, object], count: int) -> list[bytes]:
        n = len(source)
        if not n:
            return []
        if abs(len(self.keys) - n) > n // 8 + 8 or not self.keys:
            self.keys = list(source)
        out = self._pick(source, count)
        if len(out) < count and len(out) < n:  # many picks were keys gone since: start afresh
            self.keys = list(source)
            out = self._pick(source, count)
        return out

    def _pick(self, source: Mapping[bytes, object], count: int) -> list[bytes]:
        keys = self.keys
        out: list[bytes] = []
        for _ in range(count * 2):
            key = keys[random.randrange(len(keys))]
            if key in source and key not in out:
                out.append(key)
                if len(out) == count:
                    break
        return out


class Evictor:
    def __init__(self, server: Server, memory: Memory) -> None:
        self.server = server
        self.memory = memory
        self.ks = server.ks
        self.policy = "noeviction"
        self.tracks_access = False
        self._access: dict[tuple[int, bytes], tuple[int, int]] = {}  # (lru ms, lfu counter)
        self._samples = [(_KeySample(), _KeySample()) for _ in self.ks.dbs]

    def configure(self) -> None:
        cfg = self.server.config
        self.policy = cfg.maxmemory_policy if cfg.maxmemory > 0 else "noeviction"
        tracks = self.policy.endswith(("-lru", "-lfu"))
        if tracks and not self.tracks_access:
            self.recount()
        elif not tracks:
            self._access.clear()
        self.tracks_access = tracks

    def recount(self) -> None:
        """Every key gets an access record now (policies switched, or the keyspace reloaded)."""
        if not self.server.config.maxmemory_policy.endswith(("-lru", "-lfu")):
            return
        now = self.ks.now_ms
        self._access = {(dbi, key): (now, LFU_INIT_VAL)
                        for dbi, db in enumerate(self.ks.dbs) for key in db.entries}

    def sample(self, dbi: int, count: int) -> list[bytes]:
        """Up to ``count`` random keys of database ``dbi``."""
        return self._samples[dbi][0].pick(self.ks.dbs[dbi].entries, count)

    def bookkeeping(self) -> int:
        """Bytes of the access records and key samples (counted in used_memory's overhead)."""
        n = len(self._access)
        size = sys.getsizeof(self._access) + n * ACCESS_RECORD_SIZE if n else 0
        return size + sum(sys.getsizeof(s.keys) for pair in self._samples for s in pair)

    # -- access tracking --------------------------------------------------------------------
    def touch(self, db: int, keys: list[bytes]) -> None:
        now = self.ks.now_ms
        access = self._access
        if self.policy.endswith("-lru"):
            record = (now, LFU_INIT_VAL)
            for key in keys:
                access[(db, key)] = record
            return
        cfg = self.server.config
        for key in keys:
            old = access.get((db, key))
            counter = (_lfu_decay(old, now, cfg.lfu_decay_time) if old is not None
                       else LFU_INIT_VAL)
            access[(db, key)] = (now, _lfu_incr(counter, cfg.lfu_log_factor))

    def on_change(self, db: int, key: bytes | None) -> None:
        if not self.tracks_access:
            return
        if key is None:
            self.recount()
        elif (db, key) not in self._access:
            self._access[(db, key)] = (self.ks.now_ms, LFU_INIT_VAL)

    # -- eviction ---------------------------------------------------------------------------
    def evict(self, limit: int) -> bool:
        """Evict until ``used_memory`` <= ``limit`` or the time budget is spent. True unless
        nothing could be evicted while still over (Redis's EVICT_FAIL is False)."""
        if self.policy == "noeviction":
            return False
        memory, ks, server = self.memory, self.ks, self.server
        deadline = time.monotonic() + EVICT_BUDGET_S
        evicted = 0
        while memory.used() > limit:
            victim = self._choose()
            if victim is None:
                break
            dbi, key = victim
            ks.emit(Delete(dbi, key))
            self._access.pop(victim, None)
            evicted += 1
            if evicted % 16 == 0 and time.monotonic() > deadline:
                break
        if evicted:
            server.stats.evicted_keys += evicted
            batch = ks.commit()
            if batch is not None:
                server.ship(batch)
        return evicted > 0 or memory.used() <= limit

    def _choose(self) -> tuple[int, bytes] | None:
        policy = self.policy
        volatile = policy.startswith("volatile-")
        samples = self.server.config.maxmemory_samples
        now = self.ks.now_ms
        best: tuple[int, bytes] | None = None
        best_score = -math.inf
        dbs = list(enumerate(self.ks.dbs))
        if policy.endswith("-random"):
            random.shuffle(dbs)
        for dbi, database in dbs:
            source = database.expires if volatile else database.entries
            if not source:
                continue
            sampler = self._samples[dbi][1 if volatile else 0]
            for key in sampler.pick(source, 1 if policy.endswith("-random") else samples):
                score = self._score(dbi, key, database.expires.get(key), now)
                if score > best_score:
                    best, best_score = (dbi, key), score
            if best is not None and policy.endswith("-random"):
                return best
        return best

    def _score(self, dbi: int, key: bytes, expire_at: int | None, now: int) -> float:
        """Higher is a better victim."""
        policy = self.policy
        if policy.endswith("-ttl"):
            return -float(expire_at if expire_at is not None else math.inf)
        if policy.endswith("-random"):
            return 0.0
        record = self._access.get((dbi, key))
        if record is None:
            return math.inf  # never seen since tracking began: the oldest there is
        if policy.endswith("-lru"):
            return float(now - record[0])
        return float(255 - _lfu_decay(record, now, self.server.config.lfu_decay_time))


def _lfu_decay(record: tuple[int, int], now_ms: int, decay_minutes: int) -> int:
    """Redis's LFUDecrAndReturn: the counter less one per ``lfu-decay-time`` idle minutes."""
    last, counter = record
    periods = (now_ms - last) // 60_000 // decay_minutes if decay_minutes else 0
    return max(0, counter - periods)


def _lfu_incr(counter: int, log_factor: int) -> int:
    """Redis's LFULogIncr: ever less likely to grow as it grows (``lfu-log-factor``)."""
    if counter >= 255:
        return 255
    base = max(0, counter - LFU_INIT_VAL)
    return counter + 1 if random.random() < 1.0 / (base * log_factor + 1) else counter
