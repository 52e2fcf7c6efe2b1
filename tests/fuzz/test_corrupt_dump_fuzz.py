"""Corrupt RESTORE payloads, as Redis's tests/integration/corrupt-dump-fuzzer.tcl, bounded.

Keys of every type and encoding are built on activekv and on a redis-server 7.0.15 with the
same commands (the fuzzer's small-listpack configs, so small and multi-node encodings both
occur; legacy payloads of corrupt-dump.tcl too); their DUMPs from both servers are corrupted
(one random byte, two one time in ten, sometimes a cut or an inserted byte) and the CRC64 is
recomputed so the payload passes the checksum. Each is RESTOREd on activekv (with
``sanitize-dump-payload`` no or yes: activekv validates deeply either way):

* the reply is OK or a Redis error, never an "unexpected error", and the server keeps serving;
* it is the reply of redis-server with ``sanitize-dump-payload yes`` (its deep validation),
  and a restored value reads back as on redis-server (TYPE, lengths, elements, a stream's
  entries and groups); but activekv rejects streams that redis-server accepts and cannot serve
  consistently (a stored length or last ID that disagrees with the entries, entry IDs out of
  order: see README "DUMP / RESTORE"), so for a stream only its acceptance is redis's; and a
  table declaring more elements than the payload has bytes is not sent to redis-server (it
  pre-sizes a hash table for the count and stalls), activekv must reject it;
* a restored key then answers its type's commands (reads, writes, DUMP) without an unexpected
  error, and its own DUMP restores again.

Bounded: ``fuzzkit.count`` cases within ``fuzzkit.budget`` seconds; ``FUZZ_SEED=<n>`` in every
failure replays it.
"""

from __future__ import annotations

import random
import struct
import time
from collections.abc import Iterator

import pytest

from server.harness.processes import ServerProcess, start_activekv, start_redis
from server.rdb.crc64 import crc64
from server.rdb.listpack import FormatError
from server.rdb.rdbio import Reader, save_len
from tests import rdbbuild as rb
from tests.compat.corrupt_dump_rows import ROWS, tcl
from tests.fuzz import fuzzkit
from tests.fuzz.fuzzkit import StrictConn
from tests.fuzz.strictresp import Value

CONFIGS = (("list-max-listpack-size", "5"), ("hash-max-listpack-entries", "5"),
           ("zset-max-listpack-entries", "5"), ("stream-node-max-entries", "5"))

# the commands run on a restored key "_k", per TYPE; {m} is a member/field the value holds
READS: dict[bytes, list[tuple[str, ...]]] = {
    b"string": [("GET", "_k"), ("STRLEN", "_k"), ("GETRANGE", "_k", "0", "5")],
    b"list": [("LLEN", "_k"), ("LRANGE", "_k", "0", "-1"), ("LINDEX", "_k", "-1"), ("LPOS", "_k", "{m}")],
    b"set": [("SCARD", "_k"), ("SMEMBERS", "_k"), ("SISMEMBER", "_k", "{m}"), ("SINTERCARD", "1", "_k")],
    b"hash": [("HLEN", "_k"), ("HGETALL", "_k"), ("HGET", "_k", "{m}"), ("HSTRLEN", "_k", "{m}")],
    # (a listpack whose scores are out of order is accepted by Redis and served in that order;
    # activekv holds it sorted: the same members and scores, compared as pairs)
    b"zset": [("ZCARD", "_k"), ("ZRANGE", "_k", "0", "-1", "WITHSCORES"), ("ZSCORE", "_k", "{m}")],
    b"stream": [("XLEN", "_k"), ("XRANGE", "_k", "-", "+"), ("XREVRANGE", "_k", "+", "-", "COUNT", "3"),
                ("XINFO", "STREAM", "_k"), ("XINFO", "STREAM", "_k", "FULL"), ("XINFO", "GROUPS", "_k"),
                ("XREAD", "STREAMS", "_k", "0")],
}
UNORDERED = {"SMEMBERS", "HGETALL", "ZRANGE"}
# (XINFO STREAM differs where the payload's own fields are corrupt: activekv derives the first
# entry ID and the node counts from the entries)
STREAM_COMPARED = {("XLEN", "_k"), ("XRANGE", "_k", "-", "+"), ("XREVRANGE", "_k", "+", "-", "COUNT", "3"),
                   ("XINFO", "GROUPS", "_k"), ("XREAD", "STREAMS", "_k", "0")}
