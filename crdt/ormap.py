"""Hash: an observed-remove map from field to string value (register + counter).

HSET/HSETNX/HMSET assign a field (register rules), HINCRBY/HINCRBYFLOAT add to a field's
counter, HDEL removes only what it observed of a field — so ``HSET f ‖ HDEL f`` keeps ``f``.
Different fields never conflict. A field exists while its value has any live assignment or
contribution.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from .clock import VV, Tag
from .strings import Number, StrValue


class ORMap:
    __slots__ = ("fields",)

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
                sv.remove(ctx)
                if sv.is_empty():
                    del fields[f]

    def remove_all(self, ctx: VV) -> None:
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

    # -- reads -----------------------------------------------------------------------------
    def is_empty(self) -> bool:
        return not self.fields

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
