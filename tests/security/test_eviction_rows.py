"""SEMANTICS "Memory limits", across regions with a fault proxy on each link: an eviction is a
local decision replicated as an observed-remove delete, so a write made concurrently in another
region survives it (add-wins) and the regions converge."""

from __future__ import annotations

from server.harness.regions import Cluster
from server.harness.waiting import wait_for as _wait


def test_eviction_is_an_observed_remove_concurrent_adds_survive() -> None:
    with Cluster(2) as c:
        c.wait_linked()
        c.call(0, "SADD", "s", "seen-by-both")
        c.call(0, "EXPIRE", "s", 100_000)  # the only key with a TTL: volatile-ttl's one victim
        c.call(0, "SET", "plain", "stays")
        _wait(lambda: set(c.call(1, "SMEMBERS", "s")) == {b"seen-by-both"}, 10, "s at region 1")
        c.partition(0, 1)
        c.call(1, "SADD", "s", "added-concurrently")  # region 0 has not seen this add
        # region 0 goes over its limit: its next command evicts s as it knows it
        c.call(0, "CONFIG", "SET", "maxmemory-policy", "volatile-ttl", "maxmemory", "1")
        c.call(0, "PING")
        assert c.call(0, "EXISTS", "s") == 0
        assert c.call(0, "INFO", "stats")["evicted_keys"] == 1
        assert c.call(0, "GET", "plain") == b"stays"  # not volatile: never a candidate
        c.call(0, "CONFIG", "SET", "maxmemory", "0")
        c.heal(0, 1)
        c.wait_converged()
        for i in range(2):  # the delete removed only what region 0 had observed
            assert set(c.call(i, "SMEMBERS", "s")) == {b"added-concurrently"}
            assert c.call(i, "GET", "plain") == b"stays"
