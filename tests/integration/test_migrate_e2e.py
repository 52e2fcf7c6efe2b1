"""MIGRATE end to end with real processes: activekv -> redis-server, redis-server -> activekv
and activekv -> activekv, every type with its TTL; the cached target connections; a key
changed while its transfer is in flight."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import hiredis
import pytest
import redis

from server import migrate_link
from server.harness.processes import ServerProcess, start_activekv, start_redis

HOST = "127.0.0.1"
KEYS = ["str", "int", "list", "set", "intset", "hash", "zset", "stream", "hll", "forever"]


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, ServerProcess]]:
    with start_activekv() as a, start_activekv("--region", "other") as b, start_redis() as r:
        for p in (b, r):
            with redis.Redis(port=p.port) as c:
                c.execute_command("ACL", "SETUSER", "mig", "on", ">pw", "~*", "+@all")
        yield {"akv": a, "akv2": b, "redis": r}


@pytest.fixture
def conns(servers: dict[str, ServerProcess]) -> Iterator[dict[str, redis.Redis]]:
    out = {name: redis.Redis(port=p.port) for name, p in servers.items()}
    for c in out.values():
        c.flushall()
    yield out
    for c in out.values():
        c.close()


def populate(r: redis.Redis) -> None:
    r.set("str", "hello" * 20, px=500_000)
    r.set("int", 12345, ex=400)
    r.rpush("list", "a", "b", "1", "x" * 100)
    r.sadd("set", "x", "y", "z")
    r.sadd("intset", 1, 2, 3)
    r.hset("hash", mapping={"f": "v", "n": "5"})
    r.zadd("zset", {"m": 1.5, "n": -2, "o": 1e10})
    for i in range(1, 6):
        r.xadd("stream", {"n": str(i)}, id=f"{i}-1")
    r.xgroup_create("stream", "g", id="0")
    r.pfadd("hll", "a", "b", "c")
    r.set("forever", "v")
    for key in KEYS[2:-1]:
        r.pexpire(key, 300_000)


def snapshot(r: redis.Redis, db: int = 0) -> dict[str, Any]:
    """What a user sees of each key: its value by type, and whether its TTL is as set."""
    r.execute_command("SELECT", db)
    out: dict[str, Any] = {}
    for key in KEYS:
        kind = r.type(key).decode()
        value: Any
        if kind == "string":
            value = r.get(key)
        elif kind == "list":
            value = r.lrange(key, 0, -1)
        elif kind == "set":
            value = sorted(r.smembers(key))
        elif kind == "hash":
            value = sorted(r.hgetall(key).items())
        elif kind == "zset":
            value = r.zrange(key, 0, -1, withscores=True)
        elif kind == "stream":
            value = (r.xrange(key), [g["name"] for g in r.xinfo_groups(key)])
        else:
            value = None
        pttl = r.pttl(key)
        out[key] = (kind, value, pttl if pttl < 0 else pttl > 200_000)
    r.execute_command("SELECT", 0)
    return out


def test_activekv_to_redis_every_type(conns: dict[str, redis.Redis], servers: dict[str, ServerProcess]) -> None:
    src, dst = conns["akv"], conns["redis"]
    populate(src)
    before = snapshot(src)
    assert all(v[0] != "none" for v in before.values())
    reply = src.execute_command("MIGRATE", HOST, servers["redis"].port, "", 2, 2000, "AUTH2", "mig", "pw",
                                "KEYS", *KEYS)
    assert reply == b"OK"
    assert snapshot(dst, db=2) == before
    assert src.dbsize() == 0
    dst.execute_command("SELECT", 2)
    assert dst.pfcount("hll") == 3


def test_redis_to_activekv_every_type(conns: dict[str, redis.Redis], servers: dict[str, ServerProcess]) -> None:
    src, dst = conns["redis"], conns["akv2"]
    populate(src)
    before = snapshot(src)
    reply = src.execute_command("MIGRATE", HOST, servers["akv2"].port, "", 5, 2000, "AUTH2", "mig", "pw",
                                "KEYS", *KEYS)
    assert reply == b"OK"
    assert snapshot(dst, db=5) == before
    assert src.dbsize() == 0
    # a refusal from activekv as the target: BUSYKEY, then REPLACE
    src.set("str", "again")
    with pytest.raises(redis.ResponseError, match="^Target instance replied with error: BUSYKEY"):
        src.execute_command("MIGRATE", HOST, servers["akv2"].port, "str", 5, 2000, "AUTH2", "mig", "pw")
    assert src.execute_command("MIGRATE", HOST, servers["akv2"].port, "str", 5, 2000, "REPLACE",
                               "AUTH2", "mig", "pw") == b"OK"
    dst.execute_command("SELECT", 5)
    assert dst.get("str") == b"again"
    assert dst.pttl("str") == -1


def test_activekv_to_activekv_copy_and_replace(conns: dict[str, redis.Redis], servers: dict[str, ServerProcess]) -> None:
    src, dst = conns["akv"], conns["akv2"]
    populate(src)
    before = snapshot(src)
    port = servers["akv2"].port
    with pytest.raises(redis.ResponseError, match="^Target instance replied with error: WRONGPASS"):
        src.execute_command("MIGRATE", HOST, port, "", 0, 2000, "AUTH2", "mig", "wrong", "KEYS", *KEYS)
    assert snapshot(src) == before  # nothing deleted after an error of the target
    dst.flushall()
    assert src.execute_command("MIGRATE", HOST, port, "", 0, 2000, "COPY", "KEYS", *KEYS) == b"OK"
    assert snapshot(dst) == before
    assert snapshot(src) == before  # COPY keeps them
    with pytest.raises(redis.ResponseError, match="BUSYKEY"):
        src.execute_command("MIGRATE", HOST, port, "list", 0, 2000)
    src.rpush("list", "more")
    assert src.execute_command("MIGRATE", HOST, port, "list", 0, 2000, "REPLACE") == b"OK"
    assert dst.lrange("list", 0, -1)[-1] == b"more"
    assert src.exists("list") == 0


class SlowTarget:
    """A loopback "target" that answers +OK to every command, ``delay`` seconds after it
    arrived (time for another client to change the key being migrated)."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.sock = socket.create_server((HOST, 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        conns: list[socket.socket] = []
        while not self.stopping.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            conns.append(conn)
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()
        for conn in conns:
            conn.close()

    def _answer(self, conn: socket.socket) -> None:
        reader = hiredis.Reader()
        conn.settimeout(0.2)
        while not self.stopping.is_set():
            try:
                data = conn.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                return
            if not data:
                return
            reader.feed(data)
            n = 0
            while reader.gets() is not False:
                n += 1
            time.sleep(self.delay)
            try:
                conn.sendall(b"+OK\r\n" * n)
            except OSError:
                return

    def close(self) -> None:
        self.stopping.set()
        self.thread.join(5)
        self.sock.close()


