"""Peer links: identity (duplicate region names), authentication, reconnects, backpressure,
the peer table, and cross-region read-your-writes (CRDT.TOKEN / CRDT.WAITTOKEN, WAIT)."""

from __future__ import annotations

import re
import socket
import time
from typing import Any

import redis

from crdt.codec import encode_batch
from crdt.effects import Batch
from crdt.types.strings import Assign
from replication.wire import F_BATCH, WIRE_VERSION, frame, pack_vv
from server.harness.processes import start_activekv
from server.harness.regions import Cluster
from server.harness.regions import peer_field as _field
from server.harness.waiting import wait_for as _wait
from tests.respclient import encode_command


def _states(c: Cluster, i: int) -> dict[bytes, bytes]:
    return {_field(row, b"region"): _field(row, b"state") for row in c.call(i, "CRDT.PEERS")}


def _replicated(c: Cluster, key: str, value: bytes, timeout: float = 10) -> None:
    _wait(lambda: all(c.call(i, "GET", key) == value for i in range(c.n) if c.procs[i]),
          timeout, f"{key}={value!r} everywhere")


# -- identity ---------------------------------------------------------------------------------


def test_duplicate_region_name_is_refused_on_both_sides() -> None:
    with Cluster(3) as c:
        c.wait_linked()
        before = c.call(0, "CRDT.PEERS")
        # a fourth process claiming an existing region name, peered to the whole cluster
        peers = [a for port in c.ports for a in ("--peer", f"127.0.0.1:{port}")]
        dup = start_activekv("--region", "us-east", *peers)
        try:
            _wait(lambda: dup.log().count("duplicate region name 'us-east'") >= 3, 10, "the newcomer's log")
            assert "refused the link" in dup.log()
            _wait(lambda: "region name 'us-east' is already in use" in c.procs[0].log(),  # type: ignore[union-attr]
                  5, "region 0's log")
            _wait(lambda: "region name 'us-east' is already in use" in c.procs[2].log(),  # type: ignore[union-attr]
                  5, "region 2's log")
            _wait(lambda: "claims our own region name 'us-east'" in c.procs[1].log(),  # type: ignore[union-attr]
                  5, "region 1's log")
            # the cluster is unaffected
            c.call(1, "SET", "after-dup", "ok")
            _replicated(c, "after-dup", b"ok")
            assert dup.proc.poll() is None  # the newcomer keeps running, unlinked
            with redis.Redis(port=dup.port, socket_timeout=5) as r:
                assert r.get("after-dup") is None
                rows = r.execute_command("CRDT.PEERS")
                assert [_field(row, b"state") for row in rows] == [b"down"] * 3
                assert all(b"duplicate region name" in _field(row, b"last_error") for row in rows)
            assert len(c.call(0, "CRDT.PEERS")) == len(before) == 2
            c.wait_linked(timeout=5)
        finally:
            dup.stop()


def test_own_region_name_is_refused() -> None:
    with Cluster(2) as c:
        c.wait_linked()
        dup = start_activekv("--region", "us-west", "--peer", f"127.0.0.1:{c.ports[0]}")
        try:
            _wait(lambda: "it is this region's own name" in dup.log(), 10, "the newcomer's log")
            _wait(lambda: "claims our own region name 'us-west'" in c.procs[0].log(),  # type: ignore[union-attr]
                  5, "region 0's log")
            c.call(0, "INCR", "n")
            _wait(lambda: c.call(1, "GET", "n") == b"1", 5, "replication still working")
        finally:
            dup.stop()


# -- authentication ---------------------------------------------------------------------------


