"""SEMANTICS.md, row by row, end to end: strings, counters, sets and hashes.

Each test makes the conflicting writes in two or three regions while every link is
partitioned (so they are concurrent), heals, waits until every region has the same VV and
``CRDT.DIGEST``, and checks the row's expected values in every region — and, where the row
says so, that the conflict was counted (``INFO crdt``) and logged (``CRDT.CONFLICTS``).

Keys, deletion, type conflicts, expiry, FLUSHDB/FLUSHALL, RENAME/COPY and the global
guarantees G3, G4 and G6 are in ``test_semantics_rows_keys.py``; sorted sets in
``test_zset_rows.py``, lists in ``test_semantics_rows_lists.py``.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
import redis

from tests.multiregion.rowkit import Rows, grew, make_fixtures

cluster, rows = make_fixtures()

W, E, EU = 0, 1, 2  # us-west, us-east, eu-west


# -- strings (registers) --------------------------------------------------------------------


def test_set_set_greatest_timestamp_wins_and_is_logged(rows: Rows) -> None:
    before = rows.all_counts()
    with rows.partitioned():
        rows.call(W, "SET", "r:set", "from-west")
        rows.later()
        rows.call(E, "SET", "r:set", "from-east")  # later in wall-clock time: wins
        rows.later()
        # the other order for a second key: the third region writes last
        rows.call(E, "SET", "r:set2", "from-east")
        rows.later()
        rows.call(EU, "SET", "r:set2", "from-eu")
    rows.digests_equal()
    assert rows.same("GET", "r:set") == b"from-east"
    assert rows.same("GET", "r:set2") == b"from-eu"
    after = rows.all_counts()
    # every region saw the two writes as concurrent (the second one it applied met the first)
    assert all(g >= 2 for g in grew(before, after, "lww")), (before, after)
    for i in range(3):
        logged = rows.conflicts_for(i, b"r:set", "lww")
        assert logged, f"region {i} logged no conflict for r:set"
        assert logged[0]["winner_region"] == b"us-east"
        assert logged[0]["loser_region"] == b"us-west"
        assert logged[0]["winner_time_ms"] >= logged[0]["loser_time_ms"]
        logged = rows.conflicts_for(i, b"r:set2", "lww")
        assert logged and logged[0]["winner_region"] == b"eu-west"
        assert logged[0]["loser_region"] == b"us-east"


def test_causally_later_set_replaces_without_conflict(rows: Rows) -> None:
    rows.call(W, "SET", "r:seq", "one")
    rows.c.wait_converged()
    before = rows.all_counts()
    rows.call(E, "SET", "r:seq", "two")  # E observed "one"
    rows.c.wait_converged()
    assert rows.same("GET", "r:seq") == b"two"
    assert grew(before, rows.all_counts(), "lww") == [0, 0, 0]


def test_concurrent_appends_keep_one_side_and_count(rows: Rows) -> None:
    rows.call(W, "SET", "r:app", "base")
    before_w = rows.all_counts()
    with rows.partitioned():
        rows.call(W, "APPEND", "r:app", "-west")
        rows.later()
        rows.call(E, "APPEND", "r:app", "-east")
    assert rows.same("GET", "r:app") == b"base-east"
    assert all(g >= 1 for g in grew(before_w, rows.all_counts(), "lww"))


def test_concurrent_setrange_and_mset_are_whole_value_lww(rows: Rows) -> None:
    rows.call(W, "SET", "r:rng", "aaaa")
    with rows.partitioned():
        rows.call(E, "SETRANGE", "r:rng", 0, "XY")
        rows.call(EU, "MSET", "r:m1", "eu", "r:m2", "eu")
        rows.later()
        rows.call(W, "SETRANGE", "r:rng", 2, "ZZ")
        rows.call(W, "MSET", "r:m1", "west", "r:m2", "west")
    assert rows.same("GET", "r:rng") == b"aaZZ"  # not a merge of the two edits
    assert rows.same("MGET", "r:m1", "r:m2") == [b"west", b"west"]


# -- counters -------------------------------------------------------------------------------


def test_concurrent_increments_all_count(rows: Rows) -> None:
    with rows.partitioned():
        rows.call(W, "INCRBY", "r:ctr", 7)
        rows.call(E, "INCRBY", "r:ctr", 3)
        rows.call(EU, "DECR", "r:ctr2")
        rows.call(W, "INCRBY", "r:ctr2", 5)
    assert rows.same("GET", "r:ctr") == b"10"
    assert rows.same("GET", "r:ctr2") == b"4"
    # and the merged counter keeps counting from the sum
    assert rows.call(EU, "INCR", "r:ctr") == 11


def test_set_concurrent_with_incr_keeps_the_increment(rows: Rows) -> None:
    with rows.partitioned():
        rows.call(E, "INCR", "r:si")  # earlier
        rows.call(W, "INCR", "r:is")
        rows.later()
        rows.call(W, "SET", "r:si", 100)  # later assignment wins, the increment survives
        rows.call(E, "SET", "r:is", 100)
    assert rows.same("GET", "r:si") == b"101"
    assert rows.same("GET", "r:is") == b"101"


def test_set_resets_only_observed_increments(rows: Rows) -> None:
    rows.call(W, "INCRBY", "r:obs", 40)
    with rows.partitioned():
        rows.call(E, "SET", "r:obs", 1)  # observed the +40: resets it
        rows.call(W, "INCRBY", "r:obs", 2)  # unobserved by the SET: survives
    assert rows.same("GET", "r:obs") == b"3"


def test_del_concurrent_with_incr_leaves_the_increment(rows: Rows) -> None:
    rows.call(W, "SET", "r:delinc", 50)
    with rows.partitioned():
        rows.call(W, "DEL", "r:delinc")
        rows.call(E, "INCRBY", "r:delinc", 5)
    assert rows.same("EXISTS", "r:delinc") == 1
    assert rows.same("GET", "r:delinc") == b"5"


def test_local_incr_errors_ship_nothing(rows: Rows) -> None:
    rows.call(W, "SET", "r:notint", "abc")
    rows.call(W, "SET", "r:max", str(2**63 - 1))
    rows.call(W, "SET", "r:flt", "1.5")
    rows.c.wait_converged()
    vv = rows.vv(W)
    for cmd, msg in [
        (("INCR", "r:notint"), "value is not an integer or out of range"),
        (("INCRBY", "r:flt", 1), "value is not an integer or out of range"),
        (("INCR", "r:max"), "increment or decrement would overflow"),
        (("INCRBY", "r:max", 1), "increment or decrement would overflow"),
        (("DECRBY", "r:max", -1), "increment or decrement would overflow"),
        (("INCRBYFLOAT", "r:notint", 1), "value is not a valid float"),
    ]:
        with pytest.raises(redis.ResponseError, match=msg):
            rows.call(W, *cmd)
    assert rows.vv(W) == vv  # no effect was made
    rows.c.wait_converged()
    assert rows.same("MGET", "r:notint", "r:max", "r:flt") == [b"abc", str(2**63 - 1).encode(), b"1.5"]


def test_non_numeric_assignment_masks_concurrent_increments(rows: Rows) -> None:
    before = rows.all_counts()
    with rows.partitioned():
        rows.call(E, "INCRBY", "r:mask", 5)
        rows.later()
        rows.call(W, "SET", "r:mask", "abc")
    assert rows.same("GET", "r:mask") == b"abc"
    assert rows.same("STRLEN", "r:mask") == 3
    # the west region applied a remote increment onto its non-numeric value: a conflict
    assert grew(before, rows.all_counts(), "counter_masked")[W] >= 1
    assert rows.conflicts_for(W, b"r:mask", "counter_masked")
    with pytest.raises(redis.ResponseError, match="not an integer"):
        rows.call(EU, "INCR", "r:mask")
    # a later numeric assignment observes the masked contribution: it is gone for good
    rows.call(EU, "SET", "r:mask", 10)
    rows.c.wait_converged()
    assert rows.same("GET", "r:mask") == b"10"


def test_merged_integer_beyond_64_bits(rows: Rows) -> None:
    big = 2**63 - 10
    rows.call(W, "SET", "r:huge", big)
    with rows.partitioned():
        rows.call(W, "INCRBY", "r:huge", 8)
        rows.call(E, "INCRBY", "r:huge", 8)
    assert rows.same("GET", "r:huge") == str(big + 16).encode()
    with pytest.raises(redis.ResponseError, match="increment or decrement would overflow"):
        rows.call(EU, "INCR", "r:huge")


def test_incrbyfloat_sums_print_the_same_digits_everywhere(rows: Rows) -> None:
    deltas = {W: ["0.1", "1e-3", "3.3"], E: ["0.2", "-7.25", "1"], EU: ["1.1", "2.2", "0.000001"]}
    with rows.partitioned():
        for i, ds in deltas.items():
            for d in ds:
                rows.call(i, "INCRBYFLOAT", "r:flt2", d)
        rows.call(W, "INCRBY", "r:mix", 2)
        rows.call(E, "INCRBYFLOAT", "r:mix", "0.5")
    expected = sum((Decimal(d) for ds in deltas.values() for d in ds), Decimal(0))
    value = rows.same("GET", "r:flt2")
    assert Decimal(value.decode()) == expected
    assert value == b"0.651001"
    assert rows.same("GET", "r:mix") == b"2.5"  # a float contribution makes the value a float


# -- sets -----------------------------------------------------------------------------------


def members(reply: list[bytes]) -> set[bytes]:
    return set(reply)


def test_concurrent_sadds_keep_both(rows: Rows) -> None:
    with rows.partitioned():
        rows.call(W, "SADD", "r:s", "x")
        rows.call(E, "SADD", "r:s", "y")
        rows.call(EU, "SADD", "r:s", "x", "z")
    assert rows.same("SMEMBERS", "r:s", key=members) == {b"x", b"y", b"z"}
    assert rows.same("SCARD", "r:s") == 3


def test_srem_concurrent_with_sadd_keeps_the_member(rows: Rows) -> None:
    rows.call(W, "SADD", "r:sr", "x", "y", "z")
    with rows.partitioned():
        rows.call(W, "SREM", "r:sr", "x", "y")
        rows.call(E, "SADD", "r:sr", "x")  # re-add, concurrent with the remove
    # x: the remove deleted only the add it observed; y: removed (no concurrent add)
    assert rows.same("SMEMBERS", "r:sr", key=members) == {b"x", b"z"}


def test_spop_is_at_least_once_across_regions(rows: Rows) -> None:
    rows.call(W, "SADD", "r:pop1", "only")
    universe = {f"m{i}".encode() for i in range(8)}
    rows.call(W, "SADD", "r:pop", *universe)
    with rows.partitioned():
        got_w = rows.call(W, "SPOP", "r:pop1")
        got_e = rows.call(E, "SPOP", "r:pop1")
        popped_w = set(rows.call(W, "SPOP", "r:pop", 3))
        popped_e = set(rows.call(E, "SPOP", "r:pop", 3))
    assert got_w == got_e == b"only"  # both regions popped the same member
    assert rows.same("EXISTS", "r:pop1") == 0
    assert popped_w <= universe and popped_e <= universe and len(popped_w) == len(popped_e) == 3
    assert rows.same("SMEMBERS", "r:pop", key=members) == universe - popped_w - popped_e


def test_smove_is_remove_plus_add(rows: Rows) -> None:
    rows.call(W, "SADD", "r:src", "a", "b")
    with rows.partitioned():
        assert rows.call(W, "SMOVE", "r:src", "r:dst", "a") == 1
        rows.call(E, "SADD", "r:src", "b2")
        assert rows.call(EU, "SMOVE", "r:src", "r:dst", "b") == 1
    assert rows.same("SMEMBERS", "r:src", key=members) == {b"b2"}
    assert rows.same("SMEMBERS", "r:dst", key=members) == {b"a", b"b"}


def test_sinterstore_is_observed_remove_plus_adds(rows: Rows) -> None:
    rows.call(W, "SADD", "r:dest", "old1", "old2")
    rows.call(W, "SADD", "r:A", "x", "y", "q")
    rows.call(W, "SADD", "r:B", "x", "y", "w")
    with rows.partitioned():
        assert rows.call(W, "SINTERSTORE", "r:dest", "r:A", "r:B") == 2
        rows.call(E, "SADD", "r:dest", "new")  # concurrent: survives
        rows.call(EU, "SUNIONSTORE", "r:u", "r:A", "r:B")
        rows.call(E, "SADD", "r:u", "e")
    assert rows.same("SMEMBERS", "r:dest", key=members) == {b"x", b"y", b"new"}
    assert rows.same("SMEMBERS", "r:u", key=members) == {b"x", b"y", b"q", b"w", b"e"}


# -- hashes ---------------------------------------------------------------------------------


def hgetall(reply: dict[bytes, bytes] | list[bytes]) -> dict[bytes, bytes]:
    if isinstance(reply, dict):
        return reply
    return dict(zip(reply[::2], reply[1::2], strict=True))


def test_hset_concurrent_with_hdel_keeps_the_field(rows: Rows) -> None:
    rows.call(W, "HSET", "r:h", "f", "v0", "g", "g0")
    with rows.partitioned():
        rows.call(W, "HDEL", "r:h", "f", "g")
        rows.call(E, "HSET", "r:h", "f", "v1")
    assert rows.same("HGETALL", "r:h", key=hgetall) == {b"f": b"v1"}


def test_different_fields_never_conflict(rows: Rows) -> None:
    before = rows.all_counts()
    with rows.partitioned():
        rows.call(W, "HSET", "r:h2", "a", "1")
        rows.call(E, "HSET", "r:h2", "b", "2")
        rows.call(EU, "HSETNX", "r:h2", "c", "3")
    assert rows.same("HGETALL", "r:h2", key=hgetall) == {b"a": b"1", b"b": b"2", b"c": b"3"}
    assert grew(before, rows.all_counts(), "lww") == [0, 0, 0]


def test_same_field_is_lww_and_counts(rows: Rows) -> None:
    before = rows.all_counts()
    with rows.partitioned():
        rows.call(W, "HSET", "r:h3", "f", "west")
        rows.later()
        rows.call(E, "HSET", "r:h3", "f", "east")
    assert rows.same("HGET", "r:h3", "f") == b"east"
    assert all(g >= 1 for g in grew(before, rows.all_counts(), "lww"))


def test_concurrent_hincrby_sums(rows: Rows) -> None:
    rows.call(W, "HSET", "r:hc", "n", 100)
    with rows.partitioned():
        rows.call(W, "HINCRBY", "r:hc", "n", 5)
        rows.call(E, "HINCRBY", "r:hc", "n", 7)
        rows.call(EU, "HINCRBY", "r:hc", "n", -2)
        rows.call(W, "HINCRBYFLOAT", "r:hc", "f", "0.1")
        rows.call(E, "HINCRBYFLOAT", "r:hc", "f", "0.2")
        rows.call(EU, "HSET", "r:hc", "n", 1000)  # concurrent assignment: increments survive
    assert rows.same("HGET", "r:hc", "n") == b"1012"
    assert rows.same("HGET", "r:hc", "f") == b"0.3"
