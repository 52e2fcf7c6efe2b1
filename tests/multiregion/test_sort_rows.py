"""SORT ... STORE over three real regions: the destination is replaced (``Delete`` + ``ListPush``
in one batch) everywhere, and a concurrent push the replace did not observe is kept."""

from __future__ import annotations

from tests.multiregion.rowkit import Rows, make_fixtures

cluster, rows = make_fixtures()

W, E, EU = 0, 1, 2  # us-west, us-east, eu-west


def test_sort_store_replicates_and_replaces(rows: Rows) -> None:
    rows.call(W, "RPUSH", "s:src", "3", "1", "2")
    rows.call(W, "MSET", "s:w_1", "30", "s:w_2", "20", "s:w_3", "10")
    rows.call(W, "SET", "s:dst", "old")
    rows.digests_equal()
    assert rows.call(W, "SORT", "s:src", "BY", "s:w_*", "GET", "#", "GET", "s:w_*", "STORE", "s:dst") == 6
    rows.digests_equal()
    assert rows.same("TYPE", "s:dst") == b"list"
    assert rows.same("LRANGE", "s:dst", "0", "-1") == [b"3", b"10", b"2", b"20", b"1", b"30"]
    assert rows.call(E, "SORT", "s:nosuch", "STORE", "s:dst") == 0  # empty: the key goes
    rows.digests_equal()
    assert rows.same("EXISTS", "s:dst") == 0


def test_sort_store_keeps_an_unobserved_push(rows: Rows) -> None:
    rows.call(W, "RPUSH", "s:src2", "b", "a")
    rows.call(W, "RPUSH", "s:dst2", "old")
    rows.digests_equal()
    with rows.partitioned():
        assert rows.call(W, "SORT", "s:src2", "ALPHA", "STORE", "s:dst2") == 2
        rows.call(E, "RPUSH", "s:dst2", "new")
    rows.digests_equal()
    assert sorted(rows.same("LRANGE", "s:dst2", "0", "-1")) == [b"a", b"b", b"new"]
    assert rows.same("SORT_RO", "s:dst2", "ALPHA") == [b"a", b"b", b"new"]