def test_links_with_passwords_and_unauthenticated_sync_is_refused() -> None:
    with Cluster(3, "--requirepass", "s3cret", "--peer-password", "s3cret") as c:
        def call(i: int, *args: Any) -> Any:
            with c.client(i, password="s3cret") as r:
                return r.execute_command(*args)

        c.call = call  # type: ignore[method-assign]
        c.wait_linked()
        for i in range(3):
            # while the others were still starting, the handshake met closed connections:
            # a network failure to retry soon, not an authentication refusal (no 2 s backoff)
            log = c.procs[i].log()  # type: ignore[union-attr]
            assert not re.search(r"authentication refused: *$", log, re.M), log
        call(0, "SET", "k", "v")
        _replicated(c, "k", b"v")
        digest = call(1, "CRDT.DIGEST")

        # a client that has not authenticated cannot start a link
        with socket.create_connection(("127.0.0.1", c.ports[1]), timeout=5) as s:
            s.sendall(encode_command(("CRDT.SYNC", str(WIRE_VERSION), "intruder", "abcd", "1", pack_vv({}))))
            assert s.recv(4096).startswith(b"-NOAUTH Authentication required")
            s.sendall(encode_command(("GET", "k")))  # still an ordinary (unauthenticated) connection
            assert s.recv(4096).startswith(b"-NOAUTH")

        # a raw socket: fake handshake without AUTH, then well-formed batch frames and garbage
        forged = Batch("intruder/1", 1, 1 << 40, {}, [Assign(0, b"k", b"forged"), Assign(0, b"x", b"1")])
        payload = encode_command(("CRDT.SYNC", str(WIRE_VERSION), "intruder", "abcd", "1", pack_vv({}), "log"))
        payload += frame(F_BATCH, encode_batch(forged)) * 3 + bytes(range(256)) * 8
        with socket.create_connection(("127.0.0.1", c.ports[1]), timeout=5) as s:
            s.sendall(payload)
            s.settimeout(1.0)  # the server may keep waiting for the rest of an inline line
            got = b""
            try:
                while True:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    got += chunk
            except (TimeoutError, ConnectionResetError):
                pass
        assert got.startswith(b"-NOAUTH"), got[:100]
        assert b"+SYNC" not in got
        time.sleep(0.2)  # anything applied would be visible by now
        for i in range(3):
            assert call(i, "GET", "k") == b"v"
            assert call(i, "EXISTS", "x") == 0
        assert call(1, "CRDT.DIGEST") == digest
        assert "intruder" not in str(c.client(1, password="s3cret").info("crdt")["vv"])


def test_wrong_peer_password_is_reported_and_does_not_link() -> None:
    with Cluster(2, "--requirepass", "s3cret", "--peer-password", "wrong") as c:
        with c.client(0, password="s3cret") as r:
            _wait(lambda: all(b"authentication refused: -WRONGPASS" in _field(row, b"last_error")
                              for row in r.execute_command("CRDT.PEERS")), 10, "an auth error")
            assert [_field(row, b"state") for row in r.execute_command("CRDT.PEERS")] == [b"down"]


# -- reconnects and backpressure --------------------------------------------------------------


def test_links_reconnect_after_repeated_cuts_exactly_once() -> None:
    with Cluster(3) as c:
        c.wait_linked()
        took = []
        for rnd in range(6):
            t0 = time.monotonic()
            for proxy in c.proxies.values():
                proxy.cut()
            for i in range(3):
                c.call(i, "INCR", "n")
                c.call(i, "SADD", "s", f"{rnd}-{i}")
            c.wait_linked(timeout=10)  # every link came back by itself
            took.append(time.monotonic() - t0)
        # the backoff starts small again after a link that was up fails: no 2 s waits
        assert sum(took[-3:]) < 3.0, took
        c.wait_converged(timeout=10)
        for i in range(3):
            assert c.call(i, "GET", "n") == b"18"  # no increment lost or applied twice
            assert c.call(i, "SCARD", "s") == 18
        assert all(p.connections_cut >= 6 for p in c.proxies.values())
        logs = c.procs[0].log()  # type: ignore[union-attr]
        assert logs.count("peer link to us-east") >= 6  # up/down again and again
        c.wait_linked(timeout=10)


def test_links_survive_random_drops_under_writes() -> None:
    with Cluster(2) as c:
        c.wait_linked()
        for proxy in c.proxies.values():
            proxy.set_drop(0.2)
        with c.client(0) as r0, c.client(1) as r1:
            for _ in range(100):
                r0.incr("n")
                r1.incr("n")
        for proxy in c.proxies.values():
            proxy.set_drop(0)
        c.wait_converged(timeout=15)
        assert [c.call(i, "GET", "n") for i in range(2)] == [b"200", b"200"]
        assert sum(p.connections_cut for p in c.proxies.values()) > 0


