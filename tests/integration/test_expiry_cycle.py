"""The active expire cycle reclaims expired keys nobody touches (as Redis's activeExpireCycle),
and each removal is an observed-remove delete that goes to the op log like DEL."""

from __future__ import annotations

import time

import redis

from server.harness.processes import start_activekv


def test_untouched_expired_keys_are_reclaimed_by_the_active_cycle() -> None:
    with start_activekv() as server:
        r = redis.Redis(port=server.port)
        pipe = r.pipeline(transaction=False)
        for i in range(300):
            pipe.set(f"volatile:{i}", i, px=100)
        pipe.set("stays", 1)
        pipe.execute()
        logged_before = int(r.info("crdt")["oplog_last_lsn"])
        assert r.info("keyspace")["db0"]["keys"] == 301
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and int(r.info("stats")["expired_keys"]) < 300:
            time.sleep(0.05)
        assert int(r.info("stats")["expired_keys"]) == 300
        assert r.info("keyspace")["db0"] == {"keys": 1, "expires": 0, "avg_ttl": 0}
        # Each reclaimed key became a delete effect in the op log (replicated like DEL).
        assert int(r.info("crdt")["oplog_last_lsn"]) > logged_before
        assert r.get("stays") == b"1"
        r.close()


def test_peer_with_another_log_or_wire_version_is_refused() -> None:
    with start_activekv() as server:
        r = redis.Redis(port=server.port)
        for args, word in ((("1", "other", "id", "99"), "log version 99"),
                           (("7", "other", "id", "1"), "wire version 7")):
            try:
                r.execute_command("CRDT.SYNC", *args, b"\x80", "log")
                raise AssertionError("CRDT.SYNC with an incompatible version was accepted")
            except redis.ResponseError as exc:
                assert str(exc).startswith("CRDTERR incompatible") and word in str(exc), exc
        assert r.ping()
        r.close()
