"""MIGRATE in a 2-region cluster: the source's delete is an ordinary local delete (an
observed-remove DEL) that replicates, so the migrated keys leave every region; COPY leaves
them everywhere; a write in the other region concurrent with the migration survives it
(SEMANTICS "Keys, deletion": a concurrent write survives a delete)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
import redis

from server.harness.processes import ServerProcess, start_redis
from server.harness.regions import Cluster
from server.harness.silent import Silent
from tests.multiregion.rowkit import Rows, poll


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    with Cluster(2) as c:
        c.wait_linked()
        yield c


@pytest.fixture(scope="module")
def target() -> Iterator[ServerProcess]:
    with start_redis() as t:
        yield t


@pytest.fixture
def rows(cluster: Cluster, target: ServerProcess) -> Iterator[Rows]:
    r = Rows(cluster)
    r.call(0, "FLUSHALL")
    with redis.Redis(port=target.port) as t:
        t.flushall()
    cluster.wait_converged()
    try:
        yield r
    finally:
        cluster.heal_all()


def test_migrate_in_one_region_deletes_the_keys_in_the_other(rows: Rows, target: ServerProcess) -> None:
    rows.call(0, "SET", "k", "v", "EX", "1000")
    rows.call(0, "RPUSH", "l", "a", "b")
    rows.call(0, "SADD", "kept", "x")
    rows.c.wait_converged()
    assert rows.all("EXISTS", "k", "l", "kept") == [3, 3]
    assert rows.call(0, "MIGRATE", "127.0.0.1", target.port, "", 0, 2000, "KEYS", "k", "l") == b"OK"
    rows.c.wait_converged()
    assert rows.all("EXISTS", "k", "l") == [0, 0]
    assert rows.all("EXISTS", "kept") == [1, 1]
    rows.digests_equal()
    with redis.Redis(port=target.port) as t:
        assert t.get("k") == b"v" and 0 < t.ttl("k") <= 1000
        assert t.lrange("l", 0, -1) == [b"a", b"b"]
    # COPY: nothing deleted anywhere
    assert rows.call(1, "MIGRATE", "127.0.0.1", target.port, "kept", 0, 2000, "COPY") == b"OK"
    rows.c.wait_converged()
    assert rows.all("EXISTS", "kept") == [1, 1]


def test_a_concurrent_write_in_the_other_region_survives_the_migration(rows: Rows, target: ServerProcess) -> None:
    rows.call(0, "SADD", "s", "a")
    rows.c.wait_converged()
    with rows.partitioned():
        assert rows.call(0, "MIGRATE", "127.0.0.1", target.port, "s", 0, 2000) == b"OK"
        rows.call(1, "SADD", "s", "b")
    assert rows.same("SMEMBERS", "s") == {b"b"}
    rows.digests_equal()


def test_peer_links_are_served_while_a_migrate_waits_for_a_silent_target(rows: Rows) -> None:
    """Redis blocks everything during MIGRATE; here a write in region 2 reaches region 1
    while region 1's MIGRATE still waits for its target."""
    rows.call(0, "SET", "k", "v")
    with Silent() as silent, redis.Redis(port=rows.c.ports[0]) as waiting:
        result: list[object] = []
        t = threading.Thread(target=lambda: result.append(_migrate(waiting, silent.port)))
        t.start()
        try:
            started = time.monotonic()
            time.sleep(0.1)
            rows.call(1, "SET", "from-region-2", "x")
            assert poll(lambda: rows.call(0, "GET", "from-region-2") == b"x", timeout=1.0)
            assert time.monotonic() - started < 1.5  # before the MIGRATE's 2 s timeout
        finally:
            t.join(5)
    assert result == ["IOERR error or timeout reading to target instance"]
    assert rows.all("GET", "k") == [b"v", b"v"]


def _migrate(r: redis.Redis, port: int) -> object:
    try:
        return r.execute_command("MIGRATE", "127.0.0.1", port, "k", 0, 2000)
    except redis.ResponseError as exc:
        return str(exc)
