"""Observed-remove set, add-wins, without tombstones (riak_dt's ORSWOT idea).

Each member carries the tags of the adds that put it there: usually one, several after
concurrent adds. A remove deletes only the tags it observed (those its causal context covers),
so ``SREM x ‖ SADD x`` keeps ``x``. A re-add of a present member replaces the tags it observed
with its own. Nothing is kept for removed members: with causal delivery, the context of a
later effect says everything about what it saw.

A member's tags are stored as a single tag tuple in the common case and as a list of tags
after concurrent adds, to keep small sets small.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple

from crdt.clock import VV, Tag, covers
from crdt.effects import register_effect

from . import CRDTType, register

if TYPE_CHECKING:
    from crdt.keyspace import Keyspace

SET = "set"


class ORSet:
    __slots__ = ("members",)
    type_name: ClassVar[str] = SET

    def __init__(self) -> None:
        self.members: dict[bytes, Any] = {}

    def add(self, members: Iterable[bytes], tag: Tag, ctx: VV) -> None:
        store = self.members
        for m in members:
            old = store.get(m)
            if old is None or (type(old) is tuple and covers(ctx, old)):
                store[m] = tag
            else:
                kept = [t for t in _tags(old) if not covers(ctx, t)]
                if tag in kept:
                    continue  # already applied
                kept.append(tag)
                store[m] = kept[0] if len(kept) == 1 else sorted(kept)

    def remove(self, members: Iterable[bytes], ctx: VV) -> None:
        store = self.members
        for m in members:
            old = store.get(m)
            if old is not None:
                self._remove_member(m, old, ctx)

    def remove_observed(self, ctx: VV) -> None:
        for m, old in list(self.members.items()):
            self._remove_member(m, old, ctx)

    def _remove_member(self, m: bytes, old: Any, ctx: VV) -> None:
        if type(old) is tuple:
            if covers(ctx, old):
                del self.members[m]
            return
        kept = [t for t in old if not covers(ctx, t)]
        if not kept:
            del self.members[m]
        else:
            self.members[m] = kept[0] if len(kept) == 1 else kept

    def merge_from(self, other: ORSet, self_vv: VV, other_vv: VV) -> None:
        for m in set(self.members) | set(other.members):
            mine = set(_tags(self.members.get(m)))
            theirs = set(_tags(other.members.get(m)))
            kept = sorted(
                [t for t in mine if t in theirs or not covers(other_vv, t)]
                + [t for t in theirs if t not in mine and not covers(self_vv, t)]
            )
            if not kept:
                self.members.pop(m, None)
            else:
                self.members[m] = kept[0] if len(kept) == 1 else kept

    def encode(self, region_id: Callable[[str], int]) -> Any:
        return [[m, [[t[0], region_id(t[1]), t[2]] for t in _tags(tags)]] for m, tags in self.members.items()]

    @classmethod
    def decode(cls, data: Any, names: list[str]) -> ORSet:
        oset = cls()
        for m, tags in data:
            decoded = [(t[0], names[t[1]], t[2]) for t in tags]
            oset.members[m] = decoded[0] if len(decoded) == 1 else decoded
        return oset

    # -- reads -----------------------------------------------------------------------------
    def is_empty(self) -> bool:
        return not self.members

    def visible(self) -> list[bytes]:
        return sorted(self.members)

    def __len__(self) -> int:
        return len(self.members)

    def __contains__(self, member: bytes) -> bool:
        return member in self.members

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.members)

    def latest(self) -> tuple:
        best: tuple = (0, "", 0)
        for tags in self.members.values():
            for t in _tags(tags):
                if t > best:
                    best = t
        return best

    def tags_of(self, member: bytes) -> list[Tag]:
        return _tags(self.members.get(member))


def _tags(stored: Any) -> list[Tag]:
    if stored is None:
        return []
    if type(stored) is tuple:
        return [stored]
    return list(stored)


# -- effects ------------------------------------------------------------------------------
class SetAdd(NamedTuple):
    db: int
    key: bytes
    members: tuple[bytes, ...]


class SetRemove(NamedTuple):
    db: int
    key: bytes
    members: tuple[bytes, ...]


def _members_decoder(cls: Any) -> Callable[[list[Any]], Any]:
    return lambda f: cls(f[0], f[1], tuple(f[2]))


register_effect(SetAdd, 5, creates=True, decode=_members_decoder(SetAdd))
register_effect(SetRemove, 6, decode=_members_decoder(SetRemove))


def _add(ks: Keyspace, e: SetAdd, tag: Tag, ctx: VV) -> None:
    db, entry, oset = ks.open(e.db, e.key, SET, tag, ctx)
    oset.add(e.members, tag, ctx)
    ks.settle(db, e.key, entry)


def _remove(ks: Keyspace, e: SetRemove, tag: Tag, ctx: VV) -> None:
    db, entry, oset = ks.open(e.db, e.key, SET, tag, ctx)
    oset.remove(e.members, ctx)
    ks.settle(db, e.key, entry)


register(CRDTType(SET, 1, ORSet, ORSet.decode, {SetAdd: _add, SetRemove: _remove}))
