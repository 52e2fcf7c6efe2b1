"""SEMANTICS.md "Streams" rows with three real regions and the fault proxy between them:
concurrent ``XADD *`` never collide and every region reads the same stream; equal explicit IDs
are both kept and counted; XDEL and DEL remove only what they observed; DESTROY ‖ CREATE:
destroy wins; an acknowledged entry is not delivered again in another region after the region
that read it is killed (kill -9); a blocking XREAD is woken by an XADD made in another region."""

from __future__ import annotations

import time

import pytest
import redis

from tests.multiregion.rowkit import Rows, as_dict, grew, make_fixtures
from tests.respclient import Reply, RespConnection, encode_command

cluster, rows = make_fixtures()

W, E, EU = 0, 1, 2  # us-west, us-east, eu-west


def _ids(reply: list) -> list[bytes]:  # type: ignore[type-arg]
    return [entry[0] for entry in reply]


def test_concurrent_auto_ids_never_collide_and_every_region_reads_the_same(rows: Rows) -> None:
    with rows.partitioned():
        for n in range(20):
            for i in range(rows.n):
                rows.call(i, "XADD", "s1", "*", "region", str(i), "n", str(n))
    stream = rows.same("XRANGE", "s1", "-", "+")
    ids = _ids(stream)
    assert len(ids) == 60 and len(set(ids)) == 60  # every entry, no duplicate ID
    assert ids == sorted(ids, key=lambda x: tuple(int(p) for p in x.split(b"-")))
    assert rows.same("XLEN", "s1") == 60
    assert as_dict(rows.same("XINFO", "STREAM", "s1"))["entries-added"] == 60
    rows.call(W, "XADD", "s1", "*", "after", "heal")  # after the heal: greater than every ID
    rows.c.wait_converged()
    assert _ids(rows.same("XRANGE", "s1", "-", "+"))[-1] == _ids(rows.call(E, "XREVRANGE", "s1", "+", "-", "COUNT", 1))[0]


def test_equal_explicit_ids_are_both_kept_and_counted_as_a_conflict(rows: Rows) -> None:
    rows.call(W, "XADD", "s2", "1-1", "f", "shared")
    before = rows.all_counts()
    with rows.partitioned():
        rows.call(W, "XADD", "s2", "5-0", "f", "west")
        rows.later()
        rows.call(E, "XADD", "s2", "5-0", "f", "east")
    stream = rows.same("XRANGE", "s2", "-", "+")
    assert stream == [(b"1-1", {b"f": b"shared"}), (b"5-0", {b"f": b"west"}), (b"5-0", {b"f": b"east"})]
    assert sum(grew(before, rows.all_counts(), "lww")) >= 2  # recorded where the second arrived
    with pytest.raises(redis.ResponseError, match="equal or smaller"):
        rows.call(EU, "XADD", "s2", "5-0", "f", "x")  # validated against the merged stream


def test_xdel_and_del_remove_only_what_they_observed(rows: Rows) -> None:
    rows.call(W, "XADD", "s3", "1-0", "f", "a")
    rows.call(W, "XADD", "s3", "2-0", "f", "b")
    rows.call(W, "XADD", "d3", "1-0", "f", "a")
    with rows.partitioned():
        assert rows.call(W, "XDEL", "s3", "1-0", "2-0") == 2
        rows.call(E, "XADD", "s3", "3-0", "f", "c")
        assert rows.call(W, "DEL", "d3") == 1
        rows.call(EU, "XADD", "d3", "9-0", "f", "new")
    assert rows.same("XRANGE", "s3", "-", "+") == [(b"3-0", {b"f": b"c"})]
    assert rows.same("XRANGE", "d3", "-", "+") == [(b"9-0", {b"f": b"new"})]
    assert as_dict(rows.same("XINFO", "STREAM", "s3"))["max-deleted-entry-id"] == b"2-0"


def test_group_destroy_concurrent_with_create_destroy_wins(rows: Rows) -> None:
    rows.call(W, "XADD", "s4", "1-0", "f", "a")
    rows.call(W, "XGROUP", "CREATE", "s4", "g", "0")
    rows.c.wait_converged()
    with rows.partitioned():
        assert rows.call(W, "XGROUP", "DESTROY", "s4", "g") == 1
        rows.call(E, "XGROUP", "SETID", "s4", "g", "1-0")
        rows.call(EU, "XGROUP", "CREATE", "s4", "other", "$")
    groups = rows.same("XINFO", "GROUPS", "s4")
    assert [as_dict(g)["name"] for g in groups] == [b"other"]
    rows.call(E, "XGROUP", "CREATE", "s4", "g", "0")  # later, having seen the destroy: back
    rows.c.wait_converged()
    assert sorted(as_dict(g)["name"] for g in rows.same("XINFO", "GROUPS", "s4")) == [b"g", b"other"]


