"""The compact packed forms (crdt/compact.py): unpacking a packed content gives back the same
state (its ``encode``, what snapshots and state merge carry) and the same reads, whatever the
history made it; the compact form is used exactly when every item is plain, the content's own
codec otherwise; and the compact form is the smaller one."""

from __future__ import annotations

from typing import Any

import msgpack
from hypothesis import given, settings
from hypothesis import strategies as st

from crdt.compact import PACKERS
from crdt.packing import COMPACT, GENERIC, pack, region_id, unpack
from crdt.types.ormap import ORMap
from crdt.types.orset import ORSet
from crdt.types.sequence import Sequence, between
from crdt.types.zset import ZSet

REGIONS = ("eu", "us", "ap")
HLC = 117_711_619_824_943_104  # a realistic HLC (ms << 16)
TAGS = st.tuples(st.integers(HLC, HLC + 5), st.sampled_from(REGIONS), st.integers(1, 6))
NAMES = st.binary(max_size=4)
SCORES = st.one_of(st.integers(-(2**60), 2**60).map(float), st.floats(allow_nan=False),
                   st.sampled_from([0.5, -0.0, 2.0**53, 2.0**53 + 2, -(2.0**53) - 2, float("inf"), float("-inf")]))
# (op, tag, name, value, how much of the earlier writes the op observed)
OPS = st.lists(st.tuples(st.integers(0, 3), TAGS, NAMES, SCORES, st.integers(0, 6)), min_size=1, max_size=30)


def ctx_of(tag: tuple[int, str, int], seen: int) -> dict[str, int]:
    """A causal context: ``seen`` writes of every region (but never the write's own dot)."""
    return {r: (min(seen, tag[2] - 1) if r == tag[1] else seen) for r in REGIONS}


def build(kind: str, ops: list[Any]) -> Any:
    if kind == "hash":
        h = ORMap()
        for op, tag, name, _, seen in ops:
            if op == 3:
                h.add(name, tag, int(seen), {})  # a counter contribution: not plain
            elif op == 2:
                h.remove([name], ctx_of(tag, seen))
            else:
                h.assign([(name, b"%d" % seen)], tag, ctx_of(tag, seen))
        return h
    if kind == "zset":
        z = ZSet()
        for op, tag, name, score, seen in ops:
            if op == 3 and score not in (float("inf"), float("-inf")):
                z.add(name, tag, score, {})
            elif op == 2:
                z.remove([name], ctx_of(tag, seen))
            else:
                z.assign([(name, score)], tag, ctx_of(tag, seen))
        return z
    if kind == "set":
        s = ORSet()
        for op, tag, name, _, seen in ops:
            if op == 2:
                s.remove([name], ctx_of(tag, seen))
            else:
                s.add([name], tag, ctx_of(tag, seen))
        return s
    seq = Sequence()
    for op, tag, name, _, seen in ops:
        order = list(seq.order)
        if op == 2 and order:
            seq.remove([order[seen % len(order)]])
        elif op == 3 and order:
            seq.set_value(order[seen % len(order)], name, tag, ctx_of(tag, seen))
        else:  # an insert anywhere, so positions grow several components long
            i = seen % (len(order) + 1)
            prefix, digit = between(order[i - 1] if i > 0 else None, order[i] if i < len(order) else None)
            seq.insert(prefix, digit, [name] * (1 + seen % 2), tag)
    return seq


def plain(kind: str, c: Any) -> bool:
    if kind == "hash":
        return all(sv.x is None for sv in c.fields.values())
    if kind == "zset":
        return all(type(m) is tuple for m in c.members.values())
    if kind == "set":
        return all(type(t) is tuple for t in c.members.values())
    return True


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(["hash", "zset", "list", "set"]), OPS)
def test_unpack_of_pack_is_the_same_content(kind: str, ops: list[Any]) -> None:
    c = build(kind, ops)
    if c.is_empty():
        return
    packed = pack(c)
    assert packed is not None and packed.type_name == kind
    form = msgpack.unpackb(packed, raw=True, strict_map_key=False)[0]
    assert form == (COMPACT if plain(kind, c) else GENERIC)
    back = unpack(packed)
    assert type(back) is type(c)
    assert back.encode(region_id) == c.encode(region_id)
    assert back.visible() == c.visible() and back.latest() == c.latest() and len(back) == len(c)
    if kind == "zset":
        assert list(back.index) == list(c.index)  # Redis's order, scores bit for bit
        assert [str(s) for s, _ in back.index] == [str(s) for s, _ in c.index]
    if kind == "list":
        assert list(back.order) == list(c.order) and back.elems == c.elems
    assert pack(back) == packed  # packing is deterministic: the same content, the same bytes


@settings(max_examples=50, deadline=None)
@given(st.sampled_from(["hash", "zset", "list", "set"]), OPS)
def test_the_compact_form_is_smaller_than_the_generic_one(kind: str, ops: list[Any]) -> None:
    c = build(kind, ops)
    if c.is_empty() or not plain(kind, c):
        return
    form = PACKERS[kind](c, region_id)
    generic = msgpack.packb([GENERIC, c.encode(region_id)], use_bin_type=True)
    assert form is not None and len(msgpack.packb([COMPACT, *form], use_bin_type=False)) <= len(generic)


def test_ten_items_written_by_one_command_pack_small() -> None:
    """The benchmark's shapes: one HSET/ZADD/RPUSH/SADD of ten items."""
    tag = (HLC, "eu", 7)
    h, z, s, seq = ORMap(), ZSet(), ORSet(), Sequence()
    h.assign([(b"f%d" % i, b"v") for i in range(10)], tag, {})
    z.assign([(b"m%d" % i, float(i)) for i in range(10)], tag, {})
    s.add([b"m%d" % i for i in range(10)], tag, {})
    seq.insert(*between(None, None), [b"e%d" % i for i in range(10)], tag)
    sizes = {c.type_name: len(pack(c) or b"") for c in (h, z, s, seq)}
    assert sizes["hash"] <= 70 and sizes["zset"] <= 60 and sizes["set"] <= 50 and sizes["list"] <= 110, sizes
    back = unpack(pack(seq))  # type: ignore[arg-type]
    assert len({id(p[0]) for p in back.order}) == 1  # one shared first component, as when pushed