def test_a_key_changed_during_the_transfer_is_not_deleted(conns: dict[str, redis.Redis]) -> None:
    """The target accepted the value that was sent; the newer value stays at the source."""
    src = conns["akv"]
    target = SlowTarget(0.4)
    try:
        src.set("k", "sent")
        src.set("same", "kept-equal")
        result: list[Any] = []
        mover = redis.Redis(port=src.connection_pool.connection_kwargs["port"])
        t = threading.Thread(target=lambda: result.append(
            mover.execute_command("MIGRATE", HOST, target.port, "", 0, 3000, "KEYS", "k", "same")))
        t.start()
        time.sleep(0.15)
        src.set("k", "changed")  # served while the MIGRATE waits for its target
        t.join(5)
        mover.close()
        assert result == [b"OK"]
        assert src.get("k") == b"changed"
        assert src.exists("same") == 0  # unchanged: deleted as usual
    finally:
        target.close()


def test_cached_connections_expire_after_10_seconds(servers: dict[str, ServerProcess]) -> None:
    """migrate_link in-process: one cached connection per target, reused (no SELECT the
    second time), closed once unused for more than 10 s."""
    migrate_link.close_all()
    port = str(servers["redis"].port).encode()
    restore = b"*2\r\n$4\r\nPING\r\n$1\r\nx\r\n"
    first = migrate_link.transfer(HOST.encode(), port, 1000, 3, b"", [restore])
    assert first.reply is None and first.accepted == [0]
    assert migrate_link.cached_socket_count() == 1
    again = migrate_link.transfer(HOST.encode(), port, 1000, 3, b"", [restore])
    assert again.reply is None and migrate_link.cached_socket_count() == 1
    migrate_link.close_timed_out(time.monotonic() + 5)
    assert migrate_link.cached_socket_count() == 1
    migrate_link.close_timed_out(time.monotonic() + 11)
    assert migrate_link.cached_socket_count() == 0


def test_info_counts_cached_connections(conns: dict[str, redis.Redis], servers: dict[str, ServerProcess]) -> None:
    src = conns["akv"]
    src.set("k", "v")
    assert src.execute_command("MIGRATE", HOST, servers["redis"].port, "k", 0, 1000) == b"OK"
    assert src.info("stats")["migrate_cached_sockets"] >= 1


def test_concurrent_migrations_to_one_target_share_its_connection(
        conns: dict[str, redis.Redis], servers: dict[str, ServerProcess]) -> None:
    """Several clients migrating to the same target at once: the cached connection serves
    them in turn (each reply read by its own migration), all keys arrive."""
    src, dst = conns["akv"], conns["redis"]
    n = 8
    for i in range(n):
        src.set(f"k{i}", f"v{i}")
    results: list[Any] = [None] * n

    def move(i: int) -> None:
        with redis.Redis(port=servers["akv"].port) as c:
            results[i] = c.execute_command("MIGRATE", HOST, servers["redis"].port, f"k{i}", i % 3, 2000)

    threads = [threading.Thread(target=move, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert results == [b"OK"] * n
    assert src.dbsize() == 0
    for i in range(n):
        dst.execute_command("SELECT", i % 3)
        assert dst.get(f"k{i}") == f"v{i}".encode()


def test_in_process_without_an_event_loop_migrates_inline(servers: dict[str, ServerProcess]) -> None:
    """An in-process server (no event loop): MIGRATE runs inline and ships its delete."""
    from tests.inprocess import send, start_server

    server, sink, client, transport = start_server()
    send(client, transport, ("SET", "inproc", "v"))
    out = send(client, transport, ("MIGRATE", HOST, str(servers["redis"].port), "inproc", "7", "1000"))
    assert out == b"+OK\r\n"
    assert send(client, transport, ("EXISTS", "inproc")) == b":0\r\n"
    last = sink.batches[-1].effects
    assert [type(e).__name__ for e in last] == ["Delete"] and last[0].key == b"inproc"
    with redis.Redis(port=servers["redis"].port, db=7) as r:
        assert r.get("inproc") == b"v"
        r.delete("inproc")
