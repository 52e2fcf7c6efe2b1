"""The HLL string format (crdt/hyperloglog.py) on its own: render/parse round-trips, the
register maximum, and the sparse writer against the canonical encoding. Byte-for-byte
agreement with Redis itself is tests/compat/test_hll_vs_redis.py."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from crdt import hyperloglog as H


@st.composite
def registers(draw: st.DrawFn) -> bytearray:
    regs = bytearray(H.REGISTERS)
    top = draw(st.sampled_from((3, 32, 63)))
    for index, value in draw(st.lists(st.tuples(st.integers(0, H.REGISTERS - 1), st.integers(1, top)),
                                      max_size=draw(st.sampled_from((5, 300, 3000))))):
        regs[index] = value
    return regs


@settings(max_examples=60, deadline=None)
@given(registers(), st.booleans(), st.integers(0, (1 << 64) - 1))
def test_render_parse_round_trip(regs: bytearray, dense: bool, card: int) -> None:
    data = H.render(regs, dense, card)
    parsed = H.parse(data)
    assert parsed.regs == regs
    assert parsed.card == card
    assert parsed.encoding == (H.DENSE if dense or H.needs_dense(regs) else H.SPARSE)
    assert H.render(parsed.regs, parsed.encoding == H.DENSE, parsed.card) == data


@settings(max_examples=40, deadline=None)
@given(registers(), registers())
def test_reg_max_is_the_register_wise_maximum(a: bytearray, b: bytearray) -> None:
    assert H.reg_max(a, b) == bytes(map(max, a, b))


@settings(max_examples=40, deadline=None)
@given(registers())
def test_writing_registers_in_index_order_gives_the_canonical_sparse_string(regs: bytearray) -> None:
    if H.needs_dense(regs):
        return
    writer = H.SparseWriter(H.sparse_bytes(bytes(H.REGISTERS)) or b"")
    for index, value in enumerate(regs):
        if value:
            result = writer.update(index, value)
            if result == -1:  # Redis checks the length before merging runs: it may promote
                return
            assert result == 1
    assert bytes(writer.s) == H.sparse_bytes(regs)


def test_corrupt_and_foreign_strings() -> None:
    good = H.render(bytearray(H.REGISTERS), False, 0)
    for bad in (b"", b"HYLL", b"HYLX" + good[4:], good[:4] + b"\x02" + good[5:], H.header(H.DENSE, 0) + b"x"):
        try:
            H.parse(bad)
        except H.NotHll:
            continue
        raise AssertionError(bad)
    for bad in (good + b"\x00", good[:-1], H.header(H.SPARSE, 0) + b"\xff" * 5000):
        try:
            H.parse(bad)
        except H.Corrupt:
            continue
        raise AssertionError(bad)
