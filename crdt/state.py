"""The full CRDT state as a stream of records: snapshots, and state-based catch-up.

A state stream is msgpack records: one header, then one record per key (content and expire
register with all their tags), then ``None``. It is used two ways:

* ``restore``: a region's own snapshot, loaded at start-up before replaying the op log tail.
* ``merge``: a peer's state when the peer's log no longer reaches back to what we have. The
  join keeps what both sides have, and what one side has that the other has not observed
  (its VV does not cover the tag): our own unreplicated writes survive, and removals the peer
  saw remove here too. Nothing is wiped.

Tags are written with a region index into the header's region table, to keep region names out
of every element.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import msgpack

from . import expiry
from .clock import VV, vv_merge
from .entry import Entry
from .keyspace import Keyspace
from .types import registered
from .types.library import LibraryRegistry, registry, replace_registry
from .types.strings import SEQ_BITS, SEQ_MASK, STRING

STATE_VERSION = 2
MAGIC = "activekv-state"


class StateError(ValueError):
    pass


class _Regions:
    def __init__(self, names: list[str] | None = None) -> None:
        self.names: list[str] = list(names or [])
        self.index = {n: i for i, n in enumerate(self.names)}

    def id(self, name: str) -> int:
        i = self.index.get(name)
        if i is None:
            i = self.index[name] = len(self.names)
            self.names.append(name)
        return i


def _enc_expire(entries: list[Any] | None, r: _Regions) -> list[Any]:
    return [[e[0], r.id(e[1]), e[2], e[3]] for e in entries or ()]


def _enc_entry(entry: Entry, r: _Regions) -> list[Any]:
    """``[[[type, version, content], ...], expire entries]``."""
    types = registered()
    contents = [[c.type_name, types[c.type_name].version, c.encode(r.id)] for c in entry.parts()]
    return [contents, _enc_expire(entry.expire, r)]


def _dec_entry(data: list[Any], names: list[str]) -> Entry:
    types = registered()
    entry = Entry()
    for name, version, enc in data[0]:
        t = types.get(name)
        if t is None:
            raise StateError(f"unknown content type {name!r}")
        if version != t.version and version not in t.reads:
            raise StateError(f"unsupported {name} state version {version}")
        entry.put(t.decode(enc, names))
    entry.expire = [(e[0], names[e[1]], e[2], e[3]) for e in data[1]] or None
    return entry


def _from_version_1(data: list[Any]) -> list[Any]:
    """A version 1 key record (``[string, set, hash, expire]``, the three types it knew) in
    version 2's form: the contents' own formats did not change."""
    contents = [[name, 1, enc] for name, enc in zip(("string", "set", "hash"), data[:3], strict=True)
                if enc is not None]
    return [contents, data[3]]


def dump(ks: Keyspace) -> Iterator[bytes]:
    """The whole state as msgpack records (header first, ``None`` last)."""
    regions = _Regions(sorted(ks.vv))
    body: list[bytes] = []
    pack = msgpack.Packer(use_bin_type=True).pack
    string_version = registered()[STRING].version
    rid = regions.id
    for dbi, db in enumerate(ks.dbs):
        for key, entry in db.items():
            x = entry.x
            if entry.val is not None and (x is None or type(x) is list):
                # A plain string (one assignment, no contributions, no other type), encoded
                # here exactly as ``_enc_entry`` would: the common key costs one pack.
                stamp = entry.stamp
                hlc, region, seq = stamp >> SEQ_BITS, rid(entry.org), stamp & SEQ_MASK
                exp = ([] if x is None else [[hlc, region, seq, expiry.PERSISTENT]] if x is expiry.OWN_NEVER
                       else _enc_expire(x, regions))
                body.append(pack([dbi, key, [[[STRING, string_version, [[[hlc, region, seq, entry.val]], []]]],
                                             exp]]))
                continue
            body.append(pack([dbi, key, _enc_entry(entry, regions)]))
        for key, entries in db.orphan_expiry.items():
            body.append(pack([dbi, key, [[], _enc_expire(entries, regions)]]))
    libraries = registry(ks)
    if libraries.libs:  # an extension record (db -1): the function libraries
        body.append(pack([-1, b"library", libraries.encode(regions.id)]))
    yield pack([MAGIC, STATE_VERSION, ks.region, dict(ks.vv), ks.clock.last, regions.names, len(ks.dbs)])
    yield from body
    yield pack(None)


def read(records: Iterable[Any]) -> tuple[dict[str, Any], Iterator[tuple[int, bytes, Entry]]]:
    """Parse unpacked records: (header, iterator of (db, key, entry))."""
    it = iter(records)
    try:
        head = next(it)
    except StopIteration:
        raise StateError("empty state stream") from None
    if not isinstance(head, list) or len(head) < 7 or head[0] != MAGIC:
        raise StateError("not an activekv state stream")
    version = head[1]
    if version not in (1, STATE_VERSION):
        raise StateError(f"unsupported state version {version}")
    extensions: dict[bytes, Any] = {}  # filled as the records are read (db -1 records)
    header = {"version": version, "region": head[2], "vv": dict(head[3]), "hlc": head[4], "regions": head[5],
              "databases": head[6], "extensions": extensions}
    names: list[str] = head[5]

    def entries() -> Iterator[tuple[int, bytes, Entry]]:
        for rec in it:
            if rec is None:
                return
            dbi, key, data = rec
            if dbi == -1:
                extensions[key] = data
                continue
            yield dbi, key, _dec_entry(data if version == STATE_VERSION else _from_version_1(data), names)
        raise StateError("truncated state stream")

    return header, entries()


def restore(ks: Keyspace, records: Iterable[Any]) -> None:
    """Replace the keyspace's state with a snapshot of its own."""
    header, entries = read(records)
    if header["databases"] > len(ks.dbs):
        raise StateError(f"snapshot has {header['databases']} databases, configured {len(ks.dbs)}")
    ks.clear()
    for dbi, key, entry in entries:
        ks.install(dbi, key, entry)
    replace_registry(ks, _libraries(header))
    ks.vv.update(header["vv"])
    ks.clock.observe(header["hlc"])


def merge(ks: Keyspace, records: Iterable[Any]) -> int:
    """Join a peer's full state into ours. Returns the number of keys examined."""
    header, entries = read(records)
    theirs: VV = header["vv"]
    mine: VV = dict(ks.vv)
    seen: set[tuple[int, bytes]] = set()
    for dbi, key, other in entries:
        if dbi >= len(ks.dbs):
            continue
        seen.add((dbi, key))
        ks.merge_entry(dbi, key, other, theirs, mine)
    for dbi, db in enumerate(ks.dbs):  # keys only we have: drop what the peer saw removed
        for key in [k for k in list(db.entries) + list(db.orphan_expiry) if (dbi, k) not in seen]:
            ks.merge_entry(dbi, key, Entry(), theirs, mine)
    registry(ks).merge_from(_libraries(header), mine, theirs)
    vv_merge(ks.vv, theirs)
    ks.clock.observe(header["hlc"])
    return len(seen)


def _libraries(header: dict[str, Any]) -> LibraryRegistry:
    data = header["extensions"].get(b"library")
    return LibraryRegistry() if data is None else LibraryRegistry.decode(data, header["regions"])
