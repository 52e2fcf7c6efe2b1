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
from server.scripting.stats import memory_fields as script_memory_fields

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
    m = info.MemoryFigures(c.server)
    keys = sum(len(db.entries) for db in c.ks.dbs)
    dbs: list[tuple[str, Any]] = []
    for i, db in enumerate(c.ks.dbs):
        if db.entries:
            dbs.append((f"db.{i}", Map([("overhead.hashtable.main", sys.getsizeof(db.entries)),
                                        ("overhead.hashtable.expires", sys.getsizeof(db.expires) if db.expires else 0),
                                        ("overhead.hashtable.slot-to-keys", 0)])))
    scripts = dict(script_memory_fields(c.server, str))
    net = m.used - m.startup
    return Map([
        ("peak.allocated", m.peak), ("total.allocated", m.used), ("startup.allocated", m.startup),
        ("replication.backlog", 0), ("clients.slaves", m.replica_out), ("clients.normal", m.normal),
        ("cluster.links", 0), ("aof.buffer", 0),
        ("lua.caches", scripts["used_memory_scripts_eval"]), ("functions.caches", scripts["used_memory_functions"]),
        *dbs,
        ("overhead.total", m.overhead), ("keys.count", keys),
        ("keys.bytes-per-key", net // keys if keys else 0), ("dataset.bytes", m.dataset),
        ("dataset.percentage", m.dataset * 100.0 / net if net > 0 else 0.0),
        ("peak.percentage", m.used * 100.0 / m.peak if m.peak else 0.0),
        # no jemalloc: what the allocator holds is what we account for
        ("allocator.allocated", m.used), ("allocator.active", m.used), ("allocator.resident", m.rss),
        ("allocator-fragmentation.ratio", 1.0), ("allocator-fragmentation.bytes", 0),
        ("allocator-rss.ratio", m.rss / m.used if m.used else 1.0), ("allocator-rss.bytes", m.rss - m.used),
        ("rss-overhead.ratio", 1.0), ("rss-overhead.bytes", 0),
        ("fragmentation", m.rss / m.used if m.used else 1.0), ("fragmentation.bytes", m.rss - m.used),
    ])


# Redis's getMemoryDoctorReport (object.c): its thresholds and its words
DOCTOR_EMPTY = (b"Hi Sam, this instance is empty or is using very little memory, my issues detector can't "
                b"be used in these conditions. Please, leave for your mission on Earth and fill it with "
                b"some data. The new Sam and I will be back to our programming as soon as I finished "
                b"rebooting.\n")
DOCTOR_FINE = (b"Hi Sam, I can't find any memory issue in your instance. I can only account for what "
               b"occurs on this base.\n")
DOCTOR_REPORTS = {
    "big_peak": " * Peak memory: In the past this instance used more than 150% the memory that is currently using. The allocator is normally not able to release memory after a peak, so you can expect to see a big fragmentation ratio, however this is actually harmless and is only due to the memory peak, and if the Redis instance Resident Set Size (RSS) is currently bigger than expected, the memory will be used as soon as you fill the Redis instance with more data. If the memory peak was only occasional and you want to try to reclaim memory, please try the MEMORY PURGE command, otherwise the only other option is to shutdown and restart the instance.\n\n",
    "high_frag": " * High total RSS: This instance has a memory fragmentation and RSS overhead greater than 1.4 (this means that the Resident Set Size of the Redis process is much larger than the sum of the logical allocations Redis performed). This problem is usually due either to a large peak memory (check if there is a peak memory entry above in the report) or may result from a workload that causes the allocator to fragment memory a lot. If the problem is a large peak memory, then there is no issue. Otherwise, make sure you are using the Jemalloc allocator and not the default libc malloc. Note: The currently used allocator is \"pymalloc\".\n\n",
    "big_slave_buf": " * Big replica buffers: The replica output buffers in this instance are greater than 10MB for each replica (on average). This likely means that there is some replica instance that is struggling receiving data, either because it is too slow or because of networking issues. As a result, data piles on the master output buffers. Please try to identify what replica is not receiving data correctly and why. You can use the INFO output in order to check the replicas delays and the CLIENT LIST command to check the output buffers of each replica.\n\n",
    "big_client_buf": " * Big client buffers: The clients output buffers in this instance are greater than 200K per client (on average). This may result from different causes, like Pub/Sub clients subscribed to channels bot not receiving data fast enough, so that data piles on the Redis instance output buffer, or clients sending commands with large replies or very large sequences of commands in the same pipeline. Please use the CLIENT LIST command in order to investigate the issue if it causes problems in your instance, or to understand better why certain clients are using a big amount of memory.\n\n",
    "many_scripts": " * Many scripts: There seem to be many cached scripts in this instance (more than 1000). This may be because scripts are generated and `EVAL`ed, instead of being parameterized (with KEYS and ARGV), `SCRIPT LOAD`ed and `EVALSHA`ed. Unless `SCRIPT FLUSH` is called periodically, the scripts' caches may end up consuming most of your memory.\n\n",
}


def memory_doctor(m: info.MemoryFigures, cached_scripts: int) -> bytes:
    """Redis's report for these figures (the allocator's own checks have nothing to see here:
    no jemalloc)."""
    if m.used < 5 << 20:
        return DOCTOR_EMPTY
    found = []
    if m.peak / m.used > 1.5:
        found.append("big_peak")
    if m.rss / m.used > 1.4 and m.rss - m.used > 10 << 20:
        found.append("high_frag")
    if m.replicas and m.replica_out / m.replicas > 10 << 20:
        found.append("big_slave_buf")
    if m.normal / max(1, m.clients) > 200 << 10:
        found.append("big_client_buf")
    if cached_scripts > 1000:
        found.append("many_scripts")
    if not found:
        return DOCTOR_FINE
    body = "".join(DOCTOR_REPORTS[k] for k in DOCTOR_REPORTS if k in found)
    return ("Sam, I detected a few issues in this Redis instance memory implants:\n\n" + body
            + "I'm here to keep you safe, Sam. I want to help you.\n").encode()


@command("memory|doctor")
def cmd_memory_doctor(c: Client, argv: list[bytes]) -> Any:
    scripts = getattr(c.server, "lua_engine", None)
    cached = len(scripts.scripts) if scripts is not None else 0
    return Verbatim(memory_doctor(info.MemoryFigures(c.server), cached))


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
