"""``used_memory``: an accounting of what the keyspace holds, and ``maxmemory``'s OOM check.

Redis counts every byte it allocates (zmalloc). Python cannot, so ``used_memory`` is an
accounting of the keyspace: per key, the key's bytes plus its entry walked object by object
(``sys.getsizeof`` of each object reachable from it: values, CRDT metadata, tombstones, type
shadows, expire entries), plus the databases' own hash tables. Containers of more than
``FULL_WALK`` items are measured on a sample of ``SAMPLE`` items and scaled to their length,
so a change to a big hash costs O(sample), not O(fields). Strings (region names, shared by
every entry) and the access statistics (ints shared by many keys) are not counted per key. Client buffers, the op log's
buffers and the interpreter itself are not in ``used_memory`` (``used_memory_rss`` is the
process's resident size): client buffers have their own limits (client-output-buffer-limit,
client-query-buffer-limit). The test ``tests/security/test_maxmemory.py`` checks the
accounting against the process's RSS growth.

With ``maxmemory`` set the accounting is kept exactly (every change of a key marks it dirty;
dirty keys are re-measured before the next check; so are keys packed at rest by
``crdt/packing.py``, which reports them). Without it, ``INFO`` estimates
``used_memory`` from a sample of keys per database, so the write path pays nothing.

Before each command (``before_command``), as Redis's ``processCommand``: over ``maxmemory``,
the eviction policy frees keys first (``server/eviction.py``); if it cannot get below the
limit, a command flagged ``denyoom`` is refused with ``-OOM``, and so is every command sent
inside MULTI except EXEC/DISCARD/QUIT/RESET, and EXEC of a transaction that queued a
``denyoom`` command (``-EXECABORT ... because of: OOM ...``). Replicated batches are never refused (SEMANTICS "Memory limits"): a region can sit
above ``maxmemory`` because of them, which INFO shows (used_memory > maxmemory).
"""

from __future__ import annotations

import sys
import time
from itertools import islice
from typing import TYPE_CHECKING, Any

from server import errors
from server.eviction import Evictor
from server.resp import Error

if TYPE_CHECKING:
    from crdt.entry import Database, Entry
    from server.app import Server
    from server.commands.registry import Command
    from server.connection import Client

FULL_WALK = 32  # containers up to this many items are walked in full
SAMPLE = 16  # bigger ones: this many items, scaled to the container's length
KEYS_SAMPLE = 64  # keys per database for the estimate without maxmemory
INT_SIZE = sys.getsizeof(1 << 40)  # a per-key size, an access time
OVERHEAD_EVERY = 256  # used() measures the tables (~100 getsizeof calls) once per this many

_getsizeof = sys.getsizeof
_NUMBERS = (int, float)  # counted per reference: they are rarely shared (small ints are)
_NOT_COUNTED = (str, bool, type(None), type)
# Slots not walked: an entry's access statistics are ints shared by many keys (server/access.py).
_NOT_WALKED = frozenset({"access"})
_SEQUENCES = (list, tuple, set, frozenset)
_slots_cache: dict[type, tuple[str, ...]] = {}

OOM = Error(errors.OOM)
OOM_EXEC = Error(errors.EXECABORT_BECAUSE % errors.OOM)
ALWAYS_IN_MULTI = frozenset({"exec", "discard", "quit", "reset"})


def attribute_names(t: type) -> tuple[str, ...]:
    """The per-object fields of instances of ``t``: its classes' ``__slots__``, or for a
    mypyc-compiled class its ``__mypyc_attrs__`` (where ``type_name``, a class constant, is
    listed too and left out here)."""
    found: list[str] = []
    for cls in t.__mro__:
        slots = cls.__dict__.get("__slots__") or cls.__dict__.get("__mypyc_attrs__", ())
        found.extend([slots] if isinstance(slots, str) else slots)
    return tuple(n for n in dict.fromkeys(found) if n not in ("__dict__", "__weakref__", "type_name"))


def _slots(t: type) -> tuple[str, ...]:
    names = _slots_cache.get(t)
    if names is None:
        names = _slots_cache[t] = tuple(n for n in attribute_names(t) if n not in _NOT_WALKED)
    return names


