"""SEMANTICS.md, row by row, end to end: keys, deletion, type conflicts, FLUSHDB/FLUSHALL,
RENAME/COPY, expiry, and the global guarantees G3 (exactly once across cuts), G4 (local
read-your-writes) and G6 (atomic batches).

Same method as ``test_semantics_rows.py``: conflicting writes while every link is partitioned,
heal, wait until every region has the same VV and ``CRDT.DIGEST``, check the row's values in
every region. Sorted sets and lists have their rows in ``test_zset_rows.py`` and
``test_semantics_rows_lists.py``.
"""

from __future__ import annotations

import random
import threading
import time
from decimal import Decimal

import pytest
import redis

from tests.multiregion.rowkit import Rows, grew, make_fixtures, poll

cluster, rows = make_fixtures()

W, E, EU = 0, 1, 2  # us-west, us-east, eu-west


def members(reply: list[bytes]) -> set[bytes]:
    return set(reply)


# -- deletion and type conflicts ------------------------------------------------------------


def test_del_concurrent_with_sadd_keeps_only_the_concurrent_write(rows: Rows) -> None:
    rows.call(W, "SADD", "k:ds", "a", "b")
    rows.call(W, "HSET", "k:dh", "f", "1", "g", "2")
    rows.call(W, "SET", "k:dg", "old")
    with rows.partitioned():
        rows.call(W, "DEL", "k:ds")
        rows.call(E, "SADD", "k:ds", "c")
        rows.call(W, "UNLINK", "k:dh")
        rows.call(E, "HSET", "k:dh", "h", "3")
        assert rows.call(W, "GETDEL", "k:dg") == b"old"
        rows.call(EU, "APPEND", "k:dg", "-x")  # observed "old": assigns "old-x"
    assert rows.same("SMEMBERS", "k:ds", key=members) == {b"c"}
    assert rows.same("HGETALL", "k:dh") == {b"h": b"3"}
    assert rows.same("GET", "k:dg") == b"old-x"


def test_set_over_another_type_removes_what_it_observed(rows: Rows) -> None:
    rows.call(W, "SADD", "k:ot", "a", "b")
    rows.call(W, "SADD", "k:ot2", "a")
    before = rows.all_counts()
    with rows.partitioned():
        rows.call(W, "SET", "k:ot", "str")  # observed {a, b}
        rows.later()
        rows.call(E, "SADD", "k:ot", "c")  # concurrent, later: the set is visible again
    rows.call(EU, "SET", "k:ot2", "str")  # no concurrent write: just a string
    rows.c.wait_converged()
    assert rows.same("TYPE", "k:ot") == b"set"
    assert rows.same("SMEMBERS", "k:ot", key=members) == {b"c"}  # only the concurrent write
    assert all(g >= 1 for g in grew(before, rows.all_counts(), "type"))
    assert rows.same("TYPE", "k:ot2") == b"string"
    assert rows.same("GET", "k:ot2") == b"str"


def test_type_conflict_later_write_is_visible_other_hidden(rows: Rows) -> None:
    before = rows.all_counts()
    with rows.partitioned():
        rows.call(W, "SADD", "k:tc", "m")
        rows.call(EU, "SET", "k:tc2", "s")
        rows.later()
        rows.call(E, "SET", "k:tc", "s")  # later: the string is visible
        rows.call(W, "HSET", "k:tc2", "f", "v")  # later: the hash is visible
    assert rows.same("TYPE", "k:tc") == b"string"
    assert rows.same("GET", "k:tc") == b"s"
    assert rows.same("TYPE", "k:tc2") == b"hash"
    assert rows.same("HGETALL", "k:tc2") == {b"f": b"v"}
    for i in range(3):  # commands see only the visible type
        with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
            rows.call(i, "SMEMBERS", "k:tc")
        with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
            rows.call(i, "GET", "k:tc2")
    assert all(g >= 2 for g in grew(before, rows.all_counts(), "type"))
    for i in range(3):
        logged = rows.conflicts_for(i, b"k:tc", "type")
        assert logged and logged[0]["winner_region"] == b"us-east"
        assert logged[0]["loser_region"] == b"us-west"

    # A later write observing both removes the hidden content: HSET keeps the hash (the
    # visible type) and removes the hidden string, so once every field is deleted the key is
    # gone — the string does not come back.
    rows.call(E, "HSET", "k:tc2", "g", "w")
    rows.c.wait_converged()
    assert rows.same("HGETALL", "k:tc2") == {b"f": b"v", b"g": b"w"}
    rows.call(W, "HDEL", "k:tc2", "f", "g")
    rows.c.wait_converged()
    assert rows.same("EXISTS", "k:tc2") == 0
    assert rows.same("TYPE", "k:tc2") == b"none"
    # The same with the string visible: SET observing both replaces both.
    rows.call(EU, "SET", "k:tc", "s2")
    rows.c.wait_converged()
    assert rows.same("TYPE", "k:tc") == b"string"
    assert rows.same("GET", "k:tc") == b"s2"


