"""Compact packed forms of the common small hash, sorted set, list and set (see ``crdt.packing``).

A content's own ``encode`` spells every tag out in full (an HLC of 8 bytes, a region, a seq)
for every field, member or element, though the common small collection was written by one or
a few commands: the ten fields of one HSET share one tag. The forms here keep each distinct tag
once, in a table (``[hlc, region id, seq, ...]``), and each item refers to its tag by index,
which cuts a packed hash or sorted set of ten to about a third, a list to a quarter, and
costs less to build and to read back than ``encode``/``decode`` (no intermediate lists per
item). Reading one back shares each tag's objects between the items that carry it, as the
live content written by one command does.

Each form covers only the plain case; ``pack_*`` returns None for anything else (a hash field
or a member with concurrent assignments or counter contributions) and the caller falls back to
the content's own codec. ``unpack_*`` is the exact inverse: the content it builds equals the
packed one (same items, same tags, same order), which tests/crdt/test_compact.py checks.

Layouts (msgpack arrays; ``t`` is a tag's index in the table):

* hash: ``[table, [field, value, t, field, value, t, ...]]``;
* sorted set: ``[table, [member, score, t, ...]]`` (an integral score as an int);
* list: ``[table, [n, digit, t, ..., digit, t, vt, value, ...]]`` per element in order: its
  position's ``n`` components as ``(digit, t)`` pairs, then its value's tag and the value;
* set: ``[table, [member, t, ...]]`` (a member with one dot).

The hash, sorted set and set forms leave the ``t`` out when the table holds one tag (the
common content, written by one command).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from crdt.clock import Tag
from crdt.types.ormap import ORMap
from crdt.types.orset import ORSet
from crdt.types.sequence import Component, Pos, Sequence, _ordered
from crdt.types.strings import SEQ_BITS, SEQ_MASK, StrValue
from crdt.types.zset import SmallIndex, ZSet

EXACT_INT = 1 << 53  # integral scores within this are exact as ints, and decode back to the same float


class _Tags:
    """The tag table being built: each distinct ``(hlc, region, seq)`` once."""

    __slots__ = ("index", "flat", "region_id")

    def __init__(self, region_id: Callable[[str], int]) -> None:
        self.index: dict[tuple[int, str, int], int] = {}
        self.flat: list[int] = []
        self.region_id = region_id

    def of(self, hlc: int, region: str, seq: int) -> int:
        key = (hlc, region, seq)
        i = self.index.get(key)
        if i is None:
            i = self.index[key] = len(self.index)
            self.flat += (hlc, self.region_id(region), seq)
        return i


def _tags(flat: list[int], names: list[str]) -> list[Tag]:
    return [(flat[i], names[flat[i + 1]], flat[i + 2]) for i in range(0, len(flat), 3)]


# -- hash ------------------------------------------------------------------------------------
def pack_hash(h: ORMap, region_id: Callable[[str], int]) -> list[Any] | None:
    tags = _Tags(region_id)
    out: list[Any] = []
    for f, sv in h.fields.items():
        if sv.x is not None or sv.val is None:  # losing assignments or contributions
            return None
        stamp = sv.stamp
        out += (f, sv.val, tags.of(stamp >> SEQ_BITS, sv.org, stamp & SEQ_MASK))
    if len(tags.index) == 1:  # one tag (one command wrote it all): no tag indexes
        del out[2::3]
    return [tags.flat, out]


def unpack_hash(data: list[Any], names: list[str]) -> ORMap:
    flat, items = data
    stamps = [(flat[i] << SEQ_BITS | flat[i + 2], names[flat[i + 1]]) for i in range(0, len(flat), 3)]
    h = ORMap()
    fields = h.fields
    if len(stamps) == 1:
        stamp, org = stamps[0]
        for i in range(0, len(items), 2):
            sv = StrValue()
            sv.stamp, sv.org, sv.val = stamp, org, items[i + 1]
            fields[items[i]] = sv
        return h
    for i in range(0, len(items), 3):
        sv = StrValue()
        sv.stamp, sv.org = stamps[items[i + 2]]
        sv.val = items[i + 1]
        fields[items[i]] = sv
    return h


# -- sorted set ------------------------------------------------------------------------------
def pack_zset(z: ZSet, region_id: Callable[[str], int]) -> list[Any] | None:
    tags = _Tags(region_id)
    out: list[Any] = []
    for name, m in z.members.items():
        if type(m) is not tuple:  # a Member: several assignments or contributions
            return None
        score = m[3]
        out += (name, int(score) if score.is_integer() and -EXACT_INT <= score <= EXACT_INT else score,
                tags.of(m[0], m[1], m[2]))
    if len(tags.index) == 1:
        del out[2::3]
    return [tags.flat, out]


def unpack_zset(data: list[Any], names: list[str]) -> ZSet:
    flat, items = data
    tags = _tags(flat, names)
    z = ZSet()
    members = z.members
    index = []
    one = len(tags) == 1
    for i in range(0, len(items), 2 if one else 3):
        name, score = items[i], float(items[i + 1])
        t = tags[0 if one else items[i + 2]]
        members[name] = (t[0], t[1], t[2], score)
        index.append((score, name))
    index.sort()
    z.index = SmallIndex(index)
    return z


# -- list ------------------------------------------------------------------------------------
def pack_list(s: Sequence, region_id: Callable[[str], int]) -> list[Any] | None:
    tags = _Tags(region_id)
    out: list[Any] = []
    elems = s.elems
    for p in s.order:
        out.append(len(p))
        for c in p:
            out += (c[0], tags.of(c[1], c[2], c[3]))
        tag, value = elems[p]
        out += (tags.of(tag[0], tag[1], tag[2]), value)
    return [tags.flat, out]


def unpack_list(data: list[Any], names: list[str]) -> Sequence:
    flat, items = data
    tags = _tags(flat, names)
    components: dict[tuple[int, int], Component] = {}  # shared, as one push's elements share them
    order: list[Pos] = []
    elems: dict[Pos, tuple[Tag, bytes]] = {}
    i, n = 0, len(items)
    while i < n:
        k = items[i]
        i += 1
        pos: list[Component] = []
        for _ in range(k):
            d, t = items[i], items[i + 1]
            i += 2
            c = components.get((d, t))
            if c is None:
                tag = tags[t]
                c = components[(d, t)] = (d, tag[0], tag[1], tag[2])
            pos.append(c)
        p = tuple(pos)
        order.append(p)
        elems[p] = (tags[items[i]], items[i + 1])
        i += 2
    s = Sequence()
    s.order = _ordered(order)
    s.elems = elems
    return s


# -- set -------------------------------------------------------------------------------------
def pack_set(s: ORSet, region_id: Callable[[str], int]) -> list[Any] | None:
    tags = _Tags(region_id)
    out: list[Any] = []
    for m, t in s.members.items():
        if type(t) is not tuple:  # concurrent adds: several dots
            return None
        out += (m, tags.of(t[0], t[1], t[2]))
    if len(tags.index) == 1:
        del out[1::2]
    return [tags.flat, out]


def unpack_set(data: list[Any], names: list[str]) -> ORSet:
    flat, items = data
    tags = _tags(flat, names)
    s = ORSet()
    if len(tags) == 1:
        s.members = dict.fromkeys(items, tags[0])
    else:
        s.members = {items[i]: tags[items[i + 1]] for i in range(0, len(items), 2)}
    return s


PACKERS: dict[str, Callable[[Any, Callable[[str], int]], list[Any] | None]] = {
    "hash": pack_hash, "zset": pack_zset, "list": pack_list, "set": pack_set,
}
UNPACKERS: dict[str, Callable[[list[Any], list[str]], Any]] = {
    "hash": unpack_hash, "zset": unpack_zset, "list": unpack_list, "set": unpack_set,
}
