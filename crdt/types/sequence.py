"""List: a sequence CRDT with dense position identifiers (SEMANTICS.md, "Lists").

Every element's id is its *position*: a tuple of components ``(digit, hlc, region, seq)``,
compared lexicographically, and the list is its elements in position order. The last
component of a position always carries the tag of the insert that made it, so positions are
unique, and ``position[-1][1:]`` is the element's insert tag (its dot decides observed-remove).

* An insert is placed between its left and right neighbours as its origin saw them: the origin
  computes a ``prefix`` and a ``digit`` (``ListPush``) such that every key
  ``prefix + ((digit, *tag),)`` lies strictly between them, and the interpreter adds the tag.
  A push of several values shares that component and adds ``(i, *tag)`` per value, so two
  concurrent multi-value pushes never interleave.
* Head inserts (LPUSH) take the first element's first digit minus one, tail inserts (RPUSH)
  the last element's plus one: concurrent pushes at an end both land at that end, ordered by
  (digit, timestamp) the same way in every region, and a push that observed another is placed
  beyond it. Head and tail pushes keep positions one component long.
* LINSERT between two neighbours takes the shortest position between them: one component more
  than the left neighbour at worst (repeated inserts at one spot grow positions by about one
  component each time the gap between two digits is used up).
* Removes (LPOP/RPOP/LREM/LTRIM/LMOVE, ``ListRemove``) name the positions they observed;
  removing an absent position does nothing, so concurrent pops of one element both succeed
  (at-least-once). LSET (``ListSet``) is a last-writer-wins register per element, keyed by
  position; it applies only to a present element, so it never revives one removed
  concurrently (the removal wins in every arrival order: causal delivery puts the insert first).

Tombstones: none. A position orders itself without reference to any other element, so a
removed element leaves nothing behind (observed-remove needs only the insert dot, which the
causal context of a later effect covers). There is thus no tombstone GC to do.

Costs: the live elements are their positions in order plus a dict position -> (value tag,
value). Up to ``BIG`` elements the order is a plain Python list (an insert or a remove is a
bisect plus a memmove of at most 16 KB of pointers: cheaper than anything cleverer at that
size); beyond, a ``sortedcontainers.SortedList`` (a list of sublists of about a thousand), so
that a push or a pop at either end of a million-element list costs O(log n), and LINDEX and
LRANGE's start O(log n). It goes back to a plain list below ``BIG // 4``. Memory on top of the value
is measured at about 230 bytes per element pushed in one multi-value push and 340 bytes per
element pushed one at a time (position tuples, the value register, the dict slot), against
about 10 in a Redis quicklist. Effects that name positions (removes, LSET, LTRIM) carry them
whole, region names included, so trimming a long list ships every removed position.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple, TypeAlias

from sortedcontainers import SortedList

from crdt.clock import VV, Tag, covers
from crdt.effects import register_effect

from . import CRDTType, register

if TYPE_CHECKING:
    from crdt.keyspace import Keyspace

LIST = "list"

Component: TypeAlias = tuple[int, int, str, int]  # (digit, hlc, region, seq)
Pos: TypeAlias = tuple[Component, ...]


def insert_tag(pos: Pos) -> Tag:
    last = pos[-1]
    return (last[1], last[2], last[3])


def between(left: Pos | None, right: Pos | None) -> tuple[Pos, int]:
    """``(prefix, digit)`` such that ``prefix + ((digit, *tag),)`` (and any extension of it)
    lies strictly between ``left`` and ``right`` (None: an end) whatever the new tag."""
    if left is None:
        return (), (0 if right is None else right[0][0] - 1)
    if right is None:
        return (), left[0][0] + 1
    n = min(len(left), len(right))
    j = 0
    while j < n and left[j] == right[j]:
        j += 1
    if j == len(left):  # left is a prefix of right
        return left, right[j][0] - 1
    # left[j] < right[j]
    if left[j][0] + 1 < right[j][0]:
        return left[:j], left[j][0] + 1
    if j + 1 < len(left):
        return left[: j + 1], left[j + 1][0] + 1
    return left, 0


BIG = 2048  # elements: beyond, the order is a SortedList


def _ordered(positions: list[Pos]) -> Any:
    """The order container for these (sorted) positions."""
    return SortedList(positions) if len(positions) > BIG else positions


class Sequence:
    __slots__ = ("order", "elems")
    type_name: ClassVar[str] = LIST

    def __init__(self) -> None:
        # live positions, ascending: a list, or a SortedList beyond BIG elements
        self.order: Any = []
        self.elems: dict[Pos, tuple[Tag, bytes]] = {}  # position -> (value tag, value)

    # -- changes ---------------------------------------------------------------------------
    def insert(self, prefix: Pos, digit: int, values: Iterable[bytes], tag: Tag) -> None:
        base = prefix + ((digit, *tag),)
        vals = list(values)
        if len(vals) == 1:
            keys = [base]
        else:
            keys = [base + ((i, *tag),) for i in range(len(vals))]
        if keys[0] in self.elems:
            return  # already applied
        order = self.order
        if type(order) is list:
            at = bisect_left(order, keys[0])
            order[at:at] = keys  # contiguous: nothing else starts with ``base``
            if len(order) > BIG:
                self.order = SortedList(order)
        else:
            order.update(keys)
        for k, v in zip(keys, vals, strict=True):
            self.elems[k] = (tag, v)

    def remove(self, positions: Iterable[Pos]) -> None:
        elems = self.elems
        gone = [p for p in positions if p in elems]
        if not gone:
            return
        for p in gone:
            del elems[p]
        order = self.order
        if len(gone) > 8 and len(gone) * 16 > len(order):
            self.order = _ordered([p for p in order if p in elems])
            return
        if type(order) is list:
            for p in gone:
                del order[bisect_left(order, p)]
            return
        for p in gone:
            order.remove(p)
        if len(order) < BIG // 4:
            self.order = list(order)

    def set_value(self, pos: Pos, value: bytes, tag: Tag, ctx: VV) -> bool:
        """LWW assignment of a present element; True when it was concurrent with another."""
        old = self.elems.get(pos)
        if old is None:
            return False  # removed (concurrently): never revived
        if tag > old[0]:
            self.elems[pos] = (tag, value)
        return not covers(ctx, old[0])

    def remove_observed(self, ctx: VV) -> None:
        self.remove([p for p in self.order if covers(ctx, insert_tag(p))])

    def merge_from(self, other: Sequence, mine: VV, theirs: VV) -> None:
        merged: dict[Pos, tuple[Tag, bytes]] = {}
        for p, ev in self.elems.items():
            o = other.elems.get(p)
            if o is not None:
                merged[p] = max(ev, o)
            elif not covers(theirs, insert_tag(p)):
                merged[p] = ev
        for p, ev in other.elems.items():
            if p not in self.elems and not covers(mine, insert_tag(p)):
                merged[p] = ev
        self.elems = merged
        self.order = _ordered(sorted(merged))

    def encode(self, region_id: Callable[[str], int]) -> Any:
        out = []
        for p in self.order:
            tag, value = self.elems[p]
            out.append([[[c[0], c[1], region_id(c[2]), c[3]] for c in p], [tag[0], region_id(tag[1]), tag[2]], value])
        return out

    @classmethod
    def decode(cls, data: Any, names: list[str]) -> Sequence:
        seq = cls()
        for p, tag, value in data:
            pos = tuple((c[0], c[1], names[c[2]], c[3]) for c in p)
            seq.elems[pos] = ((tag[0], names[tag[1]], tag[2]), value)
        seq.order = _ordered(sorted(seq.elems))
        return seq

    # -- reads -----------------------------------------------------------------------------
    def is_empty(self) -> bool:
        return not self.order

    def visible(self) -> list[bytes]:
        elems = self.elems
        return [elems[p][1] for p in self.order]

    def __len__(self) -> int:
        return len(self.order)

    def __iter__(self) -> Iterator[bytes]:
        elems = self.elems
        return (elems[p][1] for p in self.order)

    def value_at(self, index: int) -> bytes:
        return self.elems[self.order[index]][1]

    def latest(self) -> tuple:
        best: tuple = (0, "", 0)
        for tag, _ in self.elems.values():
            if tag > best:
                best = tag
        return best


# -- effects ------------------------------------------------------------------------------
class ListPush(NamedTuple):
    """Insert ``values`` (in list order) at ``prefix + ((digit, *tag),)`` (see ``between``)."""

    db: int
    key: bytes
    prefix: Pos
    digit: int
    values: tuple[bytes, ...]


class ListRemove(NamedTuple):
    db: int
    key: bytes
    positions: tuple[Pos, ...]


class ListSet(NamedTuple):
    db: int
    key: bytes
    position: Pos
    value: bytes


def _pos(data: Any) -> Pos:
    return tuple((c[0], c[1], c[2], c[3]) for c in data)


register_effect(
    ListPush, 20, creates=True,
    decode=lambda f: ListPush(f[0], f[1], _pos(f[2]), f[3], tuple(f[4])),
)
register_effect(ListRemove, 21, decode=lambda f: ListRemove(f[0], f[1], tuple(_pos(p) for p in f[2])))
register_effect(ListSet, 22, decode=lambda f: ListSet(f[0], f[1], _pos(f[2]), f[3]))


def _push(ks: Keyspace, e: ListPush, tag: Tag, ctx: VV) -> None:
    db, entry, seq = ks.open(e.db, e.key, LIST, tag, ctx)
    seq.insert(e.prefix, e.digit, e.values, tag)
    ks.settle(db, e.key, entry)


def _remove(ks: Keyspace, e: ListRemove, tag: Tag, ctx: VV) -> None:
    db, entry, seq = ks.open(e.db, e.key, LIST, tag, ctx)
    seq.remove(e.positions)
    ks.settle(db, e.key, entry)


def _set(ks: Keyspace, e: ListSet, tag: Tag, ctx: VV) -> None:
    db, entry, seq = ks.open(e.db, e.key, LIST, tag, ctx)
    if seq.set_value(e.position, e.value, tag, ctx):
        ks.conflicts.record(e.db, e.key, "lww", tag, None)
    ks.settle(db, e.key, entry)


register(CRDTType(LIST, 1, Sequence, Sequence.decode, {ListPush: _push, ListRemove: _remove, ListSet: _set}))