def test_flushall_concurrent_with_set_keeps_the_set(rows: Rows) -> None:
    rows.call(W, "SET", "k:f1", "old")
    rows.call(W, "SET", "k:f2", "old")
    rows.call(W, "SADD", "k:f3", "a")
    rows.call(W, "SET", "k:f4", "db1", db=1)
    with rows.partitioned():
        rows.call(W, "FLUSHALL")
        rows.call(E, "SET", "k:f1", "again")
        rows.call(E, "SADD", "k:f3", "b")
        rows.call(EU, "SET", "k:f5", "new", db=1)
    assert rows.same("GET", "k:f1") == b"again"
    assert rows.same("EXISTS", "k:f2") == 0
    assert rows.same("SMEMBERS", "k:f3", key=members) == {b"b"}
    assert rows.same("GET", "k:f4", db=1) is None
    assert rows.same("GET", "k:f5", db=1) == b"new"


def test_flushdb_concurrent_with_writes(rows: Rows) -> None:
    rows.call(W, "SET", "k:fd1", 10, db=3)
    rows.call(W, "SET", "k:fd2", "old", db=3)
    rows.call(W, "SET", "k:fd0", "kept")  # db 0: not flushed
    with rows.partitioned():
        rows.call(E, "FLUSHDB", db=3)
        assert rows.call(W, "INCR", "k:fd1", db=3) == 11  # concurrent with the flush: survives
    assert rows.same("GET", "k:fd1", db=3) == b"1"
    assert rows.same("EXISTS", "k:fd2", db=3) == 0
    assert rows.same("DBSIZE", db=3) == 1
    assert rows.same("GET", "k:fd0") == b"kept"


def test_rename_and_copy_concurrent_with_writes(rows: Rows) -> None:
    rows.call(W, "SET", "k:rs", "v")
    rows.call(W, "SADD", "k:rset", "a", "b")
    rows.call(W, "SET", "k:cs", "copied")
    with rows.partitioned():
        rows.call(W, "RENAME", "k:rs", "k:rd")
        rows.call(E, "SET", "k:rs", "v2")  # concurrent with the observed-remove of the source
        rows.call(W, "RENAME", "k:rset", "k:rsetd")
        rows.call(E, "SADD", "k:rset", "c")
        rows.call(W, "COPY", "k:cs", "k:cd")
        rows.later()
        rows.call(EU, "SET", "k:cd", "other")  # later assignment of the destination wins
    assert rows.same("GET", "k:rs") == b"v2"
    assert rows.same("GET", "k:rd") == b"v"
    assert rows.same("SMEMBERS", "k:rset", key=members) == {b"c"}
    assert rows.same("SMEMBERS", "k:rsetd", key=members) == {b"a", b"b"}
    assert rows.same("GET", "k:cs") == b"copied"
    assert rows.same("GET", "k:cd") == b"other"


# -- expiry ---------------------------------------------------------------------------------


