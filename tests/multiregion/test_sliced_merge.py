"""A state merge does not stall the merging region (issue 16 item 2): it is joined in slices
while the region keeps answering its clients, writes made during it survive it, and a kill -9
in the middle of it restarts cleanly and converges."""

from __future__ import annotations

import os
import time
from typing import Any

from server.harness.regions import Cluster
from server.harness.waiting import wait_for

# The small log of these tests is truncated behind snapshots, so region 1 (isolated while
# region 0 writes KEYS keys) can only catch up by a state merge.
OPTS = ("--repl-log-retention", "1mb", "--repl-log-segment-size", "64kb",
        "--snapshot-every", "20", "--snapshot-min-interval", "0")
KEYS = 20_000
MSET_KEYS = 500
VALUE = "v" * 64  # over the 1mb log retention in all


def _info(r: Any) -> dict[str, Any]:
    return r.info("crdt")


def _isolate_and_load(c: Cluster) -> None:
    c.wait_linked()
    c.call(1, "SET", "before", "1")
    c.wait_converged(timeout=10)
    c.isolate(1)
    c.call(1, "SET", "mine", "kept")  # unreplicated: the merge must keep it
    with c.client(0) as r0:
        for start in range(0, KEYS, MSET_KEYS):
            r0.mset({f"k:{i}": f"{VALUE}{i}" for i in range(start, start + MSET_KEYS)})
        wait_for(lambda: _info(r0)["oplog_first_lsn"] > 2, 15, "region 0 to truncate its log")


def _during_merge(r1: Any, until: Any, timeout: float = 30.0) -> list[int]:
    """Poll region 1 until ``until(info)``; the slice counts INFO showed mid-merge, each
    followed by a PING and a GET that were answered."""
    slices: list[int] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info = _info(r1)
        if until(info, slices):
            return slices
        if info["state_merge_in_progress"]:
            slices.append(int(info["state_merge_slices"]))
            assert r1.ping() is True
            assert r1.get("mine") == b"kept"  # the pre-merge state is served meanwhile
    raise AssertionError(f"no end of the merge within {timeout}s (saw slices {slices})")


def test_a_big_state_merge_runs_in_slices_while_clients_are_served() -> None:
    with Cluster(2, *OPTS) as c:
        _isolate_and_load(c)
        with c.client(1) as r1:
            c.heal_all()
            wrote = False

            def merged(info: dict[str, Any], slices: list[int]) -> bool:
                nonlocal wrote
                if info["state_merge_in_progress"] and not wrote:
                    r1.set("during", "x")  # a write in the middle of the merge
                    r1.sadd("s", "during")
                    wrote = True
                return int(info["state_merges"]) >= 1

            slices = _during_merge(r1, merged)
            info = _info(r1)
        # INFO answered at several distinct points of one merge: it yielded between slices
        assert len(set(slices)) >= 2, slices
        assert wrote
        assert int(info["state_merge_slices"]) >= max(slices) > min(slices) >= 1
        assert int(info["state_merge_keys"]) >= KEYS
        digest = c.wait_converged(timeout=30)
        assert c.digests() == [digest, digest]
        for i in range(2):
            assert c.call(i, "DBSIZE") == KEYS + 4  # k:*, before, mine, during, s
            assert c.call(i, "GET", "mine") == b"kept" and c.call(i, "GET", "during") == b"x"
            assert c.call(i, "GET", f"k:{KEYS - 1}") == f"{VALUE}{KEYS - 1}".encode()
            assert c.call(i, "SMEMBERS", "s") in ({b"during"}, [b"during"])
        with c.client(0) as r0:
            assert int(_info(r0)["state_merges"]) == 0
        # the merged state survives a restart (kept merge file or the snapshot after it)
        c.restart(1)
        assert c.call(1, "CRDT.DIGEST") == digest and c.call(1, "DBSIZE") == KEYS + 4


def test_kill9_in_the_middle_of_a_merge_restarts_cleanly() -> None:
    with Cluster(2, *OPTS) as c:
        _isolate_and_load(c)
        with c.client(1) as r1:
            c.heal_all()
            slices = _during_merge(r1, lambda info, seen: len(set(seen)) >= 2)
        assert len(set(slices)) >= 2
        c.kill9(1)
        leftovers = [n for n in os.listdir(c.dirs[1]) if n.startswith("peer-state-")]
        assert leftovers  # the interrupted transfer's file is there...
        c.start(1)
        digest = c.wait_converged(timeout=30)
        assert not [n for n in os.listdir(c.dirs[1]) if n.startswith("peer-state-")]  # ...and gone
        assert c.digests() == [digest, digest]
        assert c.call(1, "GET", "mine") == b"kept" and c.call(1, "DBSIZE") == KEYS + 2
        with c.client(1) as r1:
            assert int(_info(r1)["state_merges"]) == 1  # it merged again, from the start
