"""Metadata GC stability (SEMANTICS.md, "tombstones"): what every region has observed becomes
stable; an unreachable peer holds that back only until --peer-timeout, after which INFO crdt
says so, and on its return the others catch up with it by merging its state."""

from __future__ import annotations

import time

from server.harness.regions import Cluster


def _stable(cluster: Cluster, i: int) -> dict[str, int]:
    text = cluster.client(i).info("crdt")["gc_stable_vv"]
    if not text:
        return {}
    if isinstance(text, dict):
        return {k: int(v) for k, v in text.items()}
    return {k: int(v) for k, v in (part.split("=") for part in str(text).split(","))}


def _own_origin(cluster: Cluster, i: int) -> str:
    return str(cluster.client(i).info("crdt")["origin"])


def _own_seq(cluster: Cluster, i: int) -> int:
    vv = cluster.client(i).info("crdt")["vv"]
    origin = _own_origin(cluster, i)
    if isinstance(vv, dict):
        return int(vv[origin])
    return int(dict(p.split("=") for p in str(vv).split(","))[origin])


def _wait(cluster: Cluster, predicate, timeout: float = 15.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    infos = [cluster.client(i).info("crdt") for i in range(cluster.n) if cluster.procs[i]]
    raise AssertionError(f"condition not reached in {timeout}s; INFO crdt: {infos}")


def test_stability_follows_every_region_and_skips_a_timed_out_peer() -> None:
    with Cluster(3, "--peer-timeout", "2") as cluster:
        cluster.wait_linked()
        origin = _own_origin(cluster, 0)
        for _ in range(5):
            cluster.call(0, "INCR", "gc-counter")
        cluster.call(0, "SET", "gc-plain", "v")  # a SET's own "never" entry needs no GC
        assert int(cluster.client(0).info("crdt")["gc_pending_keys"]) == 0
        for k in range(20):
            cluster.call(k % 3, "SET", f"gc-string:{k}", k, "EX", 1000)
            cluster.call(k % 3, "PERSIST", f"gc-string:{k}")
        cluster.wait_converged()
        # Every region collects the "never expires" entries of those PERSISTs once stable.
        _wait(cluster, lambda: all(
            int(cluster.client(i).info("crdt")["gc_pending_keys"]) == 0
            and int(cluster.client(i).info("crdt")["gc_collected_keys"]) >= 20 for i in range(3)))
        assert [cluster.call(i, "TTL", "gc-string:7") for i in range(3)] == [-1, -1, -1]
        # Everyone has applied all of region 0's writes: they become stable everywhere.
        seq = _own_seq(cluster, 0)
        _wait(cluster, lambda: all(_stable(cluster, i).get(origin, 0) >= seq for i in range(3)))

        cluster.isolate(2)
        for _ in range(5):
            cluster.call(0, "INCR", "gc-counter")
        seq = _own_seq(cluster, 0)
        time.sleep(0.5)
        # Region 2 has not seen the new writes: they are not stable, not even at region 0.
        assert _stable(cluster, 0).get(origin, 0) < seq
        assert int(cluster.client(0).info("crdt")["gc_timed_out_peers"]) == 0

        # Past --peer-timeout the unreachable region stops holding GC back, and INFO says so.
        _wait(cluster, lambda: int(cluster.client(0).info("crdt")["gc_timed_out_peers"]) == 1, 10)
        _wait(cluster, lambda: _stable(cluster, 0).get(origin, 0) >= seq, 10)

        # Region 2 wrote meanwhile; on its return the others merge its state and all converge.
        cluster.call(2, "INCRBY", "gc-counter", 100)
        cluster.heal_all()
        cluster.wait_converged(30)
        assert [cluster.call(i, "GET", "gc-counter") for i in range(3)] == [b"110"] * 3
        merges = sum(int(cluster.client(i).info("crdt")["state_merges"]) for i in range(2))
        assert merges >= 1
        _wait(cluster, lambda: int(cluster.client(0).info("crdt")["gc_timed_out_peers"]) == 0, 10)
