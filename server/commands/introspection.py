"""OBJECT FREQ/IDLETIME/REFCOUNT and MEMORY (Redis's object.c).

Access statistics come from ``server/access.py``. MEMORY USAGE is an honest estimate of what
the key costs in this process: the Python objects of its entry and content (``sys.getsizeof``
of each, objects every key shares such as region names left out), with at most SAMPLES of each
collection measured and the rest extrapolated from their average, as Redis samples; plus the
key and its slot in the database's dict. MEMORY STATS has Redis's fields, filled with this
process's figures; there is no jemalloc here, so MALLOC-STATS says so, as Redis does when
built without it, and PURGE runs the garbage collector.
"""

from __future__ import annotations

import gc
import resource
import sys
from collections.abc import Iterator
from itertools import islice
from typing import TYPE_CHECKING, Any

from crdt.numbers import INT64_MAX, parse_int
from crdt.types.strings import STRING
from server import errors, helptext, info
from server.commands.common import int_arg, lookup
from server.commands.registry import command
from server.memory import attribute_names
from server.resp import OK, Error, Map, Status, Verbatim

if TYPE_CHECKING:
    from server.connection import Client

SHARED_REFCOUNT = 2147483647  # OBJ_SHARED_REFCOUNT: Redis's shared integers 0..9999
DICT_SLOT = 3 * 8  # a dict entry here: hash, key and value pointers
DEFAULT_SAMPLES = 5


def _entry(c: Client, key: bytes) -> Any:
    """objectCommandLookup: the entry without touching it or firing keymiss (LOOKUP_NOTOUCH |
    LOOKUP_NONOTIFY); hits and misses count, a key past its time is reclaimed."""
    return lookup(c, key, touch=False, notify=False)


@command("object|freq")
def cmd_object_freq(c: Client, argv: list[bytes]) -> Any:
    entry = _entry(c, argv[2])
    if entry is None:
        return None
    if not c.server.access.lfu:
        raise Error(errors.OBJECT_NO_LFU)
    return c.server.access.frequency(entry)


@command("object|idletime")
def cmd_object_idletime(c: Client, argv: list[bytes]) -> Any:
    entry = _entry(c, argv[2])
    if entry is None:
        return None
    if c.server.access.lfu:
        raise Error(errors.OBJECT_LFU)
    return c.server.access.idle_seconds(entry)


@command("object|refcount")
def cmd_object_refcount(c: Client, argv: list[bytes]) -> Any:
    entry = _entry(c, argv[2])
    if entry is None:
        return None
    if entry.kind == STRING:
        v = parse_int(entry.value())
        if v is not None and 0 <= v < 10000 and "lru" not in c.server.config.maxmemory_policy \
                and "lfu" not in c.server.config.maxmemory_policy:
            return SHARED_REFCOUNT
    return 1


# -- MEMORY ---------------------------------------------------------------------------------


def _size(obj: Any, samples: int, seen: set[int]) -> float:
    """Bytes of ``obj`` and what it references, each object once; a collection with more
    than ``samples`` items is measured on its first ``samples`` (taken lazily: O(samples),
    as Redis's objectComputeSize) and extrapolated to all of them."""
    if id(obj) in seen or obj is None or isinstance(obj, (str, bool)) or (
            type(obj) is int and -5 <= obj <= 256):
        return 0  # shared by many keys (region names, small ints), not this key's cost
    seen.add(id(obj))
    total: float = sys.getsizeof(obj)
    if isinstance(obj, (bytes, int, float)):
        return total
    if isinstance(obj, dict):
        n = len(obj) * 2
        items: Iterator[Any] = (x for kv in obj.items() for x in kv)
    elif isinstance(obj, (list, tuple, set, frozenset)):
        n = len(obj)
        items = iter(obj)
    else:  # an object of ours: every field is measured
        fields = [getattr(obj, name, None) for name in attribute_names(type(obj))]
        if hasattr(obj, "__dict__"):
            fields.append(obj.__dict__)
        return total + sum(_size(x, samples, seen) for x in fields)
    if n <= samples:
        return total + sum(_size(x, samples, seen) for x in items)
    sample = list(islice(items, samples))
    return total + sum(_size(x, samples, seen) for x in sample) / len(sample) * n