WRITES: dict[bytes, list[tuple[str, ...]]] = {
    b"string": [("APPEND", "_k", "x"), ("SETRANGE", "_k", "3", "yy"), ("PFCOUNT", "_k"), ("INCR", "_k")],
    b"list": [("LPUSH", "_k", "a"), ("RPOP", "_k"), ("LSET", "_k", "0", "z"), ("LINSERT", "_k", "BEFORE", "{m}", "n"),
              ("LREM", "_k", "1", "{m}"), ("LTRIM", "_k", "1", "-1"), ("LMOVE", "_k", "_k", "LEFT", "RIGHT")],
    b"set": [("SADD", "_k", "new", "7"), ("SREM", "_k", "{m}"), ("SPOP", "_k"), ("SRANDMEMBER", "_k", "-3"),
             ("SDIFF", "_k", "nosuch"), ("SSCAN", "_k", "0")],
    b"hash": [("HSET", "_k", "new", "v"), ("HDEL", "_k", "{m}"), ("HINCRBY", "_k", "{m}", "1"),
              ("HRANDFIELD", "_k", "-3", "WITHVALUES"), ("HSCAN", "_k", "0"), ("HSETNX", "_k", "{m}", "v")],
    b"zset": [("ZRANK", "_k", "{m}"), ("ZRANGEBYSCORE", "_k", "-inf", "+inf"), ("ZREVRANGE", "_k", "0", "2"),
             ("ZADD", "_k", "1.5", "new"), ("ZINCRBY", "_k", "1", "{m}"), ("ZPOPMIN", "_k"), ("ZREM", "_k", "{m}"),
              ("ZRANDMEMBER", "_k", "-3", "WITHSCORES"), ("ZSCAN", "_k", "0"), ("ZUNIONSTORE", "_u", "1", "_k")],
    b"stream": [("XADD", "_k", "*", "f", "v"), ("XTRIM", "_k", "MAXLEN", "3"), ("XDEL", "_k", "0-1"),
                ("XGROUP", "CREATE", "_k", "g2", "0"), ("XREADGROUP", "GROUP", "g2", "c", "COUNT", "2", "STREAMS", "_k", ">"),
                ("XPENDING", "_k", "g2"), ("XAUTOCLAIM", "_k", "g2", "c2", "0", "0"), ("XSETID", "_k", "$")],
}


def _build(conn: StrictConn, rng: random.Random) -> None:
    """generate_types of corrupt-dump-fuzzer.tcl, plus the encodings it leaves out."""
    for name, value in CONFIGS:
        assert conn.call("CONFIG", "SET", name, value).value == b"OK"
    for suffix, n in (("", 3), ("big", 10)):
        for j in range(n):
            val = str(j) if j % 2 == 0 else f"_{j}"
            conn.call("HSET", "hash" + suffix, str(j), val)
            conn.call("LPUSH", "list" + suffix, val)
            conn.call("ZADD", "zset" + suffix, str(j), val)
            conn.call("SADD", "set" + suffix, val)
            conn.call("XADD", "stream" + suffix, f"{j + 1}-{j}", "item", "1", "value", val)
    conn.call("XGROUP", "CREATE", "stream", "mygroup", "0")
    conn.call("XREADGROUP", "GROUP", "mygroup", "Alice", "COUNT", "2", "STREAMS", "stream", ">")
    conn.call("XDEL", "stream", "1-0")
    conn.call("XACK", "stream", "mygroup", "2-1")
    conn.call("XADD", "streambig", "20-0", "item", "1", "value", "1")
    conn.call("XADD", "streambig", "21-0", "item", "1", "unique", "value")
    conn.call("INCR", "int")
    conn.call("SET", "string", "str")
    conn.call("SET", "lzf", "abcdefgh" * 20)
    conn.call("SET", "int64", "-1234567890123")
    conn.call("SADD", "intset", "1", "-2", "70000", "-5000000000")
    conn.call("HSET", "hashtable", "f", "v" * 80, "g", "1")
    conn.call("ZADD", "skiplist", "1.5", "m" * 80, "-inf", "low", "3", "x")
    conn.call("RPUSH", "biglist", *(f"e{i}" * (i % 7 + 1) for i in range(40)))
    conn.call("PFADD", "hll", *(f"h{rng.randrange(1000)}" for _ in range(20)))


