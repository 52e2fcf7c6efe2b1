"""Stream: a union of entries merged by ID, with replicated consumer groups (SEMANTICS.md,
"Streams").

* **Entries** are keyed by ``(ms, seq, hlc, region, tseq, sub)``: the stream ID first, then the
  tag of the XADD that made the entry (``sub`` numbers the entries one effect makes, for COPY
  and RENAME). Entries from every region form a union ordered by ID; two regions that add the
  same explicit ID concurrently both keep their entry, ordered by (ID, timestamp), and the
  second to arrive is counted as a conflict. IDs generated with ``*`` never collide: the
  command layer reserves the low bits of the sequence part for the region (``id_slot``).
* **Removes** (XDEL, XTRIM, MAXLEN/MINID) name the entries they observed (``XRemove``): an
  entry added concurrently survives. DEL removes what it observed (``remove_observed``).
* **Metadata**: the last ID and the max-deleted ID are multi-value registers: a write removes
  the values it observed and the value read is the greatest of what is left (XADD writes its
  ID, XSETID assigns, XDEL raises the max-deleted ID). ``entries_added`` follows the counter
  rules: every XADD is a contribution (its dot), XSETID ENTRIESADDED assigns a base that removes
  the contributions it observed; the value is the winning base plus the live contributions.
* **Consumer groups**: a group is a multi-value register of *terms*: XGROUP CREATE and SETID
  write a set term (start ID, entries-read), XGROUP DESTROY a destroy term; each write removes
  the terms it observed. The group exists while it holds a set term and no destroy term, so a
  destroy concurrent with a create leaves both terms and the group is gone: destroy wins; a
  later create (that observed both) brings it back. Among concurrent set terms the greatest tag
  gives the group's start. XACK adds ``(ID, dot)`` to the group's acknowledgements (an
  observed-remove set, so DEL and DESTROY remove the ones they saw): an entry acknowledged
  anywhere is never delivered again by ``>`` and leaves every region's pending list. A DESTROY
  that a concurrent DEL did not observe survives it: the key comes back as an empty stream
  (SEMANTICS "Keys": the key comes back holding only the concurrent write).
* **Local state** (SEMANTICS "consumer groups": local to a region): a group's last-delivered
  ID once this region read it, its entries-read, its pending entries, its consumers, and the
  entries that arrived from another region with an ID below what this region had already
  delivered (``late``: XREADGROUP ``>`` delivers them first). Commands change it through
  ``Group``'s journaling methods and emit the changes as one ``XLocal`` effect, which only the
  region that made it applies (so it is in the op log and survives a restart); snapshots keep
  it (``encode``); it is neither merged from peers nor part of ``visible`` (the digest). A
  create or SETID arriving from another region resets this region's last-delivered ID to the
  group's register.

Known anomalies and costs: destroy terms and acknowledgements are kept until a DEL (or a later
create, for destroy terms) observes them (no GC of acknowledgements of trimmed entries); the
entries-added counter keeps 8 bytes per XADD (its dot's seq) until a DEL or XSETID ENTRIESADDED
observes it, even for entries trimmed long ago (folding the contributions every region has
observed would need the keyspace's stable VV, which content types do not see).
"""

from __future__ import annotations

from array import array
from bisect import bisect_right
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, NamedTuple, TypeAlias

from sortedcontainers import SortedList

from crdt.clock import VV, Tag, covers
from crdt.effects import register_effect

from . import CRDTType, register
from .stream_groups import (
    DESTROY_TERM,
    NO_ENTRIES_READ,
    SET_TERM,
    SID,
    ZERO,
    AckTerm,
    EKey,
    Group,
    GroupTerm,
    decode_local,
    encode_local,
)
from .stream_nodes import Nodes

if TYPE_CHECKING:
    from crdt.keyspace import Keyspace

STREAM = "stream"