def deep_size(obj: Any, seen: set[int]) -> int:
    """Bytes held by ``obj`` and what it references (each object once, per ``seen``)."""
    t = type(obj)
    if t in _NUMBERS:
        return _getsizeof(obj)
    if t in _NOT_COUNTED:
        return 0
    oid = id(obj)
    if oid in seen:
        return 0
    seen.add(oid)
    size = _getsizeof(obj)
    if t is bytes or t is bytearray:
        return size
    if t is dict:
        n = len(obj)
        if n <= FULL_WALK:
            for k, v in obj.items():
                size += deep_size(k, seen) + deep_size(v, seen)
        else:
            part = sum(deep_size(k, seen) + deep_size(v, seen) for k, v in islice(obj.items(), SAMPLE))
            size += part * n // SAMPLE
    elif t in _SEQUENCES:
        n = len(obj)
        if n <= FULL_WALK:
            for item in obj:
                size += deep_size(item, seen)
        else:
            size += sum(deep_size(item, seen) for item in islice(obj, SAMPLE)) * n // SAMPLE
    else:
        for name in _slots(t):
            size += deep_size(getattr(obj, name, None), seen)
        d = getattr(obj, "__dict__", None)
        if d is not None:
            size += deep_size(d, seen)
    return size


def key_size(database: Database, key: bytes, entry: Entry | bytes) -> int:
    """What one key costs: its name, its entry (as stored: a cold string is one bytes object,
    crdt/entry.py's ``freeze``), its expire time."""
    if isinstance(entry, bytes):
        return _getsizeof(key) + _getsizeof(entry)  # (a cold string has no expire time)
    if entry.x is None and type(entry.val) is bytes and type(entry.stamp) is int:
        # the common case, a plain string (crdt/entry.py: the entry is its string content),
        # measured as deep_size would, without the walk
        size = _getsizeof(key) + _getsizeof(entry) + _getsizeof(entry.stamp) + _getsizeof(entry.val)
    else:
        size = _getsizeof(key) + deep_size(entry, set())
    at = database.expires.get(key)
    if at is not None:
        size += _getsizeof(at)
    return size


def tables_size(database: Database) -> int:
    return (_getsizeof(database.entries) + _getsizeof(database.expires)
            + _getsizeof(database.orphan_expiry) + _getsizeof(database.gc_pending))


