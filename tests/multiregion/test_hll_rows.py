"""SEMANTICS.md "HyperLogLog", end to end over three real regions with the fault proxy on every
link: PFADDs made in every region (some while partitioned) all count, and the result is what
one redis-server holding the union of the elements says; DEL ‖ PFADD: the delete wins."""

from __future__ import annotations

from server.harness.processes import ServerProcess
from tests.multiregion.rowkit import Rows, make_fixtures
from tests.respclient import RespConnection

cluster, rows = make_fixtures()

W, E, EU = 0, 1, 2  # us-west, us-east, eu-west


def _els(prefix: str, n: int) -> list[str]:
    return [f"{prefix}{i}" for i in range(n)]


def _redis_union(redis_ref: ServerProcess, key: str, groups: list[list[str]]) -> tuple[int, bytes]:
    """PFCOUNT and then GET (the cache written) of one redis-server holding every element."""
    r = RespConnection(redis_ref.port)
    try:
        r.call("DEL", key)
        for g in groups:
            r.call("PFADD", key, *g)
        count = r.call("PFCOUNT", key).value
        return count, r.call("GET", key).value
    finally:
        r.close()


def test_pfadds_in_every_region_all_count(rows: Rows, redis_ref: ServerProcess) -> None:
    shared = _els("shared-", 300)
    rows.call(W, "PFADD", "hll:all", *shared)
    before = [_els(f"pre{i}-", 400) for i in range(3)]
    for i in range(3):
        rows.call(i, "PFADD", "hll:all", *before[i])
    during = [_els(f"split{i}-", 1500) for i in range(3)]
    with rows.partitioned():
        for i in range(3):
            assert rows.call(i, "PFADD", "hll:all", *during[i]) == 1
            rows.call(i, "PFCOUNT", "hll:all")  # a cache written concurrently in every region
        rows.call(E, "PFADD", "hll:all", *during[W][:50])  # the same elements in two regions
    rows.digests_equal()
    count = rows.same("PFCOUNT", "hll:all")
    ref_count, _ = _redis_union(redis_ref, "u", [shared, *before, *during])
    assert count == ref_count
    assert abs(count - 300 - 3 * 400 - 3 * 1500) < 0.05 * count  # and it is a cardinality
    assert rows.same("PFDEBUG", "ENCODING", "hll:all") == b"dense"
    # one region's PFCOUNT writes the cache; every region then holds Redis's exact bytes
    assert rows.call(EU, "PFADD", "hll:all", "one-more") == 1
    rows.call(EU, "PFCOUNT", "hll:all")
    rows.c.wait_converged()
    ref_count, ref_bytes = _redis_union(redis_ref, "u", [shared, *before, *during, ["one-more"]])
    assert rows.same("GET", "hll:all") == ref_bytes
    assert rows.same("PFCOUNT", "hll:all") == ref_count


def test_concurrent_sparse_pfadds_and_a_pfmerge(rows: Rows, redis_ref: ServerProcess) -> None:
    with rows.partitioned():
        rows.call(W, "PFADD", "hll:sp", "a", "b")  # three concurrent creations
        rows.call(E, "PFADD", "hll:sp", "c")
        rows.call(EU, "PFADD", "hll:src", *_els("s", 40))
        rows.call(EU, "PFMERGE", "hll:sp", "hll:src")
    rows.digests_equal()
    ref_count, _ = _redis_union(redis_ref, "u", [["a", "b"], ["c"], _els("s", 40)])
    assert rows.same("PFCOUNT", "hll:sp") == ref_count
    assert rows.same("PFDEBUG", "ENCODING", "hll:sp") == b"sparse"
    assert rows.same("TYPE", "hll:sp") == b"string"


def test_del_pfadd_the_delete_wins(rows: Rows) -> None:
    rows.call(W, "PFADD", "hll:del", *_els("x", 100))
    with rows.partitioned():
        assert rows.call(W, "DEL", "hll:del") == 1
        assert rows.call(E, "PFADD", "hll:del", *_els("y", 100)) == 1
        assert rows.call(EU, "PFADD", "hll:del", "z") == 1
    rows.digests_equal()
    assert rows.same("EXISTS", "hll:del") == 0
    # after the delete was seen everywhere, a PFADD creates the key again
    assert rows.call(E, "PFADD", "hll:del", "again") == 1
    rows.c.wait_converged()
    assert rows.same("PFCOUNT", "hll:del") == 1


def test_set_of_hll_bytes_then_concurrent_pfadds(rows: Rows) -> None:
    rows.call(W, "PFADD", "hll:tmp", "p", "q")
    raw = rows.call(W, "GET", "hll:tmp")
    rows.call(W, "SET", "hll:set", raw)  # a string assignment of HLL bytes
    with rows.partitioned():
        rows.call(W, "PFADD", "hll:set", "r")
        rows.call(E, "PFADD", "hll:set", "s")
    rows.digests_equal()
    # each PFADD turned the string into an HLL of its own (concurrent creations): both count
    assert rows.same("PFCOUNT", "hll:set") == 4
    assert rows.same("TYPE", "hll:set") == b"string"