def _legacy_payloads() -> list[bytes]:
    """Valid payloads in the encodings of Redis before 7.0 (``tests/rdbbuild``): ziplists,
    a zipmap, a v1 quicklist, linked lists, text scores, RDB version 9."""
    items = [b"a", b"7", b"-300", b"_x", b"12"]
    pairs = [b"f1", b"v1", b"f2", b"2", b"f3", b"_3"]
    zpairs = [b"m1", b"1", b"m2", b"2.5", b"m3", b"10"]
    bodies = [
        bytes([rb.LIST_ZIPLIST]) + rb.s(rb.ziplist(items)),
        bytes([rb.LIST_QUICKLIST]) + save_len(2) + rb.s(rb.ziplist(items[:2])) + rb.s(rb.ziplist(items[2:])),
        bytes([rb.HASH_ZIPLIST]) + rb.s(rb.ziplist(pairs)),
        bytes([rb.ZSET_ZIPLIST]) + rb.s(rb.ziplist(zpairs)),
        bytes([rb.HASH_ZIPMAP]) + rb.s(rb.zipmap(list(zip(pairs[::2], pairs[1::2], strict=True)))),
        bytes([rb.LIST]) + rb.value_list(items),
        bytes([rb.SET]) + rb.value_list(items),
        bytes([rb.SET_INTSET]) + rb.value_intset([1, -5, 70000]),
        bytes([rb.HASH]) + save_len(3) + b"".join(rb.s(x) for x in pairs),
        bytes([rb.ZSET]) + save_len(3) + b"".join(rb.s(m) + rb.string_double(x) for m, x in
                                                   ((b"a", 1.5), (b"b", -2.0), (b"c", 1e10))),
    ]
    return [b + b"\x09\x00" + struct.pack("<Q", crc64(b + b"\x09\x00")) for b in bodies]


VERSION_ERROR = Value("-", b"ERR DUMP payload version or checksum are wrong")


def _presized(payload: bytes) -> bool:
    """A set, hash or sorted set table declaring more elements than the payload has bytes:
    redis-server pre-sizes its hash table for that count first (dictTryExpand: 2^32 buckets
    take it minutes here), so it is no oracle for these; activekv must reply Bad data format."""
    if payload[0] not in (2, 3, 4, 5):
        return False
    try:
        return Reader(payload, 1).length() > len(payload)
    except FormatError:
        return False


def _corrupt(rng: random.Random, payload: bytes) -> bytes:
    body = bytearray(payload[:-8])
    r = rng.random()
    if r < 0.08:
        body = body[: rng.randrange(1, len(body))]
    elif r < 0.16:
        body.insert(rng.randrange(1, len(body) + 1), rng.randrange(256))
    else:
        for _ in range(2 if rng.random() > 0.9 else 1):
            body[rng.randrange(len(body))] = rng.randrange(256)
    return bytes(body) + struct.pack("<Q", crc64(bytes(body)))


def _fill(cmd: tuple[str, ...], member: bytes) -> list[bytes]:
    return [member if a == "{m}" else a.encode() for a in cmd]


def _unexpected(reply: Value) -> bool:
    return reply.type == "-" and (b"unexpected" in reply.value.lower() or b"traceback" in reply.value.lower())


def _canon(cmd: tuple[str, ...], reply: Value) -> Value:
    if cmd[0] in UNORDERED and reply.type == "*":
        if cmd[0] in ("HGETALL", "ZRANGE"):
            pairs = sorted(zip(reply.value[::2], reply.value[1::2], strict=True))
            return Value("*", [x for p in pairs for x in p])
        return Value("*", sorted(reply.value))
    return reply


def _a_member(conn: StrictConn, kind: bytes) -> bytes:
    reply = conn.call(*{b"list": ("LINDEX", "_k", "0"), b"set": ("SRANDMEMBER", "_k"),
                        b"hash": ("HRANDFIELD", "_k"), b"zset": ("ZRANGE", "_k", "0", "0")}.get(kind, ("PING",)))
    value = reply.value[0].value if reply.type == "*" and reply.value else reply.value
    return value if isinstance(value, bytes) else b"x"


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[ServerProcess, ServerProcess]]:
    with start_redis() as ref, start_activekv() as ours:
        yield ref, ours