def test_blocking_xread_woken_by_an_xadd_in_another_region(rows: Rows) -> None:
    rows.call(W, "XADD", "s5", "1-0", "f", "old")
    rows.c.wait_converged()
    conn = RespConnection(rows.c.ports[E], timeout=10.0)
    try:
        conn.send_raw(encode_command(("XREAD", "BLOCK", "5000", "STREAMS", "s5", "$")))
        time.sleep(0.1)
        start = time.monotonic()
        new_id = rows.call(W, "XADD", "s5", "*", "f", "new")
        assert conn.read_reply().plain() == [[b"s5", [[new_id, [b"f", b"new"]]]]]
        assert time.monotonic() - start < 5
    finally:
        conn.close()


def test_blocking_xreadgroup_woken_by_an_xadd_in_another_region(rows: Rows) -> None:
    rows.call(W, "XGROUP", "CREATE", "s6", "g", "$", "MKSTREAM")
    rows.c.wait_converged()
    conn = RespConnection(rows.c.ports[EU], timeout=10.0)
    try:
        conn.send_raw(encode_command(("XREADGROUP", "GROUP", "g", "c", "BLOCK", "5000", "STREAMS", "s6", ">")))
        time.sleep(0.1)
        rows.call(E, "XADD", "s6", "7-0", "f", "v")
        assert conn.read_reply().plain() == [[b"s6", [[b"7-0", [b"f", b"v"]]]]]
    finally:
        conn.close()
    assert rows.call(EU, "XPENDING", "s6", "g")["pending"] == 1  # pending where it was read
    assert rows.call(W, "XPENDING", "s6", "g")["pending"] == 0  # pending lists are local


def test_acknowledged_entries_are_not_redelivered_after_the_reader_is_killed(rows: Rows) -> None:
    for n in range(1, 5):
        rows.call(W, "XADD", "s7", f"{n}-0", "n", str(n))
    rows.call(W, "XGROUP", "CREATE", "s7", "g", "0")
    rows.c.wait_converged()
    read = rows.call(W, "XREADGROUP", "GROUP", "g", "worker", "COUNT", "3", "STREAMS", "s7", ">")
    assert _ids(read[0][1]) == [b"1-0", b"2-0", b"3-0"]
    assert rows.call(W, "XACK", "s7", "g", "1-0", "2-0") == 2  # 3-0 read, not acknowledged
    rows.c.wait_converged()
    rows.c.kill9(W)
    try:
        got = rows.call(E, "XREADGROUP", "GROUP", "g", "standby", "STREAMS", "s7", ">")
        ids = _ids(got[0][1])
        assert b"1-0" not in ids and b"2-0" not in ids  # acknowledged in us-west: never again
        assert ids == [b"3-0", b"4-0"]  # read but unacknowledged: delivered again (at-least-once)
        assert rows.call(E, "XACK", "s7", "g", *ids) == 2
    finally:
        rows.c.start(W)
        rows.c.wait_linked()
    rows.c.wait_converged()
    conn = RespConnection(rows.c.ports[EU], timeout=10.0)
    try:  # everything was acknowledged somewhere: nothing to deliver (the null array)
        assert conn.call("XREADGROUP", "GROUP", "g", "third", "STREAMS", "s7", ">") == Reply("*", None)
    finally:
        conn.close()


def test_xreadgroup_delivers_an_entry_that_arrives_late_with_a_lower_id(rows: Rows) -> None:
    rows.call(W, "XADD", "s8", "100-0", "f", "first")
    rows.call(W, "XGROUP", "CREATE", "s8", "g", "0")
    with rows.partitioned():
        rows.call(E, "XADD", "s8", "150-0", "f", "east")  # concurrently, below what west reads
        rows.call(W, "XADD", "s8", "200-0", "f", "west")
        read = rows.call(W, "XREADGROUP", "GROUP", "g", "c", "STREAMS", "s8", ">")
        assert _ids(read[0][1]) == [b"100-0", b"200-0"]
    assert _ids(rows.same("XRANGE", "s8", "-", "+")) == [b"100-0", b"150-0", b"200-0"]
    late = rows.call(W, "XREADGROUP", "GROUP", "g", "c", "STREAMS", "s8", ">")
    assert _ids(late[0][1]) == [b"150-0"]  # XREADGROUP is the reliable way to consume
    assert rows.call(W, "XREADGROUP", "GROUP", "g", "c", "STREAMS", "s8", ">") == []
    assert rows.call(W, "XPENDING", "s8", "g")["pending"] == 3
