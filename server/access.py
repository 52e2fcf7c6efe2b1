"""Per-key access statistics of this region (Redis's ``robj->lru``): OBJECT IDLETIME and FREQ.

Each entry's ``access`` slot holds one int, as Redis's 24-bit field does: with an LFU
``maxmemory-policy`` the last decrement time in minutes (16 bits) and a logarithmic counter
(8 bits, evict.c's LFULogIncr with the lfu-log-factor and lfu-decay-time options), otherwise the
last access time in seconds. Reads (``common.lookup``, TOUCH) and every applied write touch
the key; OBJECT, TYPE and TTL do not (Redis's LOOKUP_NOTOUCH). Statistics are local: never
logged, replicated or snapshotted. Switching policy at run time reinterprets the field, as
Redis does.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from server.app import Server

LFU_INIT_VAL = 5


LRU_CLOCK_MAX = (1 << 24) - 1


def _minutes(now_ms: int) -> int:
    return (now_ms // 60000) & 65535


def _lru_clock(now_ms: int) -> int:
    """LRU_CLOCK(): seconds, in the 24 bits of the field."""
    return (now_ms // 1000) & LRU_CLOCK_MAX


class AccessStats:
    def __init__(self, server: Server) -> None:
        self.server = server
        # Keys touched in the same second (LFU: the same minute and counter) share one int
        # object: the per-key cost stays the entry's one slot, not an int object per key.
        self._shared: dict[int, int] = {}
        # The LRU field of the last ``now_ms`` seen (a write or read per ms needs no arithmetic).
        self._lru_ms = -1
        self._lru_field = 0

    def _share(self, value: int) -> int:
        shared = self._shared
        if len(shared) > 4096:
            shared.clear()
        return shared.setdefault(value, value)

    @property
    def lfu(self) -> bool:
        return "lfu" in self.server.config.maxmemory_policy

    def _now_ms(self) -> int:
        return self.server.ks.now_ms

    def _fresh(self) -> int:
        """The field of a new object (createObject)."""
        if "lfu" in self.server.config.maxmemory_policy:
            return self._share((_minutes(self._now_ms()) << 8) | LFU_INIT_VAL)
        return self._lru_now()

    def _lru_now(self) -> int:
        """The LRU field for now (computed once per millisecond, shared by the keys)."""
        now = self.server.ks.now_ms
        if now != self._lru_ms:
            self._lru_ms = now
            self._lru_field = self._share(_lru_clock(now))
        return self._lru_field

    def touch(self, entry: Any) -> None:
        """An access (lookupKey): LFU update, or the access time."""
        if "lfu" not in self.server.config.maxmemory_policy:
            entry.access = self._lru_now()
            return
        counter = self.frequency(entry)
        if counter < 255:
            base = max(counter - LFU_INIT_VAL, 0)
            if random.random() < 1.0 / (base * self.server.config.lfu_log_factor + 1):
                counter += 1
        entry.access = self._share((_minutes(self._now_ms()) << 8) | counter)

    def written(self, db: int, key: bytes) -> None:
        """After an applied write (local or replicated): a new key starts fresh, an existing
        one is touched as lookupKeyWrite does."""
        server = self.server
        entry = server.ks.dbs[db].find(key)
        if entry is None:
            return
        if "lfu" not in server.config.maxmemory_policy:  # fresh or touched: the time alike
            entry.access = self._lru_now()
            return
        try:
            entry.access  # noqa: B018
        except AttributeError:
            entry.access = self._fresh()
            return
        self.touch(entry)

    def _field(self, entry: Any) -> int:
        try:
            value: int = entry.access
        except AttributeError:
            value = entry.access = self._fresh()
        return value

    def frequency(self, entry: Any) -> int:
        """LFUDecrAndReturn: the counter after the decay of the minutes since its time."""
        field = self._field(entry)
        ldt, counter = (field >> 8) & 65535, field & 255
        now = _minutes(self._now_ms())
        elapsed = now - ldt if now >= ldt else 65535 - ldt + now
        decay = self.server.config.lfu_decay_time
        periods = elapsed // decay if decay else 0
        return max(counter - periods, 0)

    def idle_seconds(self, entry: Any) -> int:
        """estimateObjectIdleTime, in seconds (the clock wraps at 24 bits)."""
        now, field = _lru_clock(self._now_ms()), self._field(entry) & LRU_CLOCK_MAX
        return now - field if now >= field else now + LRU_CLOCK_MAX - field

    def restored(self, db: int, key: bytes, idle: int, freq: int) -> None:
        """RESTORE ... IDLETIME / FREQ (objectSetLRUOrLFU); the one that does not apply to
        the current policy is ignored, as in Redis."""
        entry = self.server.ks.dbs[db].find(key)
        if entry is None:
            return
        if self.lfu:
            if freq >= 0:
                entry.access = (_minutes(self._now_ms()) << 8) | freq
        elif idle >= 0:
            absolute = _lru_clock(self._now_ms()) - idle
            if absolute < 0:  # the wrapping clock, as objectSetLRUOrLFU unwraps it
                absolute += LRU_CLOCK_MAX
            entry.access = absolute & LRU_CLOCK_MAX