def test_corrupt_restore_payloads(servers: tuple[ServerProcess, ServerProcess]) -> None:
    seed = fuzzkit.seed()
    rng = random.Random(seed)
    ref_proc, ours_proc = servers
    # (a long timeout: four engineers share two cores; a hang still fails, within 30 s)
    ref, ours = StrictConn(ref_proc.port, timeout=30.0), StrictConn(ours_proc.port, timeout=30.0)
    for conn in (ref, ours):
        _build(conn, random.Random(seed))
    assert ref.call("CONFIG", "SET", "sanitize-dump-payload", "yes").value == b"OK"
    keys = sorted(k.value for k in ours.call("KEYS", "*").value)
    payloads = [conn.call("DUMP", k).value for conn in (ref, ours) for k in keys]
    payloads += _legacy_payloads() + [tcl(row.payload) for row in ROWS]
    for payload in _legacy_payloads():  # (each restores, on both servers)
        assert ours.call("RESTORE", "_k", "0", payload, "REPLACE") == ref.call("RESTORE", "_k", "0", payload, "REPLACE") \
            == Value("+", b"OK"), payload.hex()
    deadline = fuzzkit.budget(8.0)
    cases = restored = 0
    for _ in range(fuzzkit.count(600)):
        if time.monotonic() > deadline:
            break
        cases += 1
        for conn in (ours, ref):
            conn.call("DEL", "_k", "_again", "_u")
        payload = _corrupt(rng, rng.choice(payloads))
        sanitize = rng.choice(["no", "yes"])
        ctx = f"FUZZ_SEED={seed} case {cases} sanitize {sanitize} payload {payload.hex()}"
        assert ours.call("CONFIG", "SET", "sanitize-dump-payload", sanitize).value == b"OK", ctx
        got = ours.call("RESTORE", "_k", "0", payload, "REPLACE")
        assert got == Value("+", b"OK") or (got.type == "-" and not _unexpected(got)), f"{ctx}: {got!r}"
        kind = ours.call("TYPE", "_k").value
        stream = payload[0] in (15, 19)
        if _presized(payload) and got != VERSION_ERROR:  # (the footer is checked first)
            assert got == Value("-", b"ERR Bad data format"), f"{ctx}: {got!r}"
            continue
        want = ref.call("RESTORE", "_k", "0", payload, "REPLACE")
        if not stream or got.type == "+":  # (a stream activekv accepts, redis-server accepts)
            assert got == want, f"{ctx}: RESTORE redis {want!r}, activekv {got!r}"
            assert ref.call("TYPE", "_k").value == kind, ctx
        if got.type == "-":
            continue
        restored += 1
        member = _a_member(ours, kind)
        for cmd in READS.get(kind, []):
            mine = ours.call(*_fill(cmd, member))
            assert not _unexpected(mine), f"{ctx}: {cmd!r} {mine!r}"
            if not stream or cmd in STREAM_COMPARED:
                theirs = ref.call(*_fill(cmd, member))
                assert _canon(cmd, mine) == _canon(cmd, theirs), f"{ctx}: {cmd!r} redis {theirs!r}, activekv {mine!r}"
        dump = ours.call("DUMP", "_k")
        assert dump.type == "$" and dump.value, f"{ctx}: DUMP {dump!r}"
        again = ours.call("RESTORE", "_again", "0", dump.value, "REPLACE")
        assert again == Value("+", b"OK"), f"{ctx}: our own DUMP {dump.value.hex()} RESTOREs as {again!r}"
        for cmd in rng.sample(WRITES.get(kind, []), min(5, len(WRITES.get(kind, [])))):
            reply = ours.call(*_fill(cmd, member))
            assert not _unexpected(reply), f"{ctx}: {cmd!r} {reply!r}"
    assert ours.call("PING") == Value("+", b"PONG")
    print(f"FUZZ_SEED={seed}: {cases} payloads, {restored} restored")
    assert cases >= min(100, fuzzkit.count(600)) and restored, f"FUZZ_SEED={seed}: {cases} cases, {restored} restored"
    ref.close()
    ours.close()
    fuzzkit.assert_healthy(ours_proc, f"FUZZ_SEED={seed}")
