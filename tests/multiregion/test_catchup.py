"""Catch-up after partitions and restarts: from the peer's op log when it reaches back, by a
state merge when it does not (keeping the returning region's own writes), and after SIGTERM
and kill -9 restarts."""

from __future__ import annotations

from typing import Any

import pytest

from server.harness.regions import Cluster
from server.harness.waiting import wait_for as _wait


def _info(c: Cluster, i: int) -> dict[str, Any]:
    with c.client(i) as r:
        return r.info("crdt")


def test_partition_catches_up_from_the_log() -> None:
    with Cluster(3) as c:
        c.wait_linked()
        c.isolate(2)
        for i in range(30):
            c.call(0, "INCR", "n")
            c.call(1, "SADD", "s", f"east-{i}")
            c.call(2, "SADD", "s", f"isolated-{i}")
            c.call(2, "INCRBY", "n", 2)
        c.call(2, "SET", "only-isolated", "x")
        _wait(lambda: c.call(1, "SCARD", "s") == 30 and c.call(0, "SCARD", "s") == 30,
              10, "regions 0 and 1 to see each other's writes")
        assert c.call(0, "GET", "only-isolated") is None  # the partition holds
        assert c.call(2, "GET", "n") == b"60"
        c.heal_all()
        c.wait_converged(timeout=15)
        for i in range(3):
            assert c.call(i, "GET", "n") == b"90"
            assert c.call(i, "SCARD", "s") == 60
            assert c.call(i, "GET", "only-isolated") == b"x"
            assert _info(c, i)["state_merges"] == 0  # the logs reached back: no state merge


def _write_many(r: Any, blob: str) -> None:
    """320 SETs of ``blob`` in pipelines of 8: many log records (the batches of one event-loop
    turn are logged as one record), so the small logs of these tests snapshot and truncate."""
    for start in range(0, 320, 8):
        pipe = r.pipeline(transaction=False)
        for i in range(start, start + 8):
            pipe.set(f"big:{i}", blob)
        pipe.execute()


def test_partition_beyond_the_log_catches_up_by_state_merge_keeping_local_writes() -> None:
    opts = ("--repl-log-retention", "1mb", "--repl-log-segment-size", "64kb",
            "--snapshot-every", "20", "--snapshot-min-interval", "0")
    with Cluster(3, *opts) as c:
        c.wait_linked()
        c.call(0, "SET", "before", "1")
        c.call(0, "INCRBY", "n", 1000)
        c.wait_converged(timeout=10)
        c.isolate(2)
        # the isolated region's own, unreplicated writes
        c.call(2, "SADD", "s", "from-isolated")
        c.call(2, "INCRBY", "n", 7)
        c.call(2, "HSET", "h", "isolated", "1")
        c.call(2, "SET", "isolated-key", "mine")
        c.call(2, "DEL", "before")  # observed-remove of what it had seen
        # meanwhile the others write well over the 1mb retention: their logs stop reaching back
        blob = "x" * 5000
        with c.client(0) as r0:
            _write_many(r0, blob)
        c.call(1, "SADD", "s", "from-east")
        c.call(1, "INCRBY", "n", 20)
        c.call(1, "HSET", "h", "east", "1")

        def truncated() -> bool:
            return all(_info(c, i)["oplog_first_lsn"] > 2 for i in (0, 1))

        _wait(truncated, 15, "regions 0 and 1 to truncate their logs")
        assert c.call(0, "EXISTS", "isolated-key") == 0
        c.heal_all()
        _wait(lambda: _info(c, 2)["state_merges"] > 0, 15, "a state merge at the isolated region")
        c.wait_converged(timeout=15)
        for i in range(3):
            assert sorted(c.call(i, "SMEMBERS", "s")) == [b"from-east", b"from-isolated"]
            assert c.call(i, "GET", "n") == b"1027"
            assert c.call(i, "HGETALL", "h") in ({b"isolated": b"1", b"east": b"1"},
                                                  [b"isolated", b"1", b"east", b"1"],
                                                  [b"east", b"1", b"isolated", b"1"])
            assert c.call(i, "GET", "isolated-key") == b"mine"
            assert c.call(i, "EXISTS", "before") == 0
            assert c.call(i, "DBSIZE") == 320 + 4  # nothing wiped: big:*, s, n, h, isolated-key
            assert c.call(i, "STRLEN", "big:319") == 5000
        assert _info(c, 0)["state_merges"] == 0 and _info(c, 1)["state_merges"] == 0
        # the merged state is durable: a restart of the merged region keeps it
        c.restart(2)
        assert c.call(2, "GET", "isolated-key") == b"mine" and c.call(2, "DBSIZE") == 324
        assert c.call(2, "GET", "n") == b"1027"


@pytest.mark.parametrize("how", ["sigterm", "kill9"])
def test_restarted_region_rejoins_and_catches_up(how: str) -> None:
    with Cluster(3) as c:
        c.wait_linked()
        for i in range(3):
            c.call(i, "INCRBY", "n", i + 1)
        c.wait_converged(timeout=10)
        c.call(1, "SADD", "s", "before-stop")
        if how == "kill9":
            c.kill9(1)
        else:
            c.stop(1)
        for i in range(40):
            c.call(0, "INCR", "n")
            c.call(2, "SADD", "s", f"while-down-{i}")
        c.start(1)
        c.call(1, "INCR", "n")
        c.wait_linked(timeout=15)
        c.wait_converged(timeout=15)
        for i in range(3):
            assert c.call(i, "GET", "n") == b"47"
            assert c.call(i, "SCARD", "s") == 41
            assert _info(c, i)["state_merges"] == 0


def test_isolated_region_beyond_its_own_log_is_merged_by_the_others() -> None:
    """The other direction: the isolated region writes past its own retention, so the others
    catch up on it by state merge, and keep their own writes made meanwhile."""
    opts = ("--repl-log-retention", "1mb", "--repl-log-segment-size", "64kb",
            "--snapshot-every", "20", "--snapshot-min-interval", "0")
    with Cluster(3, *opts) as c:
        c.wait_linked()
        c.call(1, "INCRBY", "n", 100)
        c.wait_converged(timeout=10)
        c.isolate(2)
        c.call(0, "SADD", "s", "from-west")
        c.call(1, "INCRBY", "n", 5)
        c.call(1, "HSET", "h", "east", "1")
        blob = "z" * 5000
        with c.client(2) as r2:
            _write_many(r2, blob)
            r2.sadd("s", "from-isolated")
            r2.incrby("n", 3)
        _wait(lambda: _info(c, 2)["oplog_first_lsn"] > 2, 15, "the isolated region to truncate its log")
        c.heal_all()
        _wait(lambda: _info(c, 0)["state_merges"] > 0 and _info(c, 1)["state_merges"] > 0, 15,
              "state merges at regions 0 and 1")
        c.wait_converged(timeout=15)
        for i in range(3):
            assert sorted(c.call(i, "SMEMBERS", "s")) == [b"from-isolated", b"from-west"]
            assert c.call(i, "GET", "n") == b"108"
            assert c.call(i, "HGET", "h", "east") == b"1"
            assert c.call(i, "DBSIZE") == 320 + 3
