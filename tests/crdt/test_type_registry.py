"""The type registry: a content type defined outside the keyspace works end to end.

A toy type ("toymax": the greatest integer written, concurrent writes kept until observed) is
defined here the way a module under ``crdt/types/`` defines one, registered, and then used
through the unchanged keyspace, codec, state stream and digest: local and replicated writes,
type shadows against strings, DEL, state merge. Nothing outside this file names it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

import msgpack
import pytest

from crdt import state
from crdt.clock import VV, Tag, covers
from crdt.codec import decode_batch, encode_batch
from crdt.digest import keyspace_digest
from crdt.effects import EFFECT_TYPES, EFFECTS, Delete, register_effect
from crdt.keyspace import Keyspace
from crdt.types import _TYPES, CRDTType, register, registered
from crdt.types.strings import STRING, Assign

from .test_semantics_rows import T0, region, write

TOY = "toymax"
K = b"k"


class ToyMax:
    __slots__ = ("writes",)
    type_name = TOY

    def __init__(self) -> None:
        self.writes: list[tuple[int, str, int, int]] = []  # (hlc, region, seq, value)

    def remove_observed(self, ctx: VV) -> None:
        self.writes = [w for w in self.writes if not covers(ctx, w)]

    def is_empty(self) -> bool:
        return not self.writes

    def latest(self) -> tuple:
        return max(self.writes)[:3] if self.writes else (0, "", 0)

    def merge_from(self, other: ToyMax, mine: VV, theirs: VV) -> None:
        both = set(self.writes) & set(other.writes)
        self.writes = sorted(both | {w for w in self.writes if not covers(theirs, w)}
                             | {w for w in other.writes if not covers(mine, w)})

    def encode(self, region_id: Callable[[str], int]) -> Any:
        return [[w[0], region_id(w[1]), w[2], w[3]] for w in self.writes]

    @classmethod
    def decode(cls, data: Any, names: list[str]) -> ToyMax:
        t = cls()
        t.writes = [(w[0], names[w[1]], w[2], w[3]) for w in data]
        return t

    def visible(self) -> int:
        return max(w[3] for w in self.writes)


class ToyWrite(NamedTuple):
    db: int
    key: bytes
    value: int


def _write(ks: Keyspace, e: ToyWrite, tag: Tag, ctx: VV) -> None:
    db, entry, toy = ks.open(e.db, e.key, TOY, tag, ctx)
    toy.remove_observed(ctx)
    toy.writes.append((tag[0], tag[1], tag[2], e.value))
    ks.settle(db, e.key, entry)


@pytest.fixture
def toy_type() -> Iterator[None]:
    registered()
    register_effect(ToyWrite, 250, creates=True)
    register(CRDTType(TOY, 1, ToyMax, ToyMax.decode, {ToyWrite: _write}))
    try:
        yield
    finally:
        del _TYPES[TOY], EFFECTS[ToyWrite], EFFECT_TYPES[250]


def _via_codec(ks: Keyspace, batch: Any) -> None:
    copy = decode_batch(encode_batch(batch))
    assert ks.ready(copy)
    ks.apply_batch(copy)


def _records(ks: Keyspace) -> Iterator[Any]:
    for rec in state.dump(ks):
        yield msgpack.unpackb(rec, raw=False, strict_map_key=False)


def _toy(ks: Keyspace) -> ToyMax:
    entry = ks.dbs[0].get(K, T0)
    assert entry is not None and entry.kind == TOY
    toy: ToyMax = entry.content()
    return toy


def test_a_registered_type_replicates_merges_and_digests_like_the_built_in_ones(toy_type: None) -> None:
    us, eu = region("us"), region("eu")
    a = write(us, T0, ToyWrite(0, K, 5))
    b = write(eu, T0, ToyWrite(0, K, 7))  # concurrent
    _via_codec(us, b)
    _via_codec(eu, a)
    assert _toy(us).visible() == _toy(eu).visible() == 7
    assert keyspace_digest(us) == keyspace_digest(eu)
    newcomer = region("ap")  # catches up by state merge
    state.merge(newcomer, _records(us))
    assert _toy(newcomer).visible() == 7 and keyspace_digest(newcomer) == keyspace_digest(us)
    # a later write observes both concurrent ones and replaces them
    c = write(us, T0, ToyWrite(0, K, 1))
    _via_codec(eu, c)
    assert _toy(eu).visible() == 1 and len(_toy(eu).writes) == 1


def test_a_registered_type_shadows_and_is_deleted_like_the_built_in_ones(toy_type: None) -> None:
    us, eu = region("us"), region("eu")
    toy = write(us, T0, ToyWrite(0, K, 5))
    string = write(eu, T0, Assign(0, K, b"v"))  # concurrent: two types, the later tag shows
    _via_codec(us, string)
    _via_codec(eu, toy)
    shown = TOY if (toy.hlc, "us") > (string.hlc, "eu") else STRING
    for ks in (us, eu):
        entry = ks.dbs[0].entries[K]
        assert {c.type_name for c in entry.parts()} == {TOY, STRING}
        assert entry.kind == shown
    assert keyspace_digest(us) == keyspace_digest(eu)
    gone = write(us, T0, Delete(0, K))  # observed both contents: removes both
    _via_codec(eu, gone)
    assert K not in us.dbs[0].entries and K not in eu.dbs[0].entries