class Memory:
    """The keyspace's memory accounting and the maxmemory check of one server."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.ks = server.ks
        self.tracking = False
        self.limited = False  # maxmemory is set: before_command runs for every command
        # INFO stats' total/current_eviction_exceeded_time: since when used_memory has stayed
        # over maxmemory after evicting (None: not over), and the seconds of the past spells
        self.exceeded_since: float | None = None
        self.exceeded_total = 0.0
        self._sizes: list[dict[bytes, int]] = [{} for _ in self.ks.dbs]
        self._dirty: set[tuple[int, bytes]] = set()
        self._dirty_dbs: set[int] = set()
        self.dataset = 0
        self._overhead = 0
        self._overhead_age = OVERHEAD_EVERY  # measured again at the next used()
        self.startup = sum(tables_size(db) for db in self.ks.dbs)
        self.peak = self.startup
        self.denyoom = frozenset(_denyoom_names(server.table))
        self.evictor = Evictor(server, self)
        self.configure()

    # -- configuration ----------------------------------------------------------------------
    def configure(self, config_set: bool = False) -> None:
        """At start and after CONFIG SET maxmemory / maxmemory-policy."""
        limit = self.server.config.maxmemory
        if 0 < limit < 1024**2 and not config_set:
            self.server.log.warning(
                "WARNING: You specified a maxmemory value that is less than 1MB (current value "
                "is %d bytes). Are you sure this is what you really want?", limit)
        self.limited = limit > 0
        if self.limited and not self.tracking:
            self.tracking = True
            self.recount()
        elif not self.limited and self.tracking:
            self.tracking = False
            self._sizes = [{} for _ in self.ks.dbs]
            self._dirty.clear()
            self._dirty_dbs.clear()
            self.dataset = 0
        self.evictor.configure()
        if config_set and self.limited and self.used() > limit:
            self.server.log.warning(
                "WARNING: the new maxmemory value set via CONFIG SET (%d) is smaller than the "
                "current memory usage (%d). This will result in key eviction and/or the inability "
                "to accept new write commands depending on the maxmemory-policy.", limit, self.used())

    # -- accounting -------------------------------------------------------------------------
    def on_change(self, db: int, key: bytes | None) -> None:
        """The keyspace changed ``key`` (None: a whole database; db -1: all of them)."""
        if not self.tracking:
            return
        if key is None:
            self._dirty_dbs.update(range(len(self.ks.dbs)) if db < 0 else (db,))
        else:
            self._dirty.add((db, key))

    def recount(self) -> None:
        """Measure every key again (start of tracking, after recovery)."""
        self._overhead_age = OVERHEAD_EVERY
        self._dirty.clear()
        self._dirty_dbs.clear()
        self.dataset = 0
        for dbi, database in enumerate(self.ks.dbs):
            sizes = self._sizes[dbi] = {}
            for key, entry in database.entries.items():
                size = sizes[key] = key_size(database, key, entry)
                self.dataset += size

    def _settle(self) -> None:
        dbs = self.ks.dbs
        if self._dirty_dbs:
            for dbi in self._dirty_dbs:
                sizes, database = self._sizes[dbi], dbs[dbi]
                self.dataset -= sum(sizes.values())
                sizes = self._sizes[dbi] = {k: key_size(database, k, e) for k, e in database.entries.items()}
                self.dataset += sum(sizes.values())
            self._dirty_dbs.clear()
        if self._dirty:
            for dbi, key in self._dirty:
                sizes, database = self._sizes[dbi], dbs[dbi]
                entry = database.entries.get(key)
                new = key_size(database, key, entry) if entry is not None else 0
                old = sizes.pop(key, 0)
                if new:
                    sizes[key] = new
                self.dataset += new - old
            self._dirty.clear()

    def used(self) -> int:
        """``used_memory``: accounted when tracking, else estimated from samples."""
        if self.tracking:
            self._settle()
            self._overhead_age += 1
            if self._overhead_age >= OVERHEAD_EVERY:  # tables grow by doubling: rarely stale
                self._overhead, self._overhead_age = self.overhead(), 0
            used = self._overhead + self.dataset
        else:
            used = self.overhead() + self.estimate_dataset()
        self.peak = max(self.peak, used)
        return used

    def estimate_dataset(self) -> int:
        """Without maxmemory: ``KEYS_SAMPLE`` random keys per database, scaled."""
        total = 0
        for dbi, database in enumerate(self.ks.dbs):
            n = len(database.entries)
            if not n:
                continue
            sample = self.evictor.sample(dbi, KEYS_SAMPLE)
            if sample:
                part = sum(key_size(database, k, database.entries[k]) for k in sample)
                total += part * n // len(sample)
        return total

    def overhead(self) -> int:
        """The databases' hash tables (they grow by doubling, so are not per key), and the
        bookkeeping of this accounting and of eviction (per key sizes, key samples)."""
        size = sum(tables_size(db) for db in self.ks.dbs)
        if self.tracking:
            keys = sum(map(len, self._sizes))
            size += sum(map(_getsizeof, self._sizes)) + keys * INT_SIZE
            size += self.evictor.bookkeeping()
        return size

    # -- the check before a command ---------------------------------------------------------
    def before_command(self, client: Client, cmd: Command, argv: list[bytes]) -> Error | None:
        """Evict as the policy says, then refuse the command if it may grow memory while we
        are still over ``maxmemory`` (Redis's processCommand). None: run it."""
        if self.used() <= self.server.config.maxmemory or self.evictor.evict(self.server.config.maxmemory):
            if self.exceeded_since is not None:
                self.exceeded_end()
            return None
        if self.exceeded_since is None:  # still over after evicting (Redis's EVICT_FAIL)
            self.exceeded_since = time.monotonic()
        name = cmd.name
        if client.multi is not None and name not in ALWAYS_IN_MULTI:
            return OOM
        if name in self.denyoom:
            return OOM
        if name == "exec" and client.multi is not None and any(
                queued.name in self.denyoom for queued, _ in client.multi):
            return OOM_EXEC
        return None

    def out_of_memory(self) -> bool:
        """Over ``maxmemory`` even after evicting what the policy allows (Redis's
        ``pre_command_oom_state``, which scripts consult)."""
        limit = self.server.config.maxmemory
        if not limit or self.used() <= limit:
            return False
        return not self.evictor.evict(limit)

    def tick(self) -> None:
        """Every 100 ms: keep evicting if replicated writes put us over the limit."""
        if self.limited and self.evictor.policy != "noeviction":
            limit = self.server.config.maxmemory
            if self.used() > limit:
                self.evictor.evict(limit)
        if self.exceeded_since is not None and (not self.limited or self.used() <= self.server.config.maxmemory):
            self.exceeded_end()

    def exceeded_end(self) -> None:
        if self.exceeded_since is not None:
            self.exceeded_total += time.monotonic() - self.exceeded_since
            self.exceeded_since = None

    def exceeded_ms(self) -> tuple[int, int]:
        """(total, current) milliseconds over maxmemory after evicting (INFO stats)."""
        current = time.monotonic() - self.exceeded_since if self.exceeded_since is not None else 0.0
        return int((self.exceeded_total + current) * 1000), int(current * 1000)


def _denyoom_names(table: dict[bytes, Any]) -> list[str]:
    names = []
    for cmd in table.values():
        for c in [cmd, *cmd.subcommands.values()]:
            if "denyoom" in c.spec.flags:
                names.append(c.name)
    return names
