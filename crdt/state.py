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
from decimal import Decimal
from typing import Any

import msgpack

from . import expiry
from .clock import VV, covers, vv_merge
from .keyspace import Database, Entry, Keyspace
from .ormap import ORMap
from .orset import ORSet
from .strings import StrValue

STATE_VERSION = 1
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


def _num(x: Any) -> Any:
    return str(x) if type(x) is Decimal else x


def _unnum(x: Any) -> Any:
    return Decimal(x) if type(x) is str else x


def _enc_str(sv: StrValue | None, r: _Regions) -> Any:
    if sv is None:
        return None
    regs = [[t[0], r.id(t[1]), t[2], t[3]] for t in sv.regs]
    contribs = [[c[0], r.id(c[1]), c[2], _num(c[3]), *c[4:]] for c in sv.contribs or ()]
    return [regs, contribs]


def _dec_str(data: Any, names: list[str]) -> StrValue | None:
    if data is None:
        return None
    sv = StrValue()
    sv.regs = [(t[0], names[t[1]], t[2], t[3]) for t in data[0]]
    contribs = [(c[0], names[c[1]], c[2], _unnum(c[3]), *c[4:]) for c in data[1]]
    sv.contribs = contribs or None
    return sv


def _enc_entry(entry: Entry, r: _Regions) -> list[Any]:
    oset = None
    if entry.oset is not None:
        oset = [[m, [[t[0], r.id(t[1]), t[2]] for t in entry.oset.tags_of(m)]] for m in entry.oset]
    omap = None
    if entry.omap is not None:
        omap = [[f, _enc_str(sv, r)] for f, sv in entry.omap.fields.items()]
    exp = [[e[0], r.id(e[1]), e[2], e[3]] for e in entry.expire or ()]
    return [_enc_str(entry.string, r), oset, omap, exp]


def _dec_entry(data: list[Any], names: list[str]) -> Entry:
    entry = Entry()
    entry.string = _dec_str(data[0], names)
    if data[1] is not None:
        oset = entry.oset = ORSet()
        for m, tags in data[1]:
            decoded = [(t[0], names[t[1]], t[2]) for t in tags]
            oset.members[m] = decoded[0] if len(decoded) == 1 else decoded
    if data[2] is not None:
        omap = entry.omap = ORMap()
        for f, sv in data[2]:
            value = _dec_str(sv, names)
            if value is not None:
                omap.fields[f] = value
    entry.expire = [(e[0], names[e[1]], e[2], e[3]) for e in data[3]] or None
    return entry


def dump(ks: Keyspace) -> Iterator[bytes]:
    """The whole state as msgpack records (header first, ``None`` last)."""
    regions = _Regions(sorted(ks.vv))
    body: list[bytes] = []
    pack = msgpack.Packer(use_bin_type=True).pack
    for dbi, db in enumerate(ks.dbs):
        for key, entry in db.entries.items():
            body.append(pack([dbi, key, _enc_entry(entry, regions)]))
        for key, entries in db.orphan_expiry.items():
            body.append(pack([dbi, key, [None, None, None, [[e[0], regions.id(e[1]), e[2], e[3]] for e in entries]]]))
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
    if head[1] != STATE_VERSION:
        raise StateError(f"unsupported state version {head[1]}")
    header = {"region": head[2], "vv": dict(head[3]), "hlc": head[4], "regions": head[5], "databases": head[6]}
    names: list[str] = head[5]

    def entries() -> Iterator[tuple[int, bytes, Entry]]:
        for rec in it:
            if rec is None:
                return
            dbi, key, data = rec
            yield dbi, key, _dec_entry(data, names)
        raise StateError("truncated state stream")

    return header, entries()


def restore(ks: Keyspace, records: Iterable[Any]) -> None:
    """Replace the keyspace's state with a snapshot of its own."""
    header, entries = read(records)
    if header["databases"] > len(ks.dbs):
        raise StateError(f"snapshot has {header['databases']} databases, configured {len(ks.dbs)}")
    for db in ks.dbs:
        db.entries.clear()
        db.expires.clear()
        db.orphan_expiry.clear()
    for dbi, key, entry in entries:
        _install(ks.dbs[dbi], key, entry)
    ks.vv.clear()
    ks.vv.update(header["vv"])
    ks.clock.observe(header["hlc"])


def _install(db: Database, key: bytes, entry: Entry) -> None:
    entry.compact()
    if entry.string is None and entry.oset is None and entry.omap is None:
        if entry.expire:
            db.orphan_expiry[key] = entry.expire
        return
    db.entries[key] = entry
    db.generation += 1
    at = expiry.resolve(entry.expire)
    if at:
        db.expires[key] = at


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
        _merge_key(ks, dbi, key, other, mine, theirs)
    for dbi, db in enumerate(ks.dbs):  # keys only we have: drop what the peer saw removed
        for key in [k for k in list(db.entries) + list(db.orphan_expiry) if (dbi, k) not in seen]:
            _merge_key(ks, dbi, key, Entry(), mine, theirs)
    vv_merge(ks.vv, theirs)
    ks.clock.observe(header["hlc"])
    return len(seen)


def _merge_key(ks: Keyspace, dbi: int, key: bytes, other: Entry, mine: VV, theirs: VV) -> None:
    db = ks.dbs[dbi]
    entry = db.entries.pop(key, None)
    if entry is None:
        entry = Entry()
        entry.expire = db.orphan_expiry.get(key)
    else:
        db.generation += 1
    db.orphan_expiry.pop(key, None)
    db.expires.pop(key, None)
    if entry.string is not None or other.string is not None:
        sv = entry.string or StrValue()
        sv.merge_from(other.string or StrValue(), mine, theirs)
        entry.string = None if sv.is_empty() else sv
    if entry.oset is not None or other.oset is not None:
        oset = entry.oset or ORSet()
        oset.merge_from(other.oset or ORSet(), mine, theirs)
        entry.oset = None if oset.is_empty() else oset
    if entry.omap is not None or other.omap is not None:
        omap = entry.omap or ORMap()
        omap.merge_from(other.omap or ORMap(), mine, theirs)
        entry.omap = None if omap.is_empty() else omap
    a, b = entry.expire or [], other.expire or []
    kept = [e for e in a if e in b or not covers(theirs, e)] + [e for e in b if e not in a and not covers(mine, e)]
    entry.expire = sorted(kept) or None
    _install(db, key, entry)
    if ks.on_change is not None:
        ks.on_change(dbi, key)
