"""Small collections at rest: packed into one bytes object, unpacked on first use.

A live sorted set, list, hash or set of ten members costs 2–7 KB of Python objects (dicts,
tuples, index lists); packed with msgpack in the compact form of ``crdt.compact`` (each distinct
tag once) it costs 70–120 bytes, or 100–400 in the type's own state encoding (``encode``, the
format snapshots use) when the compact form does not apply. Two things pack:

* at write time, the keyspace (``Keyspace.pack_cold``): once more than ``recent_keys`` (256)
  packable keys have been written since a key, it is packed at the end of a batch (a command,
  EXEC, a replicated batch), so a burst of writes to many small keys holds at most that many
  live, and a hot key stays live between writes;
* the ``Compactor`` sweep, driven by the server's expire cycle, a few hundred keys per tick:
  for keys that reads unpacked and for state installed whole (snapshot, state merge). It also
  turns each plain string it finds into its cold form (``crdt.entry.freeze``: one bytes object
  in place of the entry, thawed by the next read or write: ``Database.find``).

``Entry`` unpacks a content transparently the next time anything reads or writes the key
(``part``, ``content``, ``others``, ``Keyspace.open``). Nothing else sees the packed form: it is
never replicated, logged or snapshotted as such (those go through the content's own codec,
which unpacks first).

Packing happens only between commands and batches, never while a command holds a reference to
a content. Which types are packed: ``PACKABLE`` (types whose codec carries all of their state).
Region names are interned in a process-wide table (``region_id``), as the packed form keeps
small integers in their place.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgpack

from crdt.compact import PACKERS, UNPACKERS
from crdt.packed import Packed, PackedHash, PackedList, PackedSet, PackedZset
from crdt.types import registered

PACK_MAX = 128  # elements: larger collections stay live (Redis's listpack limit for zsets/hashes)
PACKABLE = ("zset", "list", "hash", "set")

_ids: dict[str, int] = {}
_names: list[str] = []


def region_id(name: str) -> int:
    i = _ids.get(name)
    if i is None:
        i = _ids[name] = len(_names)
        _names.append(name)
    return i


def region_name(i: int) -> str:
    """The region whose ``region_id`` is ``i``."""
    return _names[i]


_classes: dict[str, type[Packed]] = {
    "zset": PackedZset, "list": PackedList, "hash": PackedHash, "set": PackedSet}
assert tuple(_classes) == PACKABLE


GENERIC, COMPACT = 0, 1  # the packed msgpack array's first item: which form follows


def pack(content: Any) -> Packed | None:
    """The packed form of a small content of a packable type (None: leave it live): the
    type's compact form (``crdt.compact``) when it has one that fits, else its ``encode``.

    The compact forms hold no text, only bytes and numbers: their bytes are packed as msgpack's
    raw strings (a one-byte header up to 31 bytes, against two for a bin), read back as bytes."""
    name = content.type_name
    cls = _classes.get(name)
    if cls is None or len(content) > PACK_MAX:
        return None
    packer = PACKERS.get(name)
    form = packer(content, region_id) if packer is not None else None
    if form is None:
        return cls(msgpack.packb([GENERIC, content.encode(region_id)], use_bin_type=True))
    return cls(msgpack.packb([COMPACT, *form], use_bin_type=False))


def unpack(packed: Packed) -> Any:
    if packed[1] == COMPACT:  # (packed[0] is the array's header, packed[1] its first item)
        data = msgpack.unpackb(packed, raw=True)
        return UNPACKERS[packed.type_name](data[1:], _names)
    data = msgpack.unpackb(packed, raw=False, strict_map_key=False)
    return registered()[packed.type_name].decode(data[1], _names)


class Compactor:
    """The packing sweep: each ``run`` visits up to ``budget`` keys, one database after
    another, over a snapshot of each database's keys (8 bytes a key while a pass is under way:
    a dict's own iterator would break on every write). Returns how many it packed."""

    __slots__ = ("_dbi", "_keys", "_pos", "packed", "passes")

    def __init__(self) -> None:
        self._dbi = -1
        self._keys: list[bytes] = []
        self._pos = 0
        self.packed = 0  # contents packed since start (INFO)
        self.passes = 0  # passes over every database completed

    def run(self, dbs: list[Any], budget: int, deadline: float, clock: Callable[[], float],
            on_packed: Callable[[int, bytes], None] | None = None) -> int:
        """Visit up to ``budget`` keys, stopping once ``clock()`` passes ``deadline`` (checked
        every 32 keys); how many contents were packed. ``on_packed(db, key)`` hears of each
        (the server's memory accounting measures the key again)."""
        done = visited = 0
        while visited < budget and clock() < deadline:
            if self._pos >= len(self._keys):
                if not self._next_db(dbs):
                    break
                continue
            db = dbs[self._dbi]
            stop = min(len(self._keys), self._pos + 32, self._pos + budget - visited)
            for key in self._keys[self._pos:stop]:
                if db.pack_key(key):
                    done += 1
                    if on_packed is not None:
                        on_packed(self._dbi, key)
            visited += stop - self._pos
            self._pos = stop
        self.packed += done
        return done

    def _next_db(self, dbs: list[Any]) -> bool:
        """Move to the next database; False when a pass just ended (the caller stops for this
        tick)."""
        self._keys, self._pos = [], 0
        self._dbi += 1
        if self._dbi >= len(dbs):
            self._dbi = -1
            self.passes += 1
            return False
        self._keys = list(dbs[self._dbi].entries)
        return True