IdTerm: TypeAlias = tuple[int, str, int, int, int]  # (hlc, region, seq, ms, idseq)
NumTerm: TypeAlias = tuple[int, str, int, int]  # (hlc, region, seq, n)
def _write(terms: list, term: tuple, ctx: VV) -> list:
    """A multi-value register write: drop what ``ctx`` observed, add ``term`` (once)."""
    if any(t[1] == term[1] and t[2] == term[2] for t in terms):
        return terms
    kept = [t for t in terms if not covers(ctx, t)]
    kept.append(term)
    kept.sort()
    return kept


def _max_id(terms: list[IdTerm]) -> SID:
    return max(((t[3], t[4]) for t in terms), default=ZERO)


def _join(mine: list, theirs: list, my_vv: VV, their_vv: VV) -> list:
    a = {t[:3]: t for t in mine}
    b = {t[:3]: t for t in theirs}
    out = [t for k, t in a.items() if k in b or not covers(their_vv, t)]
    out += [t for k, t in b.items() if k not in a and not covers(my_vv, t)]
    out.sort()
    return out


class Stream:
    __slots__ = ("keys", "fields", "last", "maxdel", "added_base", "added", "groups", "nodes")
    type_name = STREAM

    def __init__(self) -> None:
        self.keys: SortedList = SortedList()  # EKey, in stream order
        self.fields: dict[EKey, tuple[bytes, ...]] = {}  # EKey -> field, value, ...
        self.last: list[IdTerm] = []
        self.maxdel: list[IdTerm] = []
        self.added_base: list[NumTerm] = []
        # origin -> the seqs of its XADDs that no DEL or XSETID observed, ascending (8 bytes each)
        self.added: dict[str, array[int]] = {}
        self.groups: dict[bytes, Group] = {}  # every group with terms or acks, live or not
        self.nodes = Nodes()

    # -- reads -----------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.keys)

    @property
    def last_id(self) -> SID:
        return _max_id(self.last)

    @property
    def max_deleted(self) -> SID:
        return _max_id(self.maxdel)

    @property
    def entries_added(self) -> int:
        base = self.added_base[-1][3] if self.added_base else 0
        return base + sum(len(v) for v in self.added.values())

    def first_id(self) -> SID:
        return (self.keys[0][0], self.keys[0][1]) if self.keys else ZERO

    def top_id(self) -> SID:
        return (self.keys[-1][0], self.keys[-1][1]) if self.keys else ZERO

    def range(self, start: SID, end: SID, rev: bool = False) -> Iterable[EKey]:
        """Entries with start <= ID <= end (IDs inclusive), in order or reversed."""
        if start > end:
            return iter(())
        lo = self.keys.bisect_left(start)
        hi = self.keys.bisect_left((end[0], end[1] + 1)) if end[1] < 2**64 - 1 else self.keys.bisect_left((end[0] + 1,))
        return self.keys.islice(lo, hi, reverse=rev)

    def group(self, name: bytes) -> Group | None:
        """The live group ``name``, or None."""
        g = self.groups.get(name)
        return g if g is not None and g.live else None

    def live_groups(self) -> list[tuple[bytes, Group]]:
        """The live groups, by name (Redis's order)."""
        return sorted((name, g) for name, g in self.groups.items() if g.live)

    def is_empty(self) -> bool:
        return not (self.keys or self.last or self.maxdel or self.added_base or self.added or self.groups)

    def latest(self) -> tuple:
        best: tuple = (0, "", 0)
        for k in self.keys[-1:]:
            best = max(best, (k[2], k[3], k[4]))
        for terms in (self.last, self.maxdel, self.added_base):
            if terms:
                best = max(best, terms[-1][:3])
        for g in self.groups.values():
            if g.regs:
                best = max(best, g.regs[-1][:3])
        return best

    def visible(self) -> Any:
        return (
            [(k[0], k[1], self.fields[k]) for k in self.keys], self.last_id, self.max_deleted,
            self.entries_added,
            [(name, g.regs[-1][3:6], sorted(g.acked)) for name, g in self.live_groups()],
        )

    # -- changes ---------------------------------------------------------------------------
    def add_entry(self, key: EKey, fields: tuple[bytes, ...]) -> bool:
        """Add one entry; True when another entry already holds its ID (a conflict)."""
        if key in self.fields:
            return False
        at = self.keys.bisect_left(key[:2])
        clash = at < len(self.keys) and self.keys[at][:2] == key[:2]
        self.keys.add(key)
        self.fields[key] = fields
        self.nodes.add(key, fields)
        return clash

    def remove_entries(self, keys: Iterable[EKey]) -> None:
        for k in keys:
            fields = self.fields.pop(k, None)
            if fields is not None:
                self.keys.remove(k)
                self.nodes.remove(k, fields)

    def write_group(self, name: bytes, term: GroupTerm, ctx: VV) -> None:
        """A set or destroy term (see the module's account of groups)."""
        g = self.groups.get(name)
        if g is None:
            g = self.groups[name] = Group()
        if any(t[1] == term[1] and t[2] == term[2] for t in g.regs):
            return  # already applied
        was_live = g.live
        g.regs = _write(g.regs, term, ctx)
        if term[6] == DESTROY_TERM:
            g.forget_acks(ctx)
        if not g.live or not was_live:
            g.reset_local()
        elif term[6] == SET_TERM:
            g.last_local = None  # SETID: this region delivers from the new ID

    def remove_observed(self, ctx: VV) -> None:
        self.remove_entries([k for k in self.keys if ctx.get(k[3], 0) >= k[4]])
        self.last = [t for t in self.last if not covers(ctx, t)]
        self.maxdel = [t for t in self.maxdel if not covers(ctx, t)]
        self.added_base = [t for t in self.added_base if not covers(ctx, t)]
        self._drop_contribs(ctx)
        for name in list(self.groups):
            g = self.groups[name]
            was_live = g.live
            g.regs = [t for t in g.regs if not covers(ctx, t)]
            g.forget_acks(ctx)
            if g.is_empty():
                del self.groups[name]
            elif not g.live or not was_live:
                g.reset_local()

    def _drop_contribs(self, ctx: VV) -> None:
        for origin in list(self.added):
            seqs = self.added[origin]
            cut = bisect_right(seqs, ctx.get(origin, 0))  # an observed-remove drops a prefix
            if cut == len(seqs):
                del self.added[origin]
            elif cut:
                self.added[origin] = seqs[cut:]

    def merge_from(self, other: Stream, mine: VV, theirs: VV) -> None:
        keep_mine = [k for k in self.keys if k in other.fields or theirs.get(k[3], 0) < k[4]]
        add = [k for k in other.keys if k not in self.fields and mine.get(k[3], 0) < k[4]]
        fields = {k: self.fields[k] for k in keep_mine}
        fields.update((k, other.fields[k]) for k in add)
        self.fields = fields
        self.keys = SortedList(fields)
        self.nodes = Nodes((k, fields[k]) for k in self.keys)
        arrived = [(k[0], k[1]) for k in add]
        self.last = _join(self.last, other.last, mine, theirs)
        self.maxdel = _join(self.maxdel, other.maxdel, mine, theirs)
        self.added_base = _join(self.added_base, other.added_base, mine, theirs)
        added: dict[str, array[int]] = {}
        for origin in set(self.added) | set(other.added):
            a, b = set(self.added.get(origin, ())), set(other.added.get(origin, ()))
            kept = {s for s in a if s in b or theirs.get(origin, 0) < s}
            kept |= {s for s in b if s not in a and mine.get(origin, 0) < s}
            if kept:
                added[origin] = array("q", sorted(kept))
        self.added = added
        for name in set(self.groups) | set(other.groups):
            g, h = self.groups.get(name), other.groups.get(name)
            was_live = g is not None and g.live
            regs = _join(g.regs if g else [], h.regs if h else [], mine, theirs)
            ours: set[AckTerm] = g.acks if g else set()
            other_acks: set[AckTerm] = h.acks if h else set()
            acks = {x for x in ours if x in other_acks or theirs.get(x[2], 0) < x[3]}
            acks |= {x for x in other_acks if x not in ours and mine.get(x[2], 0) < x[3]}
            if not regs and not acks:
                self.groups.pop(name, None)
                continue
            if g is None:
                g = self.groups[name] = Group()
            g.regs, g.acks = regs, acks
            g.acked = {(x[0], x[1]) for x in acks}
            if not g.live or not was_live:
                g.reset_local()
            elif g.live:
                for sid in arrived:
                    g.note_arrival(sid)

    def encode(self, region_id: Callable[[str], int]) -> Any:
        def terms(ts: list) -> list:
            return [[t[0], region_id(t[1]), *t[2:]] for t in ts]

        groups = []
        for name, g in self.groups.items():
            acks = [[a[0], a[1], region_id(a[2]), a[3]] for a in sorted(g.acks)]
            groups.append([name, terms(g.regs), acks, *encode_local(g)])
        return [
            [[k[0], k[1], k[2], region_id(k[3]), k[4], k[5], list(self.fields[k])] for k in self.keys],
            terms(self.last), terms(self.maxdel), terms(self.added_base),
            [[region_id(o), list(seqs)] for o, seqs in self.added.items()], groups,
        ]

    @classmethod
    def decode(cls, data: Any, names: list[str]) -> Stream:
        s = cls()
        entries, last, maxdel, base, added, groups = data

        def terms(ts: list) -> list:
            return sorted((t[0], names[t[1]], *t[2:]) for t in ts)

        for e in entries:
            k = (e[0], e[1], e[2], names[e[3]], e[4], e[5])
            s.fields[k] = tuple(e[6])
        s.keys = SortedList(s.fields)
        s.nodes = Nodes((k, s.fields[k]) for k in s.keys)
        s.last, s.maxdel, s.added_base = terms(last), terms(maxdel), terms(base)
        s.added = {names[o]: array("q", seqs) for o, seqs in added}
        for name, regs, acked, *local in groups:
            g = s.groups[name] = Group()
            g.regs = terms(regs)
            g.acks = {(a[0], a[1], names[a[2]], a[3]) for a in acked}
            g.acked = {(a[0], a[1]) for a in g.acks}
            decode_local(g, local)
        return s