def test_concurrent_expires_longest_lifetime_wins(rows: Rows) -> None:
    rows.call(W, "SET", "k:e1", "v")
    rows.call(W, "SET", "k:e2", "v", "EX", 1000)
    rows.call(W, "SET", "k:e3", "v")
    before = rows.all_counts()
    with rows.partitioned():
        rows.call(W, "EXPIRE", "k:e1", 100)
        rows.call(E, "EXPIRE", "k:e1", 500)
        rows.call(EU, "EXPIRE", "k:e1", 300)
        rows.call(W, "EXPIRE", "k:e2", 50)
        rows.call(E, "PERSIST", "k:e2")  # infinite beats any EXPIRE
        # an EXPIRE concurrent with a DEL survives it, like any concurrent write, and applies
        # to a third write concurrent with both, whatever order they arrive in
        rows.call(W, "DEL", "k:e3")
        rows.call(E, "EXPIRE", "k:e3", 200)
        rows.call(EU, "APPEND", "k:e3", "-x")
    at = rows.same("PEXPIRETIME", "k:e1")
    ttl = rows.call(W, "TTL", "k:e1")
    assert 450 < ttl <= 500 and at > int(time.time() * 1000) + 450_000
    assert rows.same("TTL", "k:e2") == -1
    assert rows.same("GET", "k:e3") == b"v-x"
    assert 150 < rows.call(EU, "TTL", "k:e3") <= 200
    rows.same("PEXPIRETIME", "k:e3")
    assert all(g >= 1 for g in grew(before, rows.all_counts(), "expire"))


def test_causally_later_expire_shortens(rows: Rows) -> None:
    rows.call(W, "SET", "k:sh", "v", "EX", 500)
    rows.c.wait_converged()
    rows.call(E, "EXPIRE", "k:sh", 20)  # observed the 500 s: replaces it
    rows.c.wait_converged()
    assert all(0 < t <= 20 for t in rows.all("TTL", "k:sh"))
    rows.call(EU, "SET", "k:sh", "w", "PX", 100_000)  # SET writes the expire time too
    rows.c.wait_converged()
    assert all(90 < t <= 100 for t in rows.all("TTL", "k:sh"))
    rows.call(W, "SET", "k:sh", "x", "KEEPTTL")
    rows.c.wait_converged()
    assert all(90 < t <= 100 for t in rows.all("TTL", "k:sh"))
    rows.call(W, "SET", "k:sh", "y")
    rows.c.wait_converged()
    assert rows.same("TTL", "k:sh") == -1


def test_expiry_passing_removes_the_key_but_not_a_concurrent_write(rows: Rows) -> None:
    db = 5
    at = int(time.time() * 1000) + 1500
    rows.call(W, "SET", "k:x1", "v", db=db)
    rows.call(W, "SADD", "k:x2", "a", db=db)
    rows.call(W, "SET", "k:x3", "stays", db=db)
    rows.call(W, "PEXPIREAT", "k:x1", at, db=db)
    rows.call(W, "PEXPIREAT", "k:x2", at, db=db)
    expired_before = rows.c.client(W).info("stats")["expired_keys"]
    with rows.partitioned():
        # concurrent with the delete the expiry will make: a SET (no TTL) and an SADD
        rows.call(E, "SET", "k:x1", "survivor", db=db)
        rows.call(E, "SADD", "k:x2", "b", db=db)
        rows.call(E, "PERSIST", "k:x2", db=db)
        assert time.time() * 1000 < at - 100, "too slow: the writes were not made before the expiry"
        time.sleep(max(0.0, at / 1000 - time.time()) + 0.01)
        # at once in the other regions: absent for every read
        for i in (W, EU):
            assert rows.call(i, "EXISTS", "k:x1", "k:x2", db=db) == 0
            assert rows.call(i, "TTL", "k:x1", db=db) == -2
            assert rows.call(i, "GET", "k:x1", db=db) is None
            assert sorted(rows.call(i, "KEYS", "k:x*", db=db)) == [b"k:x3"]
            assert rows.call(i, "DBSIZE", db=db) == 1
        assert rows.call(E, "GET", "k:x1", db=db) == b"survivor"
        # the expired content is removed by a delete effect made by the region
        assert poll(lambda: rows.c.client(W).info("stats")["expired_keys"] >= expired_before + 2,
                    timeout=5)
    assert rows.same("GET", "k:x1", db=db) == b"survivor"
    assert rows.same("TTL", "k:x1", db=db) == -1
    assert rows.same("SMEMBERS", "k:x2", db=db, key=members) == {b"b"}
    assert rows.same("TTL", "k:x2", db=db) == -1
    assert rows.same("DBSIZE", db=db) == 3


