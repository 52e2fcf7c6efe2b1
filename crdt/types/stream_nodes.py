"""Where Redis 7.0 would cut a stream into listpack nodes, which is what ``~`` trimming (only
whole nodes go) and XINFO's ``radix-tree-keys``/``radix-tree-nodes`` depend on.

Redis appends an entry to the tail node unless that node already holds
``stream-node-max-entries`` entries (100; deleted ones count; 0: no limit) or its listpack
bytes plus the new entry's field and value lengths reach ``stream-node-max-bytes`` (4096; 0: 1 GB),
the region's current settings (``LIMITS``); a node is freed when its last entry is deleted. The byte count follows listpack's
encoding (``_int_size``, ``_str_size``) of t_stream.c's node layout: a master entry (count,
deleted, the first entry's field names, a terminator), then per entry its flags, ID deltas from
the master ID, its field names unless they are the master's, its values, and its element count.

Each node also keeps its entries in ID order, the deleted ones included (``gone`` holds their
fields until their node is freed), so DUMP can write Redis's listpacks with their deleted-entry
flags (``server/rdb/streams.py``).

Local and derived: not encoded; rebuilt by adding the live entries in ID order after a state
merge, a snapshot load or an op-log replay of a RESTORE or COPY (the node boundaries of the
region where the entries were added may differ, and the deleted entries are gone, which only
changes what a later ``~`` trim may remove and the bytes of a DUMP). A RESTORE in this region
gives the node model the payload's own layout (``add`` with ``split``). An entry that arrives
from another region below the tail is counted in the node whose range holds it.
"""

from __future__ import annotations

from bisect import bisect_right, insort
from collections.abc import Iterable

from crdt.numbers import parse_int

from .stream_groups import EKey

NODE_ENTRIES = 100
NODE_BYTES = 4096
_LP_MAX = 1 << 30  # STREAM_LISTPACK_MAX_SIZE: the cap when stream-node-max-bytes is 0 or above
# The region's stream-node-max-entries / -bytes (CONFIG SET: ``configure``); 0 entries: no limit.
LIMITS = {"entries": NODE_ENTRIES, "bytes": NODE_BYTES}


def configure(max_entries: int, max_bytes: int) -> None:
    """Where new nodes start from now on (existing nodes keep their layout, as in Redis)."""
    LIMITS["entries"] = max_entries
    LIMITS["bytes"] = max_bytes if 0 < max_bytes <= _LP_MAX else _LP_MAX
_LP_EMPTY = 7  # header (total bytes, element count) and end byte
_INT64 = 1 << 64


def _backlen(n: int) -> int:
    return 1 if n <= 127 else 2 if n < 16383 else 3 if n < 2097151 else 4 if n < 268435455 else 5


def _int_size(v: int) -> int:
    if 0 <= v <= 127:
        enc = 1
    elif -4096 <= v <= 4095:
        enc = 2
    elif -32768 <= v <= 32767:
        enc = 3
    elif -8388608 <= v <= 8388607:
        enc = 4
    elif -2147483648 <= v <= 2147483647:
        enc = 5
    else:
        enc = 9
    return enc + _backlen(enc)


def _str_size(s: bytes) -> int:
    v = parse_int(s)  # lpStringToInt64: an integer-looking string is stored as an integer
    if v is not None:
        return _int_size(v)
    n = len(s)
    enc = n + (1 if n < 64 else 2 if n < 4096 else 5)
    return enc + _backlen(enc)


def _delta(a: int, b: int) -> int:
    d = (a - b) % _INT64  # uint64 difference, read as int64
    return d - _INT64 if d >= 1 << 63 else d


class Nodes:
    """Nodes as key ranges: ``starts[i]`` is the first key of node ``i``, with its live and
    total (live + deleted) entry counts, its listpack bytes, its master ID and fields, and its
    entries (``items``, deleted ones too)."""

    __slots__ = ("starts", "live", "total", "size", "masters", "items", "gone")

    def __init__(self, entries: Iterable[tuple[EKey, tuple[bytes, ...]]] = ()) -> None:
        self.starts: list[EKey] = []
        self.live: list[int] = []
        self.total: list[int] = []
        self.size: list[int] = []
        self.masters: list[tuple[int, int, tuple[bytes, ...]]] = []
        self.items: list[list[EKey]] = []
        self.gone: dict[EKey, tuple[bytes, ...]] = {}  # deleted entries of live nodes
        for key, fields in entries:
            self.add(key, fields)

    def __len__(self) -> int:
        return len(self.starts)

    def add(self, key: EKey, fields: tuple[bytes, ...], split: bool | None = None) -> None:
        """Add an entry; ``split`` forces (True) or forbids (False) a new node, as a restored
        payload's layout says, instead of XADD's rule."""
        names = fields[::2]
        if split is None:
            if self.starts:
                entries = LIMITS["entries"]  # streamAppendItem's rule: bytes first, then count
                split = key > self.starts[-1] and (
                    self.size[-1] + sum(map(len, fields)) >= LIMITS["bytes"]
                    or (entries > 0 and self.total[-1] >= entries))
            else:
                split = True
        if not self.starts or split:
            master = 2 + 2 + _int_size(len(names)) + sum(map(_str_size, names)) + 2
            self.starts.append(key)
            self.live.append(0)
            self.total.append(0)
            self.size.append(_LP_EMPTY + master)
            self.masters.append((key[0], key[1], names))
            self.items.append([key])
            i = len(self.starts) - 1
        else:
            i = max(bisect_right(self.starts, key) - 1, 0)
            if key < self.starts[i]:
                self.starts[i] = key
            insort(self.items[i], key)
        ms, seq, master_names = self.masters[i]
        size = 2 + _int_size(_delta(key[0], ms)) + _int_size(_delta(key[1], seq))
        count = len(names)  # the element count that lets Redis walk the listpack backwards
        if names != master_names:
            size += _int_size(len(names)) + sum(map(_str_size, names))
            count += len(names) + 1
        size += sum(map(_str_size, fields[1::2])) + _int_size(count + 3)
        self.live[i] += 1
        self.total[i] += 1
        self.size[i] += size

    def remove(self, key: EKey, fields: tuple[bytes, ...] = ()) -> None:
        i = max(bisect_right(self.starts, key) - 1, 0)
        self.live[i] -= 1
        if not self.live[i]:
            for k in self.items[i]:
                self.gone.pop(k, None)
            del self.starts[i], self.live[i], self.total[i], self.size[i], self.masters[i], self.items[i]
        else:
            self.gone[key] = fields