def key_usage(c: Client, key: bytes, entry: Any, samples: int) -> int:
    return int(_size(entry, samples, set()) + sys.getsizeof(key) + DICT_SLOT)


@command("memory|usage")
def cmd_memory_usage(c: Client, argv: list[bytes]) -> Any:
    samples = DEFAULT_SAMPLES
    j = 3
    while j < len(argv):
        if argv[j].lower() == b"samples" and j + 1 < len(argv):
            samples = int_arg(argv[j + 1])
            if samples < 0:
                raise Error(errors.SYNTAX)
            if samples == 0:
                samples = INT64_MAX
            j += 2
        else:
            raise Error(errors.SYNTAX)
    db, key = c.ks.dbs[c.db], argv[2]
    # The size at rest, whatever the packing sweep has reached: a small key is measured
    # packed (or cold), as it is stored once the sweep passes it, so sizes compare as Redis's do
    if db.pack_key(key) and c.server.memory.tracking:
        c.server.memory.on_change(c.db, key)
    entry = db.entries.get(key)  # (dictFind: an expired key still counts)
    if entry is None:
        return None
    return key_usage(c, key, entry, samples)


@command("memory|stats")
def cmd_memory_stats(c: Client, argv: list[bytes]) -> Any:
    rss = info.rss_bytes()
    peak = max(rss, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
    keys = sum(len(db.entries) for db in c.ks.dbs)
    dbs: list[tuple[str, Any]] = []
    overhead = 0
    for i, db in enumerate(c.ks.dbs):
        if db.entries:
            main = sys.getsizeof(db.entries)
            expires = sys.getsizeof(db.expires) if db.expires else 0
            overhead += main + expires
            dbs.append((f"db.{i}", Map([("overhead.hashtable.main", main),
                                        ("overhead.hashtable.expires", expires),
                                        ("overhead.hashtable.slot-to-keys", 0)])))
    clients = len(c.server.clients) * 16384  # a connection's buffers and state, roughly
    overhead += clients
    dataset = max(rss - overhead, 0)
    return Map([
        ("peak.allocated", peak), ("total.allocated", rss), ("startup.allocated", 0),
        ("replication.backlog", 0), ("clients.slaves", 0), ("clients.normal", clients),
        ("cluster.links", 0), ("aof.buffer", 0), ("lua.caches", 0), ("functions.caches", 0),
        *dbs,
        ("overhead.total", overhead), ("keys.count", keys),
        ("keys.bytes-per-key", dataset // keys if keys else 0), ("dataset.bytes", dataset),
        ("dataset.percentage", dataset * 100.0 / rss if rss else 0.0),
        ("peak.percentage", rss * 100.0 / peak if peak else 0.0),
        ("allocator.allocated", rss), ("allocator.active", rss), ("allocator.resident", rss),
        ("allocator-fragmentation.ratio", 1.0), ("allocator-fragmentation.bytes", 0),
        ("allocator-rss.ratio", 1.0), ("allocator-rss.bytes", 0),
        ("rss-overhead.ratio", 1.0), ("rss-overhead.bytes", 0),
        ("fragmentation", 1.0), ("fragmentation.bytes", 0),
    ])


@command("memory|doctor")
def cmd_memory_doctor(c: Client, argv: list[bytes]) -> Any:
    return Verbatim(b"Hi Sam, I can't find any memory issue in your instance. I can only account for "
                    b"what occurs on this base.\n")


@command("memory|malloc-stats")
def cmd_memory_malloc_stats(c: Client, argv: list[bytes]) -> Any:
    return b"Stats not supported for the current allocator"


@command("memory|purge")
def cmd_memory_purge(c: Client, argv: list[bytes]) -> Any:
    gc.collect()
    return OK


@command("memory|help")
def cmd_memory_help(c: Client, argv: list[bytes]) -> Any:
    return [Status(line) for line in helptext.MEMORY_HELP]
