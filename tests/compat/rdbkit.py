"""A data set of every type and the checks that a redis-server holds it: shared by the RDB
snapshot, SYNC/PSYNC and replica tests."""

from __future__ import annotations

import os
import random
import subprocess
from collections.abc import Callable
from typing import Any

from tests.respclient import RespConnection

Call = Callable[..., Any]

LIB = "#!lua name=rdblib\nredis.register_function('rdbf', function() return 'from rdb' end)"
RNG_SEED = 7


def writes() -> list[tuple[Any, ...]]:
    """Commands that build small and large values of every type (so every encoding Redis 7.0
    gives them: int/raw/LZF strings, listpack/quicklist lists, intset/hashtable sets,
    listpack/skiplist zsets and hashes, streams with groups, consumers and pending entries, an
    HLL), TTLs, and keys in two databases."""
    rng = random.Random(RNG_SEED)
    big = bytes(rng.getrandbits(8) for _ in range(70_000))  # over LZF_MAX: stored raw
    return [
        ("SET", "int", "12345"), ("SET", "neg", "-7"), ("SET", "raw", "hello"),
        ("SET", "lzf", "abc" * 40), ("SET", "big", big),
        ("SET", "ttl", "v", "PX", "500000"),
        ("RPUSH", "list", "a", "b", "1", "2"),
        ("RPUSH", "biglist", *[f"element-{i}" for i in range(300)]),
        ("SADD", "intset", "1", "2", "3"), ("SADD", "set", "a", "b", "c"),
        ("SADD", "bigset", *[f"m{i}" for i in range(600)]),
        ("ZADD", "zset", "1", "a", "2.5", "b", "-inf", "c"),
        ("ZADD", "bigzset", *[x for i in range(200) for x in (str(i / 3), f"m{i}")]),
        ("HSET", "hash", "f1", "v1", "f2", "2"),
        ("HSET", "bighash", *[x for i in range(200) for x in (f"f{i}", f"v{i}")]),
        ("PEXPIRE", "bighash", "900000"),
        ("PFADD", "hll", *[f"e{i}" for i in range(50)]),
        ("XADD", "stream", "1-1", "f", "v"), ("XADD", "stream", "2-1", "f", "w", "g", "x"),
        ("XADD", "stream", "3-0", "f", "v"), ("XDEL", "stream", "2-1"),
        ("XGROUP", "CREATE", "stream", "grp", "0"),
        ("XREADGROUP", "GROUP", "grp", "alice", "COUNT", "1", "STREAMS", "stream", ">"),
        ("XGROUP", "CREATECONSUMER", "stream", "grp", "bob"),
        ("SELECT", "5"), ("SET", "in5", "five"), ("LPUSH", "list5", "x"), ("SELECT", "0"),
        ("FUNCTION", "LOAD", LIB),
    ]


def plain_call(conn: RespConnection) -> Call:
    def call(*cmd: Any) -> Any:
        return conn.call(*cmd).plain()
    return call


def fetch_rdb(port: int, path: str, functions_only: bool = False, timeout: float = 30) -> str:
    """``redis-cli --rdb`` (or ``--functions-rdb``) of the server on ``port`` into ``path``,
    bounded in time; its output."""
    flag = "--functions-rdb" if functions_only else "--rdb"
    out = subprocess.run(["redis-cli", "-p", str(port), flag, path], capture_output=True, text=True,
                         timeout=timeout, cwd=os.path.dirname(path))
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stderr + out.stdout


def check_rdb(path: str) -> str:
    """redis-check-rdb's verdict (asserted OK); its output."""
    out = subprocess.run(["redis-check-rdb", path], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0 and "RDB looks OK" in out.stdout, out.stdout + out.stderr
    return out.stdout


def redis_args_for(path: str) -> tuple[str, ...]:
    """A redis-server that loads ``path`` at start (DEBUG on for DIGEST-VALUE)."""
    return ("--dir", os.path.dirname(path), "--dbfilename", os.path.basename(path),
            "--enable-debug-command", "yes")


def all_keys(call: Call, db: int) -> list[bytes]:
    call("SELECT", str(db))
    return sorted(call("KEYS", "*"))


def _text(value: Any) -> Any:
    """Status replies as text whichever client read them (hiredis gives bytes)."""
    if isinstance(value, list):
        return [_text(v) for v in value]
    return value.decode() if isinstance(value, bytes) else value


def assert_same_data(expected: Call, loaded: RespConnection, dbs: tuple[int, ...] = (0, 5),
                     ttl_tolerance: int = 0) -> int:
    """``loaded`` (a redis-server) holds what ``expected`` holds: the same keys in ``dbs``, the
    same DUMP of each (GET for a string too large for our LZF; DEBUG DIGEST-VALUE for a set or
    hash saved in Redis's dict order), the same absolute expire times (within ``ttl_tolerance``
    ms when the two were written at different moments), the same function libraries. Returns the number of keys compared."""
    n = 0

    def theirs(*cmd: Any) -> Any:
        return loaded.call(*cmd).plain()

    for db in dbs:
        keys = all_keys(expected, db)
        got = all_keys(theirs, db)
        assert keys == got, f"db {db}: {keys} != {got}"
        for key in keys:
            if key == b"big":
                assert theirs("GET", key) == expected("GET", key)
            elif ttl_tolerance and _text(expected("TYPE", key)) == "stream":
                # written at different moments: delivery and seen times differ, not the rest
                for cmd in (("XRANGE", key, "-", "+"), ("XINFO", "GROUPS", key)):
                    assert theirs(*cmd) == expected(*cmd), (key, cmd)
            elif theirs("DUMP", key) != expected("DUMP", key):
                # a set's or hash's hashtable is saved in Redis's dict order (hash-seeded)
                assert _text(theirs("TYPE", key)) == _text(expected("TYPE", key)) in ("set", "hash"), key
                assert _text(theirs("DEBUG", "DIGEST-VALUE", key)) == \
                    _text(expected("DEBUG", "DIGEST-VALUE", key)), key
            at, want = theirs("PEXPIRETIME", key), expected("PEXPIRETIME", key)
            assert abs(at - want) <= ttl_tolerance and (at < 0) == (want < 0), (key, at, want)
            n += 1
    expected("SELECT", "0")
    theirs("SELECT", "0")
    assert sorted(theirs("FUNCTION", "LIST", "WITHCODE"), key=repr) == \
        sorted(expected("FUNCTION", "LIST", "WITHCODE"), key=repr)
    return n
