"""DUMP/RESTORE, MOVE and SWAPDB across regions (SEMANTICS.md, "Databases"; RESTORE is an
ordinary local write of the restored value)."""

from __future__ import annotations

import redis

from server.harness.processes import start_redis
from tests.multiregion.rowkit import Rows, as_dict, make_fixtures

cluster, rows = make_fixtures()


def test_restore_in_one_region_appears_in_the_others(rows: Rows) -> None:
    with start_redis() as ref:
        r = redis.Redis(port=ref.port)
        r.rpush("l", "a", "b", "1")
        r.sadd("s", "x", "y")
        r.hset("h", mapping={"f": "v", "n": "5"})
        r.zadd("z", {"m": 1.5, "n": -2})
        r.set("str", "x" * 50)
        payloads = {k: r.dump(k) for k in ("l", "s", "h", "z", "str")}
        r.close()
    for key, payload in payloads.items():
        assert rows.call(0, "RESTORE", key, "100000", payload) in (b"OK", True)
    rows.c.wait_converged()
    assert rows.same("LRANGE", "l", 0, -1) == [b"a", b"b", b"1"]
    assert sorted(rows.same("SMEMBERS", "s", key=sorted)) == [b"x", b"y"]
    assert rows.same("HGET", "h", "n") == b"5"
    assert rows.same("ZSCORE", "z", "n") == -2.0
    assert rows.same("GET", "str") == b"x" * 50
    assert all(0 < ttl <= 100 for ttl in rows.all("TTL", "l"))
    rows.digests_equal()
    # a DUMP taken in another region restores the same value
    assert rows.call(1, "DUMP", "z") == payloads["z"]


def test_a_restored_stream_reaches_the_peers_with_its_groups(rows: Rows) -> None:
    """RESTORE of a Redis stream (three nodes, a deleted entry, a group with pending entries)
    is one local write: every region holds its entries, metadata and groups; the pending
    entries and consumers stay in the restoring region (SEMANTICS: pending lists are local)."""
    with start_redis() as ref:
        r = redis.Redis(port=ref.port)
        for i in range(1, 251):
            r.xadd("st", {"n": str(i)}, id=f"{i}-0")
        r.xdel("st", "7-0")
        r.xgroup_create("st", "g", id="0")
        r.xreadgroup("g", "alice", {"st": ">"}, count=3)
        r.xgroup_create("st", "late", id="200-0")
        payload = r.dump("st")
        redis_range = r.xrange("st")
        redis_groups = [(g["name"], g["last-delivered-id"], g["entries-read"], g["lag"]) for g in r.xinfo_groups("st")]
        r.close()
    assert rows.call(0, "RESTORE", "st", "0", payload) in (b"OK", True)
    rows.c.wait_converged()
    assert rows.same("XRANGE", "st", "-", "+") == redis_range
    info = as_dict(rows.same("XINFO", "STREAM", "st"))
    assert (info["length"], info["last-generated-id"], info["max-deleted-entry-id"]) == (249, b"250-0", b"7-0")
    assert info["entries-added"] == 250
    for reply in rows.all("XINFO", "GROUPS", "st"):
        groups = [as_dict(g) for g in reply]
        assert [(g["name"], g["last-delivered-id"], g["entries-read"], g["lag"]) for g in groups] == redis_groups
    # the pending entries and their consumer are the restoring region's only
    assert [as_dict(reply[0])["pending"] for reply in rows.all("XINFO", "GROUPS", "st")] == [3] + [0] * (rows.n - 1)
    assert [as_dict(c)["name"] for c in rows.call(0, "XINFO", "CONSUMERS", "st", "g")] == [b"alice"]
    assert rows.call(1, "XINFO", "CONSUMERS", "st", "g") == []
    # another region delivers from the group's restored last ID
    got = rows.call(1, "XREADGROUP", "GROUP", "g", "bob", "COUNT", "1", "STREAMS", "st", ">")
    assert got[0][1][0][0] == b"4-0", got
    rows.digests_equal()
    assert rows.call(0, "DUMP", "st") == payload  # the restoring region dumps Redis's bytes


def test_restore_replace_of_a_stream_keeps_a_concurrent_xadd(rows: Rows) -> None:
    rows.call(0, "XADD", "rx", "1-0", "old", "1")
    rows.call(0, "XADD", "tmpx", "5-0", "new", "1")
    rows.c.wait_converged()
    payload = rows.call(0, "DUMP", "tmpx")
    with rows.partitioned():
        rows.call(0, "RESTORE", "rx", "0", payload, "REPLACE")
        rows.call(1, "XADD", "rx", "7-0", "concurrent", "1")
    rows.heal()
    # REPLACE removed the entry region 0 had seen; the unseen concurrent XADD survives
    assert [e[0] for e in rows.same("XRANGE", "rx", "-", "+")] == [b"5-0", b"7-0"]
    rows.digests_equal()


def test_restore_replace_keeps_a_concurrent_write(rows: Rows) -> None:
    rows.call(0, "SADD", "rs", "old")
    rows.c.wait_converged()
    rows.call(0, "SADD", "tmp", "new")
    new_payload = rows.call(0, "DUMP", "tmp")
    with rows.partitioned():
        rows.call(0, "RESTORE", "rs", "0", new_payload, "REPLACE")
        rows.call(1, "SADD", "rs", "concurrent")
    rows.heal()
    # REPLACE removed what region 0 had seen ("old"); the unseen concurrent add survives
    assert sorted(rows.same("SMEMBERS", "rs", key=sorted)) == [b"concurrent", b"new"]


def test_move_replicates_as_one_batch(rows: Rows) -> None:
    rows.call(0, "SET", "mk", "v")
    rows.call(0, "EXPIRE", "mk", "500")
    assert rows.call(0, "MOVE", "mk", "3") == 1
    rows.c.wait_converged()
    assert rows.all("EXISTS", "mk") == [0] * rows.n
    assert rows.same("GET", "mk", db=3) == b"v"
    assert all(0 < t <= 500 for t in rows.all("TTL", "mk", db=3))


def test_swapdb_is_refused_while_peers_are_configured(rows: Rows) -> None:
    rows.call(0, "SET", "sk", "v")
    try:
        rows.call(0, "SWAPDB", "0", "1")
        raise AssertionError("SWAPDB was accepted")
    except redis.ResponseError as e:
        assert "SWAPDB is not supported while peer regions are configured" in str(e)
    assert rows.call(0, "GET", "sk") == b"v"


def test_move_concurrent_with_a_write_to_the_source_keeps_both(rows: Rows) -> None:
    rows.call(0, "SET", "mv", "original")
    rows.c.wait_converged()
    with rows.partitioned():
        assert rows.call(0, "MOVE", "mv", "4") == 1
        rows.call(1, "SET", "mv", "concurrent")
    rows.heal()
    # the move's delete removed only what region 0 had seen: the unseen write survives
    assert rows.same("GET", "mv") == b"concurrent"
    assert rows.same("GET", "mv", db=4) == b"original"
    rows.digests_equal()