# -- effects ------------------------------------------------------------------------------
class XAdd(NamedTuple):
    """XADD: one entry with the ID the origin chose."""

    db: int
    key: bytes
    ms: int
    seq: int
    fields: tuple[bytes, ...]


class XRemove(NamedTuple):
    """XDEL, XTRIM, XADD's MAXLEN/MINID: the entries removed, and XDEL's new max-deleted ID."""

    db: int
    key: bytes
    entries: tuple[EKey, ...]
    maxdel: SID | None


class XSetId(NamedTuple):
    """XSETID: the last ID, and ENTRIESADDED (-1: not given) and MAXDELETEDID (None)."""

    db: int
    key: bytes
    last: SID
    entries_added: int
    maxdel: SID | None


class XGroupSet(NamedTuple):
    """XGROUP CREATE (``mkstream``: the key was created by it) and XGROUP SETID."""

    db: int
    key: bytes
    group: bytes
    last: SID
    entries_read: int
    mkstream: bool


class XGroupDestroy(NamedTuple):
    db: int
    key: bytes
    group: bytes


class XAck(NamedTuple):
    db: int
    key: bytes
    group: bytes
    ids: tuple[SID, ...]


class XRestore(NamedTuple):
    """COPY, RENAME, MOVE: a whole stream's replicated state under a new key."""

    db: int
    key: bytes
    entries: tuple[tuple[int, int, tuple[bytes, ...]], ...]
    last: SID
    entries_added: int
    maxdel: SID
    groups: tuple[tuple[bytes, int, int, int, tuple[SID, ...]], ...]
    # the origin's local group state (pending lists, consumers), by group: RENAME and COPY
    # keep it there; every other region ignores it (SEMANTICS: pending lists are local)
    local: tuple[tuple[bytes, Any], ...] = ()


