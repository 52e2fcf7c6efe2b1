"""BITOP / BITFIELD writes across regions follow the string register rules (SEMANTICS.md,
"Strings"): each assigns the whole resulting value, so concurrent ones resolve by the greatest
timestamp (like concurrent APPENDs: one side is kept), over three real regions."""

from __future__ import annotations

from tests.multiregion.rowkit import Rows, make_fixtures

cluster, rows = make_fixtures()

W, E, EU = 0, 1, 2  # us-west, us-east, eu-west


def test_concurrent_bitfield_writes_keep_the_later_whole_value(rows: Rows) -> None:
    rows.call(W, "SET", "bf", b"\x00\x00")
    with rows.partitioned():
        assert rows.call(W, "BITFIELD", "bf", "INCRBY", "u8", 0, 5) == [5]
        rows.later()
        assert rows.call(E, "BITFIELD", "bf", "SET", "u8", 8, 7) == [0]
    rows.digests_equal()
    assert rows.same("GET", "bf") == b"\x00\x07"  # us-east's value, written last, wins whole
    assert rows.same("BITFIELD_RO", "bf", "GET", "u8", 0, "GET", "u8", 8) == [0, 7]


def test_bitop_destination_is_an_assignment_and_an_empty_result_a_delete(rows: Rows) -> None:
    rows.call(W, "MSET", "b1", b"\xf0", "b2", b"\x0f")
    rows.c.wait_converged()
    with rows.partitioned():
        assert rows.call(W, "BITOP", "OR", "bdst", "b1", "b2") == 1
        rows.later()
        assert rows.call(EU, "BITOP", "AND", "bdst", "b1", "b2") == 1
    rows.digests_equal()
    assert rows.same("GET", "bdst") == b"\x00"
    assert rows.call(E, "BITOP", "OR", "bdst", "nosuch") == 0  # nothing to store: deleted
    rows.c.wait_converged()
    assert rows.same("EXISTS", "bdst") == 0