def test_backpressure_slow_peer_keeps_the_sender_bounded() -> None:
    with Cluster(2) as c:
        c.wait_linked()
        slow = c.proxies[(1, 0)]  # region 1 pulls region 0's log through it
        slow.set_delay(200)
        slow.set_bandwidth(200_000)
        blob = "y" * 4000
        total = 3000  # ~12 MB of log for a link of 200 kB/s
        with c.client(0) as r0:
            for start in range(0, total, 500):
                pipe = r0.pipeline(transaction=False)
                for i in range(start, start + 500):
                    pipe.set(f"k{i}", blob)
                pipe.execute()
            seen = []
            for _ in range(10):
                info = r0.info("crdt")
                seen.append(info["link_output_buffer_bytes"])
                lag = info["peer0"]["lag_ops"]
                time.sleep(0.05)
        # the peer is far behind, yet the sender holds only a socket's worth of it
        assert lag > total // 2
        assert max(seen) < 2 * 1024 * 1024, seen
        assert "link_deferred_relay_batches" in info
        slow.set_bandwidth(0)
        slow.set_delay(0)
        c.wait_converged(timeout=15)
        assert c.call(1, "STRLEN", f"k{total - 1}") == 4000


# -- the peer table ---------------------------------------------------------------------------


def test_peer_table_shows_up_and_down_after_a_partition() -> None:
    with Cluster(3) as c:
        c.wait_linked()
        assert _states(c, 0) == {b"us-east": b"up", b"eu-west": b"up"}
        c.partition(0, 1)
        _wait(lambda: _states(c, 0) == {b"us-east": b"down", b"eu-west": b"up"}, 10, "0 sees 1 down")
        _wait(lambda: _states(c, 1) == {b"us-west": b"down", b"eu-west": b"up"}, 10, "1 sees 0 down")
        assert _states(c, 2) == {b"us-west": b"up", b"us-east": b"up"}
        with c.client(0) as r:
            rep = r.info("replication")
        assert rep["role"] == "active-active" and rep["connected_peers"] == 1
        peers = {rep[k]["region"]: rep[k]["state"] for k in rep if k.startswith("peer")}
        assert peers == {"us-east": "down", "eu-west": "up"}
        c.heal_all()
        c.wait_linked(timeout=10)
        with c.client(0) as r:
            assert r.info("replication")["connected_peers"] == 2


# -- cross-region read-your-writes --------------------------------------------------------------


def test_waittoken_gives_read_your_writes_across_regions() -> None:
    with Cluster(2) as c:
        c.wait_linked()
        c.proxies[(1, 0)].set_delay(300)  # what region 1 pulls from region 0 is 300 ms late
        with c.client(0) as r0, c.client(1) as r1:
            r0.set("ryw", "v1")
            r0.sadd("ryw-set", "a")
            token = r0.execute_command("CRDT.TOKEN")
            assert r1.get("ryw") is None  # not there yet: the link is slow
            t0 = time.monotonic()
            assert r1.execute_command("CRDT.WAITTOKEN", token, 5000) == 1
            elapsed = time.monotonic() - t0
            assert 0.15 < elapsed < 3, elapsed
            assert r1.get("ryw") == b"v1" and r1.sismember("ryw-set", "a")
            # a token already covered returns at once
            assert r1.execute_command("CRDT.WAITTOKEN", token, 0) == 1

            c.proxies[(1, 0)].partition()
            r0.set("ryw", "v2")
            token2 = r0.execute_command("CRDT.TOKEN")
            t0 = time.monotonic()
            assert r1.execute_command("CRDT.WAITTOKEN", token2, 500) == 0
            elapsed = time.monotonic() - t0
            assert 0.45 < elapsed < 2, elapsed
            assert r1.get("ryw") == b"v1"
            c.proxies[(1, 0)].heal()
            c.proxies[(1, 0)].set_delay(0)
            assert r1.execute_command("CRDT.WAITTOKEN", token2, 10000) == 1
            assert r1.get("ryw") == b"v2"


def test_wait_counts_regions_that_acknowledged_the_last_write() -> None:
    with Cluster(3) as c:
        c.wait_linked()
        with c.client(0) as r0:
            r0.set("w", "1")
            assert r0.execute_command("WAIT", 2, 5000) == 2
            c.partition(0, 2)
            r0.set("w", "2")
            t0 = time.monotonic()
            assert r0.execute_command("WAIT", 2, 500) == 1  # only us-east acknowledged
            assert 0.45 < time.monotonic() - t0 < 2
            assert r0.execute_command("WAIT", 1, 5000) == 1
            c.heal(0, 2)
            assert r0.execute_command("WAIT", 2, 10000) == 2