class XLocal(NamedTuple):
    """A group's local state as this region's commands changed it (XREADGROUP, XCLAIM,
    XAUTOCLAIM, XGROUP CREATECONSUMER/DELCONSUMER), as absolute values (applying twice changes
    nothing). It is logged, so a region's pending lists survive a restart as Redis's do in its
    AOF, and shipped like every effect, but only the region that made it applies it (in any
    of its epochs): pending lists are local (SEMANTICS.md, "consumer groups")."""

    db: int
    key: bytes
    group: bytes
    ops: tuple[tuple[Any, ...], ...]


def _sid(x: Any) -> SID | None:
    return None if x is None else (x[0], x[1])


def _ekey(k: Any) -> EKey:
    return (k[0], k[1], k[2], k[3], k[4], k[5])


register_effect(XAdd, 40, creates=True, decode=lambda f: XAdd(f[0], f[1], f[2], f[3], tuple(f[4])))
register_effect(XRemove, 41, decode=lambda f: XRemove(f[0], f[1], tuple(_ekey(k) for k in f[2]), _sid(f[3])))
register_effect(XSetId, 42, decode=lambda f: XSetId(f[0], f[1], (f[2][0], f[2][1]), f[3], _sid(f[4])))
register_effect(XGroupSet, 43, creates=True,
                decode=lambda f: XGroupSet(f[0], f[1], f[2], (f[3][0], f[3][1]), f[4], bool(f[5])))
