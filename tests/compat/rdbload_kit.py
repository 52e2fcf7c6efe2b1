"""Helpers of the RDB import tests: a redis-server filled with every type in several encodings
and saved, ``run_import`` (the ``activekv-load-rdb`` console script as a subprocess) and
``snapshot`` (what a Redis user sees of every key: type, absolute expire time, value)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from typing import Any

import redis

IMPORT_TIMEOUT_S = 60


def run_import(path: str, port: int, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "server.rdbload", path, "--port", str(port), *args],
                          capture_output=True, text=True, timeout=IMPORT_TIMEOUT_S)


EXPIRES_SOON = ["expires-soon", "expires-soon-z"]


def fill(r: redis.Redis) -> list[str]:
    """Every type in its encodings across dbs 0, 2 and 9; returns the names of the keys
    ``save`` sets to expire just before it saves (in the file, expired before the import)."""
    p = r.pipeline(transaction=False)
    p.select(0)
    p.set("str", "hello world")
    p.set("int8", "12")
    p.set("int32", "2000000000")
    p.set("int64", "12345678901234")
    p.set("empty", "")
    p.set("binary", b"a\x00b\r\n\xff")
    p.set("lzf", "the quick brown fox " * 40)
    p.set("big", os.urandom(200_000))
    p.set("ttl-ms", "v", px=3_600_000)
    p.set("ttl-s", "v", ex=86_400)
    p.setbit("bitmap", 1000, 1)
    p.pfadd("hll", *[f"e{i}" for i in range(50)])
    p.rpush("list-small", "a", "1", "-5", "70000", "5000000000", "x" * 100)
    p.rpush("list-big", *[f"element-{i}-" + "v" * (i % 50) for i in range(2000)])
    p.rpush("list-huge-element", "a", "b" * 20_000, "c")
    p.sadd("intset16", 5, -3, 100)
    p.sadd("intset64", 5, -9_000_000_000)
    p.sadd("set-hashtable", "a", "b", "c", "1")
    p.sadd("set-large", *range(0, 7000, 7))
    p.hset("hash-listpack", mapping={"f1": "v1", "n": "123", "neg": "-77"})
    p.hset("hash-hashtable", mapping={f"f{i}": "v" * (i % 80) for i in range(600)})
    p.hset("hash-long-value", mapping={"f": "v" * 100})
    p.zadd("zset-listpack", {"a": 1, "b": 2.5, "c": -3, "d": 1e20, "e": float("inf")})
    p.zadd("zset-skiplist", {f"m{i}": i / 3 for i in range(300)})
    p.zadd("zset-long-member", {"x" * 100: 1.0})
    p.pexpire("zset-skiplist", 7_200_000)
    p.select(2)
    p.set("db2-str", "in db 2")
    p.rpush("db2-list", "x", "y")
    p.select(9)
    p.hset("db9-hash", mapping={"a": "1"})
    p.select(0)
    p.execute()
    for i in range(1, 401):
        r.xadd("stream", {"n": str(i), "f": "x" * (i % 7)}, id=f"{i}-1")
    r.xdel("stream", "7-1", "300-1")
    r.xgroup_create("stream", "g1", id="0")
    r.xreadgroup("g1", "alice", {"stream": ">"}, count=5)
    r.xreadgroup("g1", "bob", {"stream": ">"}, count=3)
    r.xack("stream", "g1", "2-1")
    r.xgroup_create("stream", "g2", id="$")
    r.xgroup_createconsumer("stream", "g2", "carol")
    r.xadd("stream-empty", {"a": "1"}, id="5-5")
    r.xdel("stream-empty", "5-5")
    r.xadd("stream-small", {"k": "v"})
    r.function_load("#!lua name=lib1\nredis.register_function('f1', function() return 'one' end)")
    r.function_load("#!lua name=lib2\nredis.register_function{function_name='f2', "
                    "callback=function(keys, args) return #keys end, flags={'no-writes'}}")
    return EXPIRES_SOON


def save(r: redis.Redis, workdir: str) -> str:
    """SAVE, right after setting the EXPIRES_SOON keys (one round trip: no expire cycle runs
    between them and the SAVE, so they are in the file)."""
    p = r.pipeline(transaction=False)
    p.select(0)
    p.set("expires-soon", "gone", px=300)
    p.zadd("expires-soon-z", {"a": 1})
    p.pexpire("expires-soon-z", 300)
    p.save()
    p.execute()
    return os.path.join(workdir, "dump.rdb")


def _value(r: redis.Redis, key: bytes, kind: bytes) -> Any:
    if kind == b"string":
        return r.get(key)
    if kind == b"list":
        return r.lrange(key, 0, -1)
    if kind == b"set":
        return sorted(r.smembers(key))
    if kind == b"zset":
        return r.zrange(key, 0, -1, withscores=True)
    if kind == b"hash":
        return sorted(r.hgetall(key).items())
    if kind == b"stream":
        full = r.execute_command("XINFO", "STREAM", key, "FULL")
        return r.xrange(key), full
    raise AssertionError(f"unexpected type {kind!r}")


def snapshot(port: int, dbs: range = range(16), freq: bool = False) -> dict[tuple[int, bytes], Any]:
    """(db, key) -> (type, PEXPIRETIME, [OBJECT FREQ,] encoding, value), every key."""
    out: dict[tuple[int, bytes], Any] = {}
    for db in dbs:
        r = redis.Redis(port=port, db=db, socket_timeout=10)
        for key in sorted(r.keys("*")):
            kind = r.type(key)
            counter = r.object("freq", key) if freq else None  # before the reads below touch it
            out[(db, key)] = (kind, r.pexpiretime(key), counter, r.object("encoding", key),
                              _value(r, key, kind))
        r.close()
    return out


def dumps(port: int, keys: list[tuple[int, bytes]]) -> dict[tuple[int, bytes], bytes]:
    out = {}
    for db, key in keys:
        with redis.Redis(port=port, db=db, socket_timeout=10) as r:
            out[(db, key)] = r.dump(key)
    return out


def wait_expired(r: redis.Redis, names: list[str], timeout: float = 5.0) -> None:
    """Until the keys' expire times (in the file) are past (the keys may still be in memory)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(r.pttl(k) < 0 for k in names):
            return
        time.sleep(0.05)
    raise AssertionError(f"{names} did not expire")
