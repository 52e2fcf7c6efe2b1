"""SEMANTICS.md "Sorted sets", end to end over three real regions: the conflicting writes are
made while every link is partitioned, then the regions heal and must agree (VV and digest).
The clients speak RESP3: scores come back as floats."""

from __future__ import annotations

from tests.multiregion.rowkit import Rows, make_fixtures

cluster, rows = make_fixtures()

W, E, EU = 0, 1, 2  # us-west, us-east, eu-west


def test_zadd_zadd_greatest_timestamp_wins(rows: Rows) -> None:
    with rows.partitioned():
        rows.call(W, "ZADD", "z:lww", "1", "m")
        rows.later()
        rows.call(E, "ZADD", "z:lww", "2", "m")
    rows.digests_equal()
    assert rows.same("ZSCORE", "z:lww", "m") == 2.0


def test_zrem_zincrby_keeps_the_unobserved_increment(rows: Rows) -> None:
    rows.call(W, "ZADD", "z:inc", "4.1", "m", "1", "other")
    with rows.partitioned():
        assert rows.call(W, "ZREM", "z:inc", "m") == 1
        assert rows.call(E, "ZINCRBY", "z:inc", "2", "m") == 4.1 + 2
    rows.digests_equal()
    assert rows.same("ZRANGE", "z:inc", "0", "-1", "WITHSCORES") == [[b"other", 1.0], [b"m", 2.0]]


def test_zadd_zrem_add_wins_and_zincrby_both_count(rows: Rows) -> None:
    rows.call(W, "ZADD", "z:aw", "1", "m", "5", "n")
    with rows.partitioned():
        rows.call(W, "ZREM", "z:aw", "m")
        rows.call(E, "ZADD", "z:aw", "1", "m")
        rows.call(W, "ZINCRBY", "z:aw", "10", "n")
        rows.call(EU, "ZINCRBY", "z:aw", "100", "n")
    rows.digests_equal()
    assert rows.same("ZRANGE", "z:aw", "0", "-1", "WITHSCORES") == [[b"m", 1.0], [b"n", 115.0]]


def test_del_zadd_keeps_only_the_add(rows: Rows) -> None:
    rows.call(W, "ZADD", "z:del", "1", "a", "2", "b")
    with rows.partitioned():
        rows.call(W, "DEL", "z:del")
        rows.call(E, "ZADD", "z:del", "3", "c")
    rows.digests_equal()
    assert rows.same("ZRANGE", "z:del", "0", "-1", "WITHSCORES") == [[b"c", 3.0]]


def test_zremrangebyscore_removes_only_what_it_observed(rows: Rows) -> None:
    rows.call(W, "ZADD", "z:rr", "1", "a", "2", "b", "9", "keep")
    with rows.partitioned():
        assert rows.call(W, "ZREMRANGEBYSCORE", "z:rr", "0", "5") == 2
        rows.call(E, "ZADD", "z:rr", "3", "c")  # in range, unseen by the remove
        rows.call(EU, "ZINCRBY", "z:rr", "10", "b")  # only the increment survives
    rows.digests_equal()
    assert rows.same("ZRANGE", "z:rr", "0", "-1", "WITHSCORES") == [[b"c", 3.0], [b"keep", 9.0], [b"b", 10.0]]


def test_zremrangebyrank_emptying_deletes_the_key_but_not_a_concurrent_add(rows: Rows) -> None:
    rows.call(W, "ZADD", "z:rk", "1", "a", "2", "b")
    with rows.partitioned():
        assert rows.call(W, "ZREMRANGEBYRANK", "z:rk", "0", "-1") == 2
        assert rows.call(W, "EXISTS", "z:rk") == 0
        rows.call(E, "ZADD", "z:rk", "5", "n")
    rows.digests_equal()
    assert rows.same("ZRANGE", "z:rk", "0", "-1", "WITHSCORES") == [[b"n", 5.0]]


def test_zrangestore_replaces_what_it_observed_of_the_destination(rows: Rows) -> None:
    rows.call(W, "ZADD", "z:src", "1", "a", "2", "b", "3", "c")
    rows.call(W, "ZADD", "z:dst", "7", "old")
    with rows.partitioned():
        assert rows.call(W, "ZRANGESTORE", "z:dst", "z:src", "0", "1") == 2
        rows.call(E, "ZADD", "z:dst", "9", "new")  # unseen by the replace: kept
        assert rows.call(EU, "ZMPOP", "1", "z:src", "MAX") == [b"z:src", [[b"c", b"3"]]]  # RESP2: no float callback for ZMPOP
    rows.digests_equal()
    assert rows.same("ZRANGE", "z:dst", "0", "-1", "WITHSCORES") == [[b"a", 1.0], [b"b", 2.0], [b"new", 9.0]]
    assert rows.same("ZRANGE", "z:src", "0", "-1") == [b"a", b"b"]


def test_zunionstore_zinterstore_replace_what_they_observed_and_replicate(rows: Rows) -> None:
    rows.call(W, "ZADD", "z:a", "1", "a", "2", "b", "inf", "c")
    rows.call(W, "SADD", "z:s", "b", "c", "d")
    rows.call(W, "ZADD", "z:u", "7", "old")
    rows.call(W, "ZADD", "z:i", "7", "old")
    rows.call(W, "ZADD", "z:d", "7", "old")
    with rows.partitioned():
        assert rows.call(W, "ZUNIONSTORE", "z:u", "2", "z:a", "z:s", "WEIGHTS", "2", "0") == 4
        rows.call(E, "ZADD", "z:u", "9", "new")  # unseen by the replace: kept
        assert rows.call(EU, "ZINTERSTORE", "z:i", "2", "z:a", "z:s", "AGGREGATE", "MAX") == 2
        assert rows.call(EU, "ZDIFFSTORE", "z:d", "2", "z:s", "z:s") == 0  # empty: deletes
    rows.digests_equal()
    assert rows.same("ZRANGE", "z:u", "0", "-1", "WITHSCORES") == [
        [b"d", 0.0], [b"a", 2.0], [b"b", 4.0], [b"new", 9.0], [b"c", float("inf")],
    ]
    assert rows.same("ZRANGE", "z:i", "0", "-1", "WITHSCORES") == [[b"b", 2.0], [b"c", float("inf")]]
    assert rows.same("EXISTS", "z:d") == 0