register_effect(XGroupDestroy, 44)
register_effect(XAck, 45, decode=lambda f: XAck(f[0], f[1], f[2], tuple((i[0], i[1]) for i in f[3])))
register_effect(XLocal, 47, decode=lambda f: XLocal(f[0], f[1], f[2], tuple(tuple(op) for op in f[3])))
register_effect(
    XRestore, 46, creates=True,
    decode=lambda f: XRestore(
        f[0], f[1], tuple((x[0], x[1], tuple(x[2])) for x in f[2]), (f[3][0], f[3][1]), f[4],
        (f[5][0], f[5][1]), tuple((g[0], g[1], g[2], g[3], tuple((i[0], i[1]) for i in g[4])) for g in f[6]),
        tuple((x[0], x[1]) for x in f[7]),
    ),
)


def _contribute(s: Stream, tag: Tag) -> None:
    seqs = s.added.get(tag[1])
    if seqs is None:
        s.added[tag[1]] = array("q", (tag[2],))
    elif not seqs or seqs[-1] < tag[2]:
        seqs.append(tag[2])  # an origin's effects arrive in order: the common case
    else:
        at = bisect_right(seqs, tag[2])
        if not (at and seqs[at - 1] == tag[2]):
            seqs.insert(at, tag[2])


def _xadd(ks: Keyspace, e: XAdd, tag: Tag, ctx: VV) -> None:
    db, entry, s = ks.open(e.db, e.key, STREAM, tag, ctx)
    if s.add_entry((e.ms, e.seq, *tag, 0), e.fields):
        ks.conflicts.record(e.db, e.key, "lww", tag, None)
    for g in s.groups.values():
        if g.live:
            g.note_arrival((e.ms, e.seq))
    s.last = _write(s.last, (*tag, e.ms, e.seq), ctx)
    _contribute(s, tag)
    ks.settle(db, e.key, entry)


def _xremove(ks: Keyspace, e: XRemove, tag: Tag, ctx: VV) -> None:
    db, entry, s = ks.open(e.db, e.key, STREAM, tag, ctx)
    s.remove_entries(e.entries)
    if e.maxdel is not None:
        s.maxdel = _write(s.maxdel, (*tag, *e.maxdel), ctx)
    ks.settle(db, e.key, entry)


