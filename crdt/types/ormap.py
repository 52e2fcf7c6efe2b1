"""Hash: an observed-remove map from field to string value (register + counter).

HSET/HSETNX/HMSET assign a field (register rules), HINCRBY/HINCRBYFLOAT add to a field's
counter, HDEL removes only what it observed of a field — so ``HSET f ‖ HDEL f`` keeps ``f``.
Different fields never conflict. A field exists while its value has any live assignment or
contribution.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple

from crdt.clock import VV, Tag
from crdt.effects import register_effect

from . import CRDTType, register
from .strings import Number, StrValue, decode_delta, encode_delta

if TYPE_CHECKING:
    from crdt.keyspace import Keyspace

HASH = "hash"


class ORMap:
    __slots__ = ("fields",)
    type_name: ClassVar[str] = HASH

    def __init__(self) -> None:
        self.fields: dict[bytes, StrValue] = {}

    def assign(self, pairs: Iterable[tuple[bytes, bytes]], tag: Tag, ctx: VV) -> bool:
        conflict = False
        fields = self.fields
        for f, v in pairs:
            sv = fields.get(f)
            if sv is None:
                sv = fields[f] = StrValue()
            conflict |= sv.assign(tag, v, ctx)
        return conflict

    def add(self, field: bytes, tag: Tag, delta: Number, stable: VV) -> None:
        sv = self.fields.get(field)
        if sv is None:
            sv = self.fields[field] = StrValue()
        sv.add(tag, delta, stable)

    def remove(self, names: Iterable[bytes], ctx: VV) -> None:
        fields = self.fields
        for f in names:
            sv = fields.get(f)
            if sv is not None:
                sv.remove_observed(ctx)
                if sv.is_empty():
                    del fields[f]

    def remove_observed(self, ctx: VV) -> None:
        self.remove(list(self.fields), ctx)

    def merge_from(self, other: ORMap, self_vv: VV, other_vv: VV) -> None:
        for f in set(self.fields) | set(other.fields):
            mine = self.fields.get(f) or StrValue()
            theirs = other.fields.get(f) or StrValue()
            mine.merge_from(theirs, self_vv, other_vv)
            if mine.is_empty():
                self.fields.pop(f, None)
            else:
                self.fields[f] = mine

    def encode(self, region_id: Callable[[str], int]) -> Any:
        return [[f, sv.encode(region_id)] for f, sv in self.fields.items()]

    @classmethod
    def decode(cls, data: Any, names: list[str]) -> ORMap:
        omap = cls()
        for f, enc in data:
            sv = StrValue.decode(enc, names)
            if not sv.is_empty():
                omap.fields[f] = sv
        return omap

    # -- reads -----------------------------------------------------------------------------
    def is_empty(self) -> bool:
        return not self.fields

    def visible(self) -> list[tuple[bytes, bytes]]:
        return sorted(self.items())

    def __len__(self) -> int:
        return len(self.fields)

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.fields)

    def get(self, field: bytes) -> bytes | None:
        sv = self.fields.get(field)
        return None if sv is None else sv.value()

    def items(self) -> Iterator[tuple[bytes, bytes]]:
        for f, sv in self.fields.items():
            yield f, sv.value()

    def latest(self) -> tuple:
        best: tuple = (0, "", 0)
        for sv in self.fields.values():
            t = sv.latest()
            if t > best:
                best = t
        return best


# -- effects ------------------------------------------------------------------------------
class HashSet(NamedTuple):
    db: int
    key: bytes
    pairs: tuple[tuple[bytes, bytes], ...]


class HashDelete(NamedTuple):
    db: int
    key: bytes
    fields: tuple[bytes, ...]


class HashIncr(NamedTuple):
    db: int
    key: bytes
    field: bytes
    delta: int | Decimal


register_effect(
    HashSet, 7, creates=True,
    encode=lambda e: (7, e.db, e.key, [x for p in e.pairs for x in p]),  # pairs flattened
    decode=lambda f: HashSet(f[0], f[1], tuple(zip(f[2][::2], f[2][1::2], strict=True))),
)
register_effect(HashDelete, 8, decode=lambda f: HashDelete(f[0], f[1], tuple(f[2])))
register_effect(HashIncr, 9, creates=True, encode=encode_delta(9), decode=decode_delta(HashIncr))


def _hash_set(ks: Keyspace, e: HashSet, tag: Tag, ctx: VV) -> None:
    db, entry, omap = ks.open(e.db, e.key, HASH, tag, ctx)
    if omap.assign(e.pairs, tag, ctx):
        ks.conflicts.record(e.db, e.key, "lww", tag, None)
    ks.settle(db, e.key, entry)


def _hash_delete(ks: Keyspace, e: HashDelete, tag: Tag, ctx: VV) -> None:
    db, entry, omap = ks.open(e.db, e.key, HASH, tag, ctx)
    omap.remove(e.fields, ctx)
    ks.settle(db, e.key, entry)


def _hash_incr(ks: Keyspace, e: HashIncr, tag: Tag, ctx: VV) -> None:
    db, entry, omap = ks.open(e.db, e.key, HASH, tag, ctx)
    omap.add(e.field, tag, e.delta, ks.stable)
    ks.settle(db, e.key, entry)


register(CRDTType(
    HASH, 1, ORMap, ORMap.decode, {HashSet: _hash_set, HashDelete: _hash_delete, HashIncr: _hash_incr},
))
