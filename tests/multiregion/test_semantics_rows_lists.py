"""SEMANTICS.md "Lists (sequence)", end to end: three real regions, writes made while every link
is partitioned (so they are concurrent), then heal, converge (same VV and CRDT.DIGEST) and
read the same list everywhere."""

from __future__ import annotations

from tests.multiregion.rowkit import Rows, make_fixtures

cluster, rows = make_fixtures()

W, E, EU = 0, 1, 2  # us-west, us-east, eu-west


def lrange(rows: Rows, key: str) -> list[bytes]:
    got: list[bytes] = rows.same("LRANGE", key, 0, -1)
    return got


def test_concurrent_pushes_at_both_ends_are_all_kept_in_one_order(rows: Rows) -> None:
    rows.call(W, "RPUSH", "l1", "m")
    with rows.partitioned():
        rows.call(W, "LPUSH", "l1", "w1", "w2")
        rows.call(E, "LPUSH", "l1", "e1")
        rows.call(EU, "RPUSH", "l1", "eu1", "eu2")
        rows.call(W, "RPUSH", "l1", "w3")
    got = lrange(rows, "l1")
    assert sorted(got) == sorted([b"w1", b"w2", b"e1", b"m", b"eu1", b"eu2", b"w3"])
    assert got.index(b"m") == 3  # the three head pushes before it, the three tail pushes after
    assert got.index(b"w1") == got.index(b"w2") + 1 and got.index(b"eu2") == got.index(b"eu1") + 1


def test_concurrent_lpop_pops_at_least_once(rows: Rows) -> None:
    rows.call(W, "RPUSH", "l2", "a", "b", "c")
    with rows.partitioned():
        assert rows.call(W, "LPOP", "l2") == b"a"
        assert rows.call(E, "LPOP", "l2") == b"a"
    assert lrange(rows, "l2") == [b"b", b"c"]


def test_lset_concurrent_with_lrem_is_not_revived(rows: Rows) -> None:
    rows.call(W, "RPUSH", "l3", "a", "b", "c")
    with rows.partitioned():
        rows.call(W, "LSET", "l3", 1, "B")
        rows.call(E, "LREM", "l3", 0, "b")
    assert lrange(rows, "l3") == [b"a", b"c"]


def test_del_concurrent_with_lpush_leaves_the_push(rows: Rows) -> None:
    rows.call(W, "RPUSH", "l4", "a", "b")
    with rows.partitioned():
        rows.call(W, "DEL", "l4")
        rows.call(EU, "LPUSH", "l4", "y")
    assert lrange(rows, "l4") == [b"y"]
    assert rows.same("TYPE", "l4") == b"list"
