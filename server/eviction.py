"""``maxmemory-policy``: which keys go when the keyspace is over ``maxmemory``.

As Redis's ``evict.c``, approximately: each eviction samples ``maxmemory-samples`` keys of
every database (all keys, or only keys with a TTL for the ``volatile-*`` policies) and evicts
the best candidate of the sample — the one idle longest (``lru``), used least often (``lfu``),
expiring soonest (``ttl``), or any (``random``). ``noeviction`` evicts nothing. Idle time and
frequency are the keys' access statistics (``server/access.py``, the ones OBJECT IDLETIME and
OBJECT FREQ show: seconds, and Redis's logarithmic counter), so, as in Redis, keys last used
within the same second are equally idle.

An eviction is a local decision replicated as an observed-remove delete (SEMANTICS "Memory
limits"): the key's content as this region had observed it goes everywhere, while writes made
concurrently in other regions survive (add-wins), so all regions converge. Evicted keys count
in ``INFO stats`` ``evicted_keys``.

Sampling needs random access to keys, which a dict lacks: each database keeps a list snapshot
of its keys (for all keys and for keys with a TTL), rebuilt when the dict's size has drifted
by an eighth from it or when a sample comes up short because too many picks were keys gone
since (those are skipped).
"""

from __future__ import annotations

import math
import random
import sys
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING

from crdt.effects import Delete
from server.keyevents import note_evicted

if TYPE_CHECKING:
    from crdt.entry import Database
    from server.app import Server
    from server.memory import Memory

EVICT_BUDGET_S = 0.005  # per check; the 100 ms tick carries on if still over


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
        self._samples = [(_KeySample(), _KeySample()) for _ in self.ks.dbs]

    def configure(self) -> None:
        cfg = self.server.config
        self.policy = cfg.maxmemory_policy if cfg.maxmemory > 0 else "noeviction"

    def sample(self, dbi: int, count: int) -> list[bytes]:
        """Up to ``count`` random keys of database ``dbi``."""
        return self._samples[dbi][0].pick(self.ks.dbs[dbi].entries, count)

    def bookkeeping(self) -> int:
        """Bytes of the key samples (counted in used_memory's overhead)."""
        return sum(sys.getsizeof(s.keys) for pair in self._samples for s in pair)

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
            note_evicted(server, *victim)
            ks.emit(Delete(*victim))
            evicted += 1
            if evicted % 16 == 0 and time.monotonic() > deadline:
                break
        if evicted:
            server.stats.evicted_keys += evicted
            batch = ks.commit()
            if batch is not None:
                server.ship(batch)
                if batch.events:
                    server.notifier.fire(batch.events)
        return evicted > 0 or memory.used() <= limit

    def _choose(self) -> tuple[int, bytes] | None:
        policy = self.policy
        volatile = policy.startswith("volatile-")
        randomly = policy.endswith("-random")
        samples = 1 if randomly else self.server.config.maxmemory_samples
        best: tuple[int, bytes] | None = None
        best_score = -math.inf
        dbs = list(enumerate(self.ks.dbs))
        if randomly:
            random.shuffle(dbs)
        for dbi, database in dbs:
            source = database.expires if volatile else database.entries
            if not source:
                continue
            for key in self._samples[dbi][1 if volatile else 0].pick(source, samples):
                score = self._score(database, key)
                if score > best_score:
                    best, best_score = (dbi, key), score
            if best is not None and randomly:
                return best
        return best

    def _score(self, database: Database, key: bytes) -> float:
        """Higher is a better victim."""
        policy = self.policy
        if policy.endswith("-ttl"):
            return -float(database.expires.get(key, math.inf))
        if policy.endswith("-random"):
            return 0.0
        entry = database.peek(key)
        access = self.server.access
        if policy.endswith("-lru"):
            return float(access.idle_seconds(entry))
        return float(255 - access.frequency(entry))
