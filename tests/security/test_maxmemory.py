"""maxmemory: used_memory is a real accounting (checked against RSS growth), the OOM error
matches Redis's (differential, RESP2 and RESP3), replicated batches are applied over the
limit, and eviction policies evict — and an evicted key disappears in the peer region too."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import redis

from crdt.keyspace import RECENT_KEYS
from server.harness.processes import ServerProcess, free_port, start_activekv, start_redis
from server.harness.regions import peer_field
from server.harness.waiting import wait_for as _wait
from tests.conftest import Differential

OOM = "OOM command not allowed when used memory > 'maxmemory'."


def _mem(r: redis.Redis) -> dict[str, object]:
    return r.info("memory")


def test_used_memory_tracks_rss_growth() -> None:
    """The accounting's growth is within 30% of the process's RSS growth for a mix of strings,
    hashes, sets, sorted sets and lists (after the op log's in-memory tail, 8 MB, is full)."""
    with start_activekv("--maxmemory", "1gb") as proc:
        r = redis.Redis(port=proc.port)
        try:
            pipe = r.pipeline(transaction=False)
            for i in range(2500):  # 10 MB of op log records: the tail cache is full
                pipe.set(f"warm:{i}", b"w" * 4000)
            pipe.execute()
            r.delete(*[f"warm:{i}" for i in range(2500)])
            m0 = _mem(r)
            for b in range(10):
                pipe = r.pipeline(transaction=False)
                for i in range(1000):
                    pipe.set(f"key:{b}:{i}", f"{i:0300d}")
                pipe.execute()
            for j in range(10):
                r.hset(f"h{j}", mapping={f"field:{i}": f"{i:050d}" for i in range(2000)})
                r.sadd(f"s{j}", *[f"member:{i:040d}" for i in range(2000)])
                r.zadd(f"z{j}", {f"member:{i:040d}": i for i in range(2000)})
                r.rpush(f"l{j}", *[f"element:{i:040d}" for i in range(2000)])
            m1 = _mem(r)
            used = int(m1["used_memory"]) - int(m0["used_memory"])  # type: ignore[call-overload]
            rss = int(m1["used_memory_rss"]) - int(m0["used_memory_rss"])  # type: ignore[call-overload]
            assert 0.7 <= used / rss <= 1.3, (used, rss)
            assert used > 20 * 1024**2  # the data written is ~25 MB as Python objects
            # deleting gives the accounted memory back
            r.flushall()
            assert int(_mem(r)["used_memory"]) < int(m0["used_memory"]) + 1024**2  # type: ignore[call-overload]
        finally:
            r.close()


def test_packing_at_rest_is_accounted() -> None:
    """Small collections are packed by the expire cycle's sweep (crdt/packing.py), also the
    latest ``RECENT_KEYS`` written (which writes leave live); the accounting measures each
    packed key again, so used_memory falls with them."""
    with start_activekv("--maxmemory", "1gb") as proc:
        r = redis.Redis(port=proc.port)
        try:
            pipe = r.pipeline(transaction=False)
            for j in range(RECENT_KEYS):
                pipe.hset(f"h{j}", mapping={f"field{i}": f"value{i}" for i in range(10)})
            pipe.execute()
            before = int(_mem(r)["used_memory"])  # type: ignore[call-overload]
            _wait(lambda: int(_mem(r)["used_memory"]) < before * 0.6, 15,  # type: ignore[call-overload]
                  "the packed hashes to be accounted smaller")
        finally:
            r.close()


def test_packing_at_write_time_is_accounted() -> None:
    """Small collections written more than ``RECENT_KEYS`` keys ago are packed as the writes go on
    (crdt/keyspace.py ``pack_cold``), and the accounting hears of each: the used_memory kept up
    to date across the writes equals a recount of every key (CONFIG SET maxmemory 0, then back
    on: tracking starts again), both read in one transaction so the sweep packs nothing between."""
    with start_activekv("--maxmemory", "1gb") as proc:
        r = redis.Redis(port=proc.port)
        try:
            pipe = r.pipeline(transaction=False)
            for j in range(3000):
                pipe.hset(f"h{j}", mapping={f"field{i}": f"value{i}" for i in range(10)})
            pipe.execute()
            assert int(r.info("crdt")["packed_contents"]) >= 3000 - RECENT_KEYS
            tx = r.pipeline(transaction=True)
            tx.info("memory").config_set("maxmemory", "0").config_set("maxmemory", "1gb").info("memory")
            kept, _, _, recounted = tx.execute()
            assert abs(kept["used_memory"] - recounted["used_memory"]) < recounted["used_memory"] * 0.05
        finally:
            r.close()


@pytest.fixture(scope="module")
def oom_pair() -> Iterator[tuple[ServerProcess, ServerProcess]]:
    with start_redis("--maxmemory", "1") as ref, start_activekv("--maxmemory", "1") as ours:
        yield ref, ours


@pytest.fixture(params=[2, 3], ids=["resp2", "resp3"])
def oom(request: pytest.FixtureRequest, oom_pair: tuple[ServerProcess, ServerProcess]) -> Iterator[Differential]:
    ref, ours = oom_pair
    for p in (ref, ours):  # a key to read and delete, written while there is no limit
        r = redis.Redis(port=p.port)
        r.config_set("maxmemory", 0)
        r.flushall()
        r.set("present", "v")
        r.rpush("list", "a", "b")
        r.config_set("maxmemory", 1)
        r.close()
    d = Differential(ref.port, ours.port, request.param)
    yield d
    d.close()


def test_noeviction_refuses_writes_that_may_grow_memory(oom: Differential) -> None:
    oom.check_all(
        ("SET", "k", "v"), ("SET", "present", "x"), ("APPEND", "present", "x"), ("INCR", "n"),
        ("LPUSH", "list", "c"), ("SADD", "s", "m"), ("HSET", "h", "f", "v"), ("ZADD", "z", "1", "m"),
        ("MSET", "a", "1", "b", "2"), ("SETNX", "k", "v"), ("GETSET", "present", "y"),
        ("COPY", "present", "copy"), ("SET", "k"),  # arity is checked before memory
        ("GET", "present"), ("LRANGE", "list", "0", "-1"), ("EXISTS", "present"), ("PING",),
        ("DBSIZE",), ("LPOP", "list"), ("EXPIRE", "present", "100"), ("PERSIST", "present"),
        ("DEL", "present"), ("GET", "present"), ("NOSUCH",),
    )
    ref, ours = oom.both("SET", "k", "v")
    assert ours.type == "-" and ours.value == OOM


def test_oom_in_multi(oom: Differential) -> None:
    oom.check_all(
        ("MULTI",), ("GET", "present"), ("SET", "k", "v"), ("EXEC",),  # every queued command is refused
        ("MULTI",), ("DISCARD",),
        ("MULTI",), ("EXEC",),
    )


def test_exec_of_a_queued_write_once_over_the_limit(oom: Differential) -> None:
    for conn in (oom.ref, oom.ours):
        conn.call("CONFIG", "SET", "maxmemory", "0")
    oom.check_all(("MULTI",), ("SET", "k", "v"), ("GET", "present"))
    for conn in (oom.ref, oom.ours):
        conn.call("CONFIG", "SET", "maxmemory", "1")
    oom.check("EXEC")  # EXECABORT ... because of: OOM ...
    oom.check("GET", "k")
    oom.check_all(("MULTI",), ("EXEC",))


def test_info_memory_fields(oom: Differential) -> None:
    for conn in (oom.ref, oom.ours):
        text = conn.call("INFO", "memory").value
        text = text[4:] if isinstance(text, bytes) and text.startswith(b"txt:") else text
        fields = dict(line.split(b":", 1) for line in text.split(b"\r\n")[1:] if b":" in line)
        assert fields[b"maxmemory"] == b"1" and fields[b"maxmemory_human"] == b"1B"
        assert fields[b"maxmemory_policy"] == b"noeviction"
        assert int(fields[b"used_memory"]) > 1


def _fill(r: redis.Redis, prefix: str, n: int, size: int = 2000, **kw: object) -> None:
    pipe = r.pipeline(transaction=False)
    for i in range(n):
        pipe.set(f"{prefix}{i}", b"x" * size, **kw)  # type: ignore[arg-type]
    pipe.execute()


def _exist(r: redis.Redis, keys: list[str]) -> list[bool]:
    pipe = r.pipeline(transaction=False)
    for key in keys:
        pipe.exists(key)
    return [bool(n) for n in pipe.execute()]


def test_allkeys_lru_evicts_the_keys_idle_longest() -> None:
    """Idle time is OBJECT IDLETIME's (seconds, as Redis's LRU clock): keys not used for a
    second go before the keys just read or written."""
    with start_activekv("--maxmemory", "1mb", "--maxmemory-policy", "allkeys-lru",
                        "--maxmemory-samples", "10") as proc:
        r = redis.Redis(port=proc.port)
        try:
            _fill(r, "old:", 350)
            _fill(r, "hot:", 50)
            time.sleep(1.2)
            hot = [f"hot:{i}" for i in range(50)]
            assert all(v is not None for v in r.mget(hot))  # read: no longer idle
            assert r.object("idletime", "old:0") > r.object("idletime", "hot:0")
            _fill(r, "new:", 150)
            info = r.info()
            evicted = int(info["evicted_keys"])
            assert evicted > 20
            assert all(_exist(r, hot)) and all(_exist(r, [f"new:{i}" for i in range(150)]))
            assert sum(_exist(r, [f"old:{i}" for i in range(350)])) == 350 - evicted
            assert int(info["used_memory"]) <= 1024**2 + 16 * 1024
        finally:
            r.close()


def test_allkeys_lfu_keeps_the_keys_used_often() -> None:
    with start_activekv("--maxmemory", "1mb", "--maxmemory-policy", "allkeys-lfu",
                        "--maxmemory-samples", "10") as proc:
        r = redis.Redis(port=proc.port)
        try:
            _fill(r, "hot:", 20)
            pipe = r.pipeline(transaction=False)
            for _ in range(150):  # Redis's logarithmic counter: ~5 steps up (a new key has 5)
                for i in range(20):
                    pipe.get(f"hot:{i}")
            pipe.execute()
            for b in range(15):
                _fill(r, f"cold:{b}:", 50)
            assert all(v is not None for v in r.mget([f"hot:{i}" for i in range(20)]))
            assert int(r.info("stats")["evicted_keys"]) > 300
        finally:
            r.close()


def test_allkeys_random_evicts_down_to_the_limit() -> None:
    with start_activekv("--maxmemory", "1mb", "--maxmemory-policy", "allkeys-random") as proc:
        r = redis.Redis(port=proc.port)
        try:
            _fill(r, "k:", 1500)
            evicted = int(r.info("stats")["evicted_keys"])
            assert evicted > 800 and r.dbsize() == 1500 - evicted
            assert int(r.info("memory")["used_memory"]) <= 1024**2 + 16 * 1024
            r.config_resetstat()  # as Redis's resetServerStats
            assert r.info("stats")["evicted_keys"] == 0
            r.config_set("maxmemory-policy", "noeviction")
            with pytest.raises(redis.ResponseError, match="command not allowed when used memory"):
                _fill(r, "more:", 1000)
        finally:
            r.close()


def test_volatile_policies_evict_only_keys_with_a_ttl() -> None:
    with start_activekv("--maxmemory", "1mb", "--maxmemory-policy", "volatile-ttl") as proc:
        r = redis.Redis(port=proc.port)
        try:
            keep = [f"keep:{i}" for i in range(150)]
            _fill(r, "keep:", 150)
            pipe = r.pipeline(transaction=False)
            for i in range(800):
                pipe.set(f"ttl:{i}", b"x" * 2000, ex=10_000 + i)
            pipe.execute()
            assert all(_exist(r, keep))
            assert int(r.info("stats")["evicted_keys"]) > 300
            survivors = [i for i, alive in enumerate(_exist(r, [f"ttl:{i}" for i in range(800)])) if alive]
            assert survivors and sum(survivors) / len(survivors) > 450  # shorter TTLs went first
            for policy in ("volatile-lru", "volatile-lfu", "volatile-random"):
                r.config_set("maxmemory-policy", policy)
                _fill(r, f"{policy}:", 200, ex=10_000)
                assert all(_exist(r, keep)), policy
            r.config_set("maxmemory-policy", "volatile-lru")
            r.flushall()
            _fill(r, "persistent:", 300)  # nothing has a TTL: nothing can go
            with pytest.raises(redis.ResponseError, match="command not allowed when used memory"):
                _fill(r, "persistent2:", 500)
        finally:
            r.close()


def _two_regions(*a_args: str, b_args: tuple[str, ...] = ()) -> tuple[ServerProcess, ServerProcess]:
    pa, pb = free_port(), free_port()
    a = start_activekv("--region", "mm-a", "--peer", f"127.0.0.1:{pb}", *a_args, port=pa)
    b = start_activekv("--region", "mm-b", "--peer", f"127.0.0.1:{pa}", *b_args, port=pb)
    return a, b


def test_replicated_writes_are_applied_over_the_limit() -> None:
    a, b = _two_regions(b_args=("--maxmemory", "1mb"))
    ra, rb = redis.Redis(port=a.port), redis.Redis(port=b.port)
    try:
        _fill(ra, "k:", 1000)  # ~2.5 MB, written where there is no limit
        _wait(lambda: rb.dbsize() == 1000, 15, "replication to the limited region")
        mem = rb.info("memory")
        assert int(mem["used_memory"]) > int(mem["maxmemory"]) == 1024**2  # the overshoot shows
        with pytest.raises(redis.ResponseError, match="command not allowed when used memory"):
            rb.set("local", "v")
        assert rb.delete("k:1") == 1  # deletes are allowed, and replicate
        _wait(lambda: ra.exists("k:1") == 0, 10, "the delete to replicate")
    finally:
        ra.close()
        rb.close()
        a.stop()
        b.stop()


def test_an_evicted_key_disappears_in_the_peer_region_too() -> None:
    a, b = _two_regions("--maxmemory", "1mb", "--maxmemory-policy", "allkeys-random")
    ra, rb = redis.Redis(port=a.port), redis.Redis(port=b.port)
    try:
        _wait(lambda: [peer_field(row, b"state") for row in ra.execute_command("CRDT.PEERS")] == [b"up"],
              15, "the link")
        _fill(ra, "k:", 1000)
        evicted = int(ra.info("stats")["evicted_keys"])
        assert evicted > 300
        _wait(lambda: rb.dbsize() == ra.dbsize() == 1000 - evicted, 15, "evictions to replicate")
        _wait(lambda: ra.execute_command("CRDT.DIGEST") == rb.execute_command("CRDT.DIGEST"), 10,
              "equal digests")
        assert int(rb.info("stats")["evicted_keys"]) == 0  # the peer did not decide: it applied
    finally:
        ra.close()
        rb.close()
        a.stop()
        b.stop()


def test_evictions_fire_the_evicted_keyspace_event() -> None:
    """notify-keyspace-events class ``e``: one ``evicted`` event per evicted key, as Redis's
    performEvictions notifies (keyevent and keyspace channels)."""
    with start_activekv("--maxmemory", "1mb", "--maxmemory-policy", "allkeys-random",
                        "--notify-keyspace-events", "KEe") as proc:
        r = redis.Redis(port=proc.port)
        sub = redis.Redis(port=proc.port).pubsub()
        try:
            sub.psubscribe("__key*__:*")
            assert sub.get_message(timeout=2)["type"] == "psubscribe"
            _fill(r, "k:", 1500)
            evicted = int(r.info("stats")["evicted_keys"])
            assert evicted > 0
            by_event: set[bytes] = set()
            by_key: set[bytes] = set()
            for _ in range(4 * evicted):
                msg = sub.get_message(timeout=2)
                if msg is None:
                    break
                if msg["channel"] == b"__keyevent@0__:evicted":
                    by_event.add(msg["data"])
                elif msg["channel"].startswith(b"__keyspace@0__:"):
                    assert msg["data"] == b"evicted"
                    by_key.add(msg["channel"][len(b"__keyspace@0__:"):])
            gone = {f"k:{i}".encode() for i in range(1500)} - set(r.keys("k:*"))
            assert by_event == by_key == gone and len(gone) == evicted
        finally:
            sub.close()
            r.close()