def _set_meta(s: Stream, tag: Tag, ctx: VV, last: SID, added: int, maxdel: SID | None) -> None:
    s.last = _write(s.last, (*tag, *last), ctx)
    if added >= 0:
        s.added_base = _write(s.added_base, (*tag, added), ctx)
        s._drop_contribs(ctx)
    if maxdel is not None:
        s.maxdel = _write(s.maxdel, (*tag, *maxdel), ctx)


def _xsetid(ks: Keyspace, e: XSetId, tag: Tag, ctx: VV) -> None:
    db, entry, s = ks.open(e.db, e.key, STREAM, tag, ctx)
    _set_meta(s, tag, ctx, e.last, e.entries_added, e.maxdel)
    ks.settle(db, e.key, entry)


def _xgroupset(ks: Keyspace, e: XGroupSet, tag: Tag, ctx: VV) -> None:
    db, entry, s = ks.open(e.db, e.key, STREAM, tag, ctx)
    s.write_group(e.group, (*tag, *e.last, e.entries_read, SET_TERM), ctx)
    if e.mkstream:  # the key exists from now on, even without entries or groups
        s.last = _write(s.last, (*tag, 0, 0), ctx)
    ks.settle(db, e.key, entry)


def _xgroupdestroy(ks: Keyspace, e: XGroupDestroy, tag: Tag, ctx: VV) -> None:
    db, entry, s = ks.open(e.db, e.key, STREAM, tag, ctx)
    s.write_group(e.group, (*tag, 0, 0, NO_ENTRIES_READ, DESTROY_TERM), ctx)
    ks.settle(db, e.key, entry)


def _xack(ks: Keyspace, e: XAck, tag: Tag, ctx: VV) -> None:
    db, entry, s = ks.open(e.db, e.key, STREAM, tag, ctx)
    g = s.groups.get(e.group)
    if g is None:
        g = s.groups[e.group] = Group()
    g.ack(e.ids, tag)
    ks.settle(db, e.key, entry)


def _xrestore(ks: Keyspace, e: XRestore, tag: Tag, ctx: VV) -> None:
    db, entry, s = ks.open(e.db, e.key, STREAM, tag, ctx)
    for i, (ms, seq, fields) in enumerate(e.entries):
        s.add_entry((ms, seq, *tag, i), fields)
    _set_meta(s, tag, ctx, e.last, e.entries_added, e.maxdel if e.maxdel != ZERO else None)
    for name, ms, seq, entries_read, acked in e.groups:
        s.write_group(name, (*tag, ms, seq, entries_read, SET_TERM), ctx)
        s.groups[name].ack(acked, tag)
    if _region_name(tag[1]) == _region_name(ks.region):  # made here (in any epoch, so a
        # replay of the log after a restart keeps them): the pending lists come along
        for name, local in e.local:
            g = s.group(name)
            if g is not None:
                decode_local(g, local)
    ks.settle(db, e.key, entry)


def _region_name(origin: str) -> str:
    return origin.split("/", 1)[0]


def _xlocal(ks: Keyspace, e: XLocal, tag: Tag, ctx: VV) -> None:
    if _region_name(tag[1]) != _region_name(ks.region):
        return  # another region's pending lists
    entry = ks.dbs[e.db].find(e.key)
    s = entry.part(STREAM) if entry is not None else None
    g = s.group(e.group) if s is not None else None
    if g is not None:
        g.apply_local(e.ops)


register(CRDTType(STREAM, 1, Stream, Stream.decode, {
    XAdd: _xadd, XRemove: _xremove, XSetId: _xsetid, XGroupSet: _xgroupset,
    XGroupDestroy: _xgroupdestroy, XAck: _xack, XRestore: _xrestore, XLocal: _xlocal,
}))
