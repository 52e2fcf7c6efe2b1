"""Function libraries (FUNCTION LOAD/DELETE/FLUSH/RESTORE) as replicated data.

SEMANTICS ("Transactions, scripts, functions"): libraries are data — logged, snapshotted,
replicated to every region; concurrent loads of one library name: the greatest timestamp wins.

The registry is a map ``library name -> multi-value register`` of ``(tag, code)`` entries,
kept outside the keyspace's keys (a library is not a key: KEYS, DBSIZE, FLUSHALL never see
it, as in Redis):

* ``LibraryLoad(name, code)`` observed-removes the entries of ``name`` its context covers and
  adds its own; ``LibraryDelete(name)`` only removes; ``LibraryFlush`` removes every observed
  entry of every name. Nothing leaves a tombstone.
* The visible code of a name is its entry with the greatest tag (HLC, then region name), so
  two concurrent loads resolve the same way everywhere; the loser stays until a later write
  observes it, like the keyspace's type shadows. A delete concurrent with a load keeps the load
  (only observed entries are removed): the library survives, as a concurrent write survives a
  DEL.
* State merge (catch-up by state, snapshots) joins two registries with their version vectors,
  as the OR-set does.

The effects use db ``NO_DB`` (no database: the keyspace signals no key change for them) and
the library name as key; the registry is
registered as a content type only so the keyspace's one ``_apply`` interprets its effects
(it never becomes a key's content). Its state lives beside the keyspace (``registry(ks)``) and
travels in state streams as an extension record (``crdt/state.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from crdt.clock import VV, Tag
from crdt.effects import NO_DB, register_effect

from . import CRDTType, register

__all__ = ["NO_DB", "LibraryDelete", "LibraryFlush", "LibraryLoad", "LibraryRegistry", "registry"]


class LibraryLoad(NamedTuple):
    db: int
    key: bytes  # library name
    code: bytes


class LibraryDelete(NamedTuple):
    db: int
    key: bytes


class LibraryFlush(NamedTuple):
    db: int
    key: bytes = b""


register_effect(LibraryLoad, 60)  # wire codes: strings 1-4, sets 5-6, hashes 7-9, zsets 11-13, lists 20-22, streams 40-47, HLL 50
register_effect(LibraryDelete, 61)
register_effect(LibraryFlush, 62)


def _covered(ctx: VV, tag: Tag) -> bool:
    return ctx.get(tag[1], 0) >= tag[2]


class LibraryRegistry:
    """name -> [(tag, code), ...] (concurrent entries; the greatest tag is visible)."""

    type_name = "library-registry"

    def __init__(self) -> None:
        self.libs: dict[bytes, list[tuple[Tag, bytes]]] = {}
        self.version = 0  # bumped on every change: the engine recompiles when it moves

    def visible(self) -> dict[bytes, bytes]:
        return {name: max(entries)[1] for name, entries in sorted(self.libs.items())}

    def newest_first(self) -> list[tuple[bytes, bytes]]:
        """(name, visible code), the library whose visible entry is newest first."""
        best = sorted(((max(entries), name) for name, entries in self.libs.items()), reverse=True)
        return [(name, entry[1]) for entry, name in best]

    def _remove_covered(self, name: bytes, ctx: VV) -> None:
        entries = self.libs.get(name)
        if entries is None:
            return
        kept = [e for e in entries if not _covered(ctx, e[0])]
        if kept:
            self.libs[name] = kept
        else:
            del self.libs[name]

    def load(self, name: bytes, code: bytes, tag: Tag, ctx: VV) -> None:
        self._remove_covered(name, ctx)
        self.libs.setdefault(name, []).append((tag, code))
        self.version += 1

    def delete(self, name: bytes, ctx: VV) -> None:
        self._remove_covered(name, ctx)
        self.version += 1

    def flush(self, ctx: VV) -> None:
        for name in list(self.libs):
            self._remove_covered(name, ctx)
        self.version += 1

    def merge_from(self, other: LibraryRegistry, mine: VV, theirs: VV) -> None:
        for name in set(self.libs) | set(other.libs):
            ours = self.libs.get(name, [])
            their = other.libs.get(name, [])
            ours_set, their_set = set(ours), set(their)
            kept = [e for e in ours if e in their_set or not _covered(theirs, e[0])]
            kept += [e for e in their if e not in ours_set and not _covered(mine, e[0])]
            if kept:
                self.libs[name] = sorted(kept)
            else:
                self.libs.pop(name, None)
        self.version += 1

    def encode(self, region_id: Callable[[str], int]) -> Any:
        return [[name, [[t[0], region_id(t[1]), t[2], code] for t, code in entries]]
                for name, entries in sorted(self.libs.items())]

    @classmethod
    def decode(cls, data: Any, names: list[str]) -> LibraryRegistry:
        reg = cls()
        for name, entries in data:
            reg.libs[name] = [((e[0], names[e[1]], e[2]), e[3]) for e in entries]
        return reg


def registry(ks: Any) -> LibraryRegistry:
    """The keyspace's library registry (created empty on first use; kept in the keyspace's
    ``type_state``, which a compiled Keyspace has where a weak-key map would need a weakref)."""
    reg = ks.type_state.get(LibraryRegistry.type_name)
    if reg is None:
        reg = ks.type_state[LibraryRegistry.type_name] = LibraryRegistry()
    return reg


def replace_registry(ks: Any, reg: LibraryRegistry) -> None:
    reg.version = registry(ks).version + 1
    ks.type_state[LibraryRegistry.type_name] = reg


def _load(ks: Any, e: LibraryLoad, tag: Tag, ctx: VV) -> None:
    registry(ks).load(e.key, e.code, tag, ctx)


def _delete(ks: Any, e: LibraryDelete, tag: Tag, ctx: VV) -> None:
    registry(ks).delete(e.key, ctx)


def _flush(ks: Any, e: LibraryFlush, tag: Tag, ctx: VV) -> None:
    registry(ks).flush(ctx)


register(CRDTType(LibraryRegistry.type_name, 1, LibraryRegistry, LibraryRegistry.decode,
                  {LibraryLoad: _load, LibraryDelete: _delete, LibraryFlush: _flush}))