def test_an_expired_key_is_removed_everywhere_like_del(rows: Rows) -> None:
    db = 6
    rows.call(W, "HSET", "k:xh", "f", "1", db=db)
    # long enough that converging (slow on a loaded machine) ends before the key expires
    rows.call(W, "PEXPIRE", "k:xh", 1500, db=db)
    rows.c.wait_converged()
    assert rows.same("EXISTS", "k:xh", db=db) == 1
    made = sum(rows.own_seq(i) for i in range(3))
    assert poll(lambda: rows.all("EXISTS", "k:xh", db=db) == [0, 0, 0], timeout=5)
    # a region made a delete effect for it (each region's expire cycle runs on its own; the
    # first one's delete replicates like DEL), and every region applied it
    assert poll(lambda: sum(rows.own_seq(i) for i in range(3)) > made, timeout=3)
    rows.c.wait_converged()
    assert rows.same("DBSIZE", db=db) == 0
    # a write after the expiry starts from nothing, in every region
    rows.call(E, "HINCRBY", "k:xh", "g", 2, db=db)
    rows.c.wait_converged()
    assert rows.same("HGETALL", "k:xh", db=db) == {b"g": b"2"}
    assert rows.same("TTL", "k:xh", db=db) == -1


# -- G6: atomic batches ---------------------------------------------------------------------


def _poll_peer_sees_all_or_nothing(rows: Rows, peer: int, read: list, expect_none, expect_all,
                                   timeout: float = 10.0) -> int:
    """Poll ``read`` (a list of commands run in one MULTI/EXEC at ``peer``) until it shows
    ``expect_all``; every poll must show exactly ``expect_none`` or ``expect_all``."""
    seen_none = 0
    deadline = time.monotonic() + timeout
    with rows.c.client(peer) as r:
        while True:
            pipe = r.pipeline(transaction=True)
            for cmd in read:
                pipe.execute_command(*cmd)
            got = pipe.execute()
            if got == expect_all:
                return seen_none
            assert got == expect_none, f"half a batch visible at region {peer}: {got!r}"
            seen_none += 1
            assert time.monotonic() < deadline, "the batch never arrived"
            time.sleep(0.002)


def test_multi_exec_becomes_visible_at_a_peer_all_at_once(rows: Rows) -> None:
    keys = [f"k:tx{i}" for i in range(20)]
    big = b"v" * 20_000  # 400 KB in one batch: spans many chunks through the proxy
    rows.c.wait_converged()
    rows.c.set_delay(150)
    with rows.c.client(W) as r:
        pipe = r.pipeline(transaction=True)
        for k in keys:
            pipe.set(k, big)
        pipe.incr("k:txc")
        pipe.sadd("k:txs", *range(50))
        pipe.execute()
    read = [("MGET", *keys), ("GET", "k:txc"), ("SCARD", "k:txs")]
    nothing_yet = [
        _poll_peer_sees_all_or_nothing(rows, peer, read, [[None] * 20, None, 0], [[big] * 20, b"1", 50])
        for peer in (E, EU)
    ]
    assert nothing_yet[0] > 0  # the delay was in force: the peer was polled before the batch came
    rows.heal()


def test_multi_key_commands_are_atomic_at_peers(rows: Rows) -> None:
    rows.call(W, "SADD", "k:mv", *[f"m{i}" for i in range(10)])
    rows.call(W, "SADD", "k:ia", *range(30))
    rows.call(W, "SADD", "k:ib", *range(15, 60))
    rows.c.wait_converged()
    rows.c.set_delay(100)
    rows.call(W, "SMOVE", "k:mv", "k:mvd", "m3")
    rows.call(W, "MSET", *[x for i in range(10) for x in (f"k:ms{i}", "x" * 10_000)])
    rows.call(W, "SINTERSTORE", "k:ist", "k:ia", "k:ib")
    rows.call(W, "SET", "k:rn", "x")
    rows.call(W, "RENAME", "k:rn", "k:rn2")
    # read everything in one transaction per poll: the batches arrive in order, each whole
    read = [("SISMEMBER", "k:mv", "m3"), ("SISMEMBER", "k:mvd", "m3"),
            ("MGET", *[f"k:ms{i}" for i in range(10)]), ("SCARD", "k:ist"),
            ("EXISTS", "k:rn"), ("EXISTS", "k:rn2")]
    stages = [
        [1, 0, [None] * 10, 0, 0, 0],
        [0, 1, [None] * 10, 0, 0, 0],
        [0, 1, [b"x" * 10_000] * 10, 0, 0, 0],
        [0, 1, [b"x" * 10_000] * 10, 15, 0, 0],
        [0, 1, [b"x" * 10_000] * 10, 15, 1, 0],
        [0, 1, [b"x" * 10_000] * 10, 15, 0, 1],
    ]
    deadline = time.monotonic() + 10
    seen = set()
    with rows.c.client(E) as r:
        while True:
            pipe = r.pipeline(transaction=True)
            for cmd in read:
                pipe.execute_command(*cmd)
            got = pipe.execute()
            assert got in stages, f"a batch is half visible: {got!r}"
            seen.add(stages.index(got))
            if got == stages[-1]:
                break
            assert time.monotonic() < deadline
            time.sleep(0.002)
    assert 0 in seen  # the delay was in force: the peer was polled before anything arrived
    rows.heal()


