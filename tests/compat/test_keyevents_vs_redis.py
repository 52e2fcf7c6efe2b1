"""Keyspace notifications against redis-server 7.0.15, RESP2 and RESP3: ``notify-keyspace-events``
(CONFIG SET/GET, its parsing and printing quirks) and, for write commands of every type, the
exact messages (``__keyspace@0__:<key>`` / ``__keyevent@0__:<event>``) in order. After each
command a marker message is published, so "everything the command fired" is what arrives
before the marker."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from server.harness.processes import ServerProcess
from tests.compat.helpers import connect as _conn
from tests.compat.helpers import until_marker
from tests.conftest import Differential
from tests.respclient import RespConnection, encode_command

CONFIG_VALUES = ("KEA", "Ex", "A", "g$lshzxetmdn", "AKE", "", "KEn", "KEm", "KEAmnd", "Kd", "ng",
                 "d$", "ndtexzhsl$g", "ndtexzhsl$", "Q", "KE ", "a")


@pytest.fixture
def listener(diff: Differential, redis_ref: ServerProcess, activekv: ServerProcess) -> Iterator[list[RespConnection]]:
    """[redis, activekv] connections subscribed to every key event and to the marker."""
    conns = [_conn(redis_ref.port, diff.protocol), _conn(activekv.port, diff.protocol)]
    for conn in conns:
        assert conn.call("PSUBSCRIBE", "__key*__:*").type in "*>"
        assert conn.call("SUBSCRIBE", "marker").type in "*>"
    diff.check("CONFIG", "SET", "notify-keyspace-events", "KEA")
    yield conns
    diff.check("CONFIG", "SET", "notify-keyspace-events", "")
    for conn in conns:
        conn.close()


def _check_events(diff: Differential, listener: list[RespConnection], *cmd: Any) -> None:
    diff.check(*cmd)
    diff.check("PUBLISH", "marker", "end")
    ref, ours = (until_marker(conn) for conn in listener)
    assert ours == ref, f"RESP{diff.protocol} {cmd!r}:\n  redis:    {ref!r}\n  activekv: {ours!r}"


def test_config_values(diff: Differential) -> None:
    try:
        for value in CONFIG_VALUES:
            diff.check("CONFIG", "SET", "notify-keyspace-events", value)
            diff.check("CONFIG", "GET", "notify-keyspace-events")
    finally:
        diff.check("CONFIG", "SET", "notify-keyspace-events", "")


COMMANDS: tuple[tuple[Any, ...], ...] = (
    ("SET", "s", "1"), ("SET", "s", "2", "EX", "100"), ("SET", "s", "3", "NX"), ("SETNX", "s2", "x"),
    ("SETEX", "s3", "10", "v"), ("PSETEX", "s4", "10000", "v"), ("GETSET", "s", "4"),
    ("MSET", "m1", "a", "m2", "b"), ("MSETNX", "m3", "a", "m4", "b"), ("APPEND", "s", "xy"),
    ("SETRANGE", "s", "1", "zz"), ("INCR", "n"), ("DECRBY", "n", "5"), ("INCRBYFLOAT", "n", "1.5"),
    ("SETBIT", "b", "7", "1"), ("GETDEL", "m1"), ("GETEX", "m2", "EX", "100"), ("GETEX", "m2", "PERSIST"),
    ("EXPIRE", "s", "100"), ("PEXPIRE", "s", "100000"), ("PERSIST", "s"), ("EXPIRE", "s", "-1"),
    ("EXPIRE", "nosuch", "10"), ("DEL", "m2", "m3", "nosuch"), ("UNLINK", "m4"),
    ("RENAME", "s2", "s5"), ("RENAMENX", "s5", "s6"), ("COPY", "s6", "s7"),
    ("RPUSH", "l", "a", "b", "c", "d"), ("LPUSH", "l", "z"), ("LPUSHX", "l", "y"), ("RPUSHX", "nol", "y"),
    ("LINSERT", "l", "BEFORE", "b", "q"), ("LSET", "l", "0", "Y"), ("LPOP", "l"), ("RPOP", "l", "2"),
    ("LTRIM", "l", "0", "1"), ("LREM", "l", "0", "q"), ("LMOVE", "l", "l2", "LEFT", "RIGHT"),
    ("RPOPLPUSH", "l2", "l2"), ("LMPOP", "1", "l", "RIGHT"), ("BLPOP", "l2", "1"),
    ("RPUSH", "l3", "x", "y"), ("LMOVE", "l3", "l3", "RIGHT", "LEFT"), ("LMPOP", "2", "no", "l3", "LEFT", "COUNT", "9"),
    ("SADD", "st", "a", "b", "c"), ("SADD", "st", "b", "c"), ("SREM", "st", "a"), ("SADD", "sp", "only"), ("SPOP", "sp"),
    ("SADD", "st2", "x"), ("SINTERSTORE", "st3", "st", "st"), ("SUNIONSTORE", "st4", "st", "st2"),
    ("SDIFFSTORE", "st4", "nosuch"),
    ("HSET", "h", "f", "1", "g", "2"), ("HSETNX", "h", "k", "3"), ("HMSET", "h", "x", "1"),
    ("HINCRBY", "h", "f", "2"), ("HINCRBYFLOAT", "h", "g", "0.5"), ("HDEL", "h", "f", "nosuch"),
    ("HDEL", "h", "g", "k", "x"),
    ("ZADD", "z", "1", "a", "2", "b", "3", "c"), ("ZADD", "z", "INCR", "5", "a"), ("ZINCRBY", "z", "1", "b"),
    ("ZADD", "z", "6", "a", "3", "b"), ("ZADD", "z", "CH", "6", "a"), ("ZADD", "z", "INCR", "0", "a"),
    ("ZREM", "z", "c"), ("ZADD", "z", "NX", "9", "d"), ("ZPOPMIN", "z"), ("ZPOPMAX", "z"),
    ("ZADD", "z2", "1", "a", "2", "b", "3", "c", "4", "d"), ("ZREMRANGEBYSCORE", "z2", "0", "1"),
    ("ZREMRANGEBYRANK", "z2", "0", "0"), ("ZREMRANGEBYLEX", "z2", "-", "+"),
    ("ZADD", "z3", "1", "a"), ("ZUNIONSTORE", "z4", "2", "z", "z3"), ("ZINTERSTORE", "z5", "1", "z3"),
    ("ZDIFFSTORE", "z6", "1", "z3"), ("ZRANGESTORE", "z7", "z3", "0", "-1"), ("ZMPOP", "1", "z3", "MAX"),
    ("BZPOPMIN", "z", "1"), ("GEOADD", "g", "13.36", "38.11", "Palermo"),
    ("GEOSEARCHSTORE", "g2", "g", "FROMLONLAT", "13.36", "38.11", "BYRADIUS", "10", "km"),
    ("SORT", "l9", "STORE", "l10"), ("RPUSH", "l9", "3", "1", "2"), ("SORT", "l9", "STORE", "l10"),
    ("SORT", "nosuch", "STORE", "l10"),
    ("FLUSHDB",), ("SET", "after", "flush"),
)


@pytest.mark.parametrize("flags", ["KEA", "KEAn"])
def test_events_of_every_type(diff: Differential, listener: list[RespConnection], flags: str) -> None:
    diff.check("CONFIG", "SET", "notify-keyspace-events", flags)  # "n": new keys, before their event
    for cmd in COMMANDS:
        _check_events(diff, listener, *cmd)


def test_events_inside_multi(diff: Differential, listener: list[RespConnection]) -> None:
    for cmd in (("MULTI",), ("SET", "a", "1"), ("INCR", "a"), ("SADD", "s", "x"), ("DEL", "a", "s")):
        diff.check(*cmd)
    _check_events(diff, listener, "EXEC")


def test_classes_filter(diff: Differential, listener: list[RespConnection]) -> None:
    for flags in ("Kl", "E$", "Eg", "Kx", "KEh"):
        diff.check("CONFIG", "SET", "notify-keyspace-events", flags)
        for cmd in (("SET", "k", "v"), ("RPUSH", "l", "x"), ("HSET", "h", "f", "v"), ("DEL", "k", "l", "h")):
            _check_events(diff, listener, *cmd)


def test_expired(diff: Differential, listener: list[RespConnection]) -> None:
    _check_events(diff, listener, "SET", "e", "v", "PX", "30")
    # Nothing reads the key: each server's active expire cycle removes it and fires "expired"
    # (keyspace then keyevent message), within the connections' 5 s timeout.
    ref, ours = ([conn.read_reply() for _ in range(2)] for conn in listener)
    assert ours == ref, (ref, ours)
    assert ref[1].value[2].value == b"__keyevent@0__:expired"


def test_keymiss(diff: Differential, listener: list[RespConnection]) -> None:
    diff.check("CONFIG", "SET", "notify-keyspace-events", "KEm")
    for cmd in READS:
        _check_events(diff, listener, *cmd)


READS: tuple[tuple[Any, ...], ...] = (
    ("GET", "nosuch"), ("MGET", "a", "b"), ("EXISTS", "x", "y"), ("TYPE", "x"), ("HGET", "h", "f"),
    ("LRANGE", "l", "0", "-1"), ("SMEMBERS", "s"), ("ZSCORE", "z", "m"), ("STRLEN", "s"),
    ("SET", "k", "v"), ("GET", "k"), ("INCR", "n"), ("APPEND", "a", "x"), ("DEL", "gone"),
    ("TTL", "gone"), ("PTTL", "gone"), ("EXPIRETIME", "gone"), ("OBJECT", "ENCODING", "gone"),
    ("GETRANGE", "g", "0", "1"), ("GETBIT", "g", "1"), ("BITCOUNT", "g"), ("BITPOS", "g", "1"),
    ("HGETALL", "h"), ("HMGET", "h", "a"), ("HLEN", "h"), ("HEXISTS", "h", "f"), ("HKEYS", "h"),
    ("HVALS", "h"), ("HSTRLEN", "h", "f"), ("HRANDFIELD", "h"), ("HSCAN", "h", "0"),
    ("LLEN", "l"), ("LINDEX", "l", "0"), ("LPOS", "l", "x"), ("SCARD", "s"), ("SISMEMBER", "s", "m"),
    ("SMISMEMBER", "s", "m"), ("SRANDMEMBER", "s"), ("SSCAN", "s", "0"), ("SINTER", "s", "t"),
    ("SUNION", "s", "t"), ("SDIFF", "s", "t"), ("SINTERCARD", "2", "s", "t"), ("ZCARD", "z"),
    ("ZRANGE", "z", "0", "-1"), ("ZRANK", "z", "m"), ("ZCOUNT", "z", "0", "1"), ("ZMSCORE", "z", "m"),
    ("ZRANDMEMBER", "z"), ("ZSCAN", "z", "0"), ("ZUNION", "2", "z", "y"), ("ZINTERCARD", "1", "z"),
    ("GEOPOS", "geo", "m"), ("GEODIST", "geo", "a", "b"), ("GEOHASH", "geo", "m"),
    ("SORT", "l"), ("SORT_RO", "l"), ("COPY", "gone", "dst"), ("RENAME", "k", "k2"),
    ("LPOP", "gone"), ("SPOP", "gone"), ("HINCRBY", "h2", "f", "1"), ("SUNIONSTORE", "d", "gone"),
    ("ZUNIONSTORE", "d", "1", "gone"), ("BLPOP", "gone", "0.01"), ("GETDEL", "gone"), ("GETEX", "gone"),
    ("WATCH", "w"), ("UNWATCH",), ("TOUCH", "t"),
)


def test_events_of_a_served_blocked_pop(diff: Differential, listener: list[RespConnection],
                                        redis_ref: ServerProcess, activekv: ServerProcess) -> None:
    """BLPOP blocked, then served by another client's RPUSH: rpush, then lpop and del (the
    served pop's events), as Redis."""
    blockers = [_conn(redis_ref.port, diff.protocol), _conn(activekv.port, diff.protocol)]
    try:
        for conn in blockers:
            conn.send_raw(encode_command(("BLPOP", "bl", "5")))
        time.sleep(0.1)
        _check_events(diff, listener, "RPUSH", "bl", "x")
        for conn in blockers:
            assert conn.read_reply().plain() == [b"bl", b"x"]
    finally:
        for conn in blockers:
            conn.close()