def test_watch_sees_replicated_modifications(rows: Rows) -> None:
    rows.call(W, "SET", "k:wt", "0")
    rows.c.wait_converged()
    with rows.c.client(E) as r:
        pipe = r.pipeline(transaction=True)
        pipe.watch("k:wt")
        rows.call(W, "SET", "k:wt", "1")  # made in another region
        assert poll(lambda: r.get("k:wt") == b"1", timeout=5)
        pipe.multi()
        pipe.set("k:wt", "from-east")
        with pytest.raises(redis.WatchError):
            pipe.execute()
    rows.c.wait_converged()
    assert rows.same("GET", "k:wt") == b"1"


# -- G4: local read-your-writes -------------------------------------------------------------


def test_local_reads_reflect_own_writes_at_once(rows: Rows) -> None:
    rows.c.set_delay(200)  # replication is slow; local reads must not care
    for i in range(3):
        with rows.c.client(i) as r:
            k = f"k:ryw{i}"
            assert r.set(k, "v")
            assert r.get(k) == b"v"
            assert r.incrby(k + "c", 5) == 5 and r.get(k + "c") == b"5"
            r.sadd(k + "s", "a")
            assert r.smembers(k + "s") == {b"a"}
            r.hset(k + "h", "f", "1")
            assert r.hget(k + "h", "f") == b"1"
            r.expire(k, 100)
            assert 0 < r.ttl(k) <= 100
            r.delete(k)
            assert r.exists(k) == 0 and r.get(k) is None
    rows.split()
    with rows.c.client(E) as r:  # and while partitioned
        r.set("k:ryw-p", "p")
        assert r.get("k:ryw-p") == b"p"
    rows.heal()
    assert rows.same("GET", "k:ryw-p") == b"p"
    assert rows.same("GET", "k:ryw0c") == b"5"


# -- G3: exactly once across cuts and reconnects -----------------------------------------------


def test_counters_exact_across_repeated_cuts(rows: Rows) -> None:
    per_region = 200
    errors: list[Exception] = []

    def writer(i: int) -> None:
        try:
            with rows.c.client(i) as r:
                for n in range(0, per_region, 10):
                    pipe = r.pipeline(transaction=False)
                    for m in range(n, n + 10):
                        pipe.incr("k:g3")
                        pipe.hincrby("k:g3h", f"r{i}", 2)
                        pipe.sadd("k:g3s", f"{i}-{m}")
                        pipe.incrbyfloat("k:g3f", "0.1")
                    pipe.execute()
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    rng = random.Random(7)
    proxies = list(rows.c.proxies.values())
    cut_before = sum(p.connections_cut for p in proxies)
    cuts = 0
    while any(t.is_alive() for t in threads) or cuts < 10:
        rng.choice(proxies).cut()
        cuts += 1
        time.sleep(0.02)
    for t in threads:
        t.join()
    assert not errors, errors
    for _ in range(5):  # and a few more while the links come back
        for p in proxies:
            p.cut()
        time.sleep(0.05)
    assert sum(p.connections_cut for p in proxies) - cut_before >= 3  # links really were cut
    rows.heal()
    total = 3 * per_region
    assert rows.same("GET", "k:g3") == str(total).encode()
    assert rows.same("HGETALL", "k:g3h") == {f"r{i}".encode(): str(2 * per_region).encode() for i in range(3)}
    assert rows.same("SCARD", "k:g3s") == total
    # each region adds what its own long-double INCRBYFLOAT produced: the same digits everywhere,
    # within rounding of the exact 60
    assert abs(Decimal(rows.same("GET", "k:g3f").decode()) - 60) < Decimal("1e-12")
